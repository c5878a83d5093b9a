import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MDCAP_BIN, mdcap, recordEvents, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Progress and `--quiet` (docs/cli.md#progress-and---quiet): on a pipe nothing but the output
 * (with or without --quiet); on a terminal a progress line on stderr, which --quiet turns off.
 */
const dir = tempDir('progress');
const cap = join(dir, 'cap');

beforeAll(async () => {
  // No faults: the capture verifies clean (exit 0).
  await recordEvents(cap, await simulatedEvents(5, { faults: {} }), { feed: 'demo' });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--quiet on a pipe', () => {
  it('mdcap --quiet verify CAP: exit 0, the report on stdout, nothing on stderr', () => {
    const r = mdcap(['--quiet', 'verify', cap]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\nOK\n$/);
  });

  it('mdcap replay CAP -q (after the command) prints the same bars as without it, and no stderr', () => {
    const quiet = mdcap(['replay', cap, '--bars', '1', '-q']);
    const plain = mdcap(['replay', cap, '--bars', '1']);
    expect(quiet.stderr).toBe('');
    expect(quiet.status).toBe(0);
    expect(plain.status).toBe(0);
    expect(quiet.stdout).toBe(plain.stdout);
    expect(quiet.stdout.split('\n').length).toBeGreaterThan(3);
  });

  it('--help lists --quiet (-q) as a global option', () => {
    const r = mdcap(['verify', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/-q, --quiet/);
  });
});

/** `script` (util-linux) runs a command on a pseudo-terminal: stdout and stderr are a TTY. */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** What `mdcap ARGS` writes to a terminal's stderr (stdout goes to /dev/null), and its exit code. */
function onTerminal(args: readonly string[]): { status: number | null; stderr: string } {
  const command = [process.execPath, MDCAP_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-q', '-e', '-c', `${command} >/dev/null`, '/dev/null'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { status: r.status, stderr: r.stdout };
}

describe.skipIf(!hasScript)('on a terminal', () => {
  it('verify and replay draw a progress line (cleared at the end); --quiet draws none', () => {
    const verify = onTerminal(['verify', cap]);
    expect(verify.status).toBe(0);
    expect(verify.stderr).toContain(`\r\x1b[Kverifying ${cap}`);
    expect(verify.stderr.endsWith('\r\x1b[K')).toBe(true);

    const replay = onTerminal(['replay', cap, '--bars', '1']);
    expect(replay.status).toBe(0);
    // A bar with its percentage: the replay knows where it is in the capture's time.
    const lines = replay.stderr.split('\r\x1b[K');
    expect(
      lines.some((l) => /^\[[#-]+\] +\d+% replaying /.test(l)),
      JSON.stringify(replay.stderr),
    ).toBe(true);

    for (const args of [
      ['--quiet', 'verify', cap],
      ['replay', cap, '--bars', '1', '-q'],
    ]) {
      const r = onTerminal(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stderr, args.join(' ')).toBe('');
    }
  });
});
