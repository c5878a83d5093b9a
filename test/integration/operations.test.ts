import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { MDCAP_BIN, mdcap, REPO_ROOT, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Running mdcap as an operator does (issue 10, items 7, 10 and 11): signals and dead parents,
 * ports that are taken, URLs that are not URLs, a venue that refuses, a ring that drops, and
 * flag values that start with a minus.
 */

const dir = tempDir('operations');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const until = (what: string, ok: () => boolean, deadlineMs = 120_000): Promise<unknown> => waitFor(ok, { what, deadlineMs, everyMs: 50 });

const running = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** The recorder has confirmed a flush beyond its start (`.flushed`: `<session> <next recv_seq>`). */
const recording = (cap: string): boolean => {
  try {
    return Number(readFileSync(join(cap, '.flushed'), 'utf8').trim().split(' ')[1]) > 100;
  } catch {
    return false;
  }
};

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

interface Verified {
  ok: boolean;
  interruptedSessions: number;
  rows: number;
}
const verified = (cap: string): Verified => JSON.parse(mdcap(['verify', cap, '--json']).stdout) as Verified;

describe('signals and parents', () => {
  it('a recorder whose parent is killed (pnpm, a script) finalizes cleanly and exits instead of recording forever', async () => {
    const cap = join(dir, 'orphan');
    // The wrapper prints the recorder's pid, then waits for it, as `pnpm mdcap record` does.
    const wrapper = spawn(
      'sh',
      ['-c', `"${process.execPath}" "${MDCAP_BIN}" record --feed demo --out "${cap}" --flush 100ms & echo $!; wait`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    wrapper.stdout.on('data', (d: Buffer) => (out += d.toString()));
    wrapper.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await until('the recorder pid', () => out.includes('\n'));
    const recorder = Number(out.trim());
    await until('the recording to be under way', () => recording(cap));
    wrapper.kill('SIGKILL');
    await until('the orphaned recorder to exit', () => !running(recorder));
    expect(err).toMatch(/the parent process \d+ is gone: stopping and finalizing, as for SIGTERM/);
    const m = JSON.parse(readFileSync(join(cap, 'manifest.json'), 'utf8')) as { sessions: { clean: boolean; end: string | null }[] };
    expect(m.sessions).toEqual([expect.objectContaining({ clean: true })]);
    expect(existsSync(join(cap, '.lock'))).toBe(false);
    expect(verified(cap)).toMatchObject({ ok: true, interruptedSessions: 0 });
  });

  it('./mdcap is the recorder itself: SIGTERM reaches it and it finalizes', async () => {
    const cap = join(dir, 'direct');
    const child = spawn(join(REPO_ROOT, 'mdcap'), ['record', '--feed', 'demo', '--out', cap, '--flush', '100ms', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until('the recording to be under way', () => recording(cap));
    expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).toContain('main.js'); // node itself, not a shell around it
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ feed: 'demo', ringDrops: 0 });
    expect(verified(cap)).toMatchObject({ ok: true, interruptedSessions: 0 });
  });
});

describe('the environment', () => {
  let taken: Server;
  let port = 0;
  afterAll(() => taken?.close());

  it('a port in use, or an address that is not this machine: MDCAP_ERR_ADDRESS, not "internal error"', async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
    const inUse = mdcap(['emulate', '--venue', 'alpaca', '--port', String(port)]);
    expect(inUse.status).toBe(2);
    expect(inUse.stderr).toBe(
      `mdcap emulate: MDCAP_ERR_ADDRESS: --port ${port}: expected a free port on 127.0.0.1, found it in use by another process (choose another with --port, or 0 for any free one)\n`,
    );
    const foreign = mdcap(['emulate', '--venue', 'alpaca', '--host', '10.255.255.1', '--port', '0']);
    expect(foreign.status).toBe(2);
    expect(foreign.stderr).toMatch(/^mdcap emulate: MDCAP_ERR_ADDRESS: --host 10\.255\.255\.1: expected an address of this machine .*\n$/);
  });

  it('--url that is not a URL is refused before anything is created', () => {
    const cap = join(dir, 'badurl');
    const r = mdcap(['record', '--feed', 'kraken', '--symbols', 'XBT/USD', '--url', 'not a url', '--out', cap]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'mdcap record: MDCAP_ERR_INVALID_OPTION: --url: expected a ws:// or wss:// URL such as ws://127.0.0.1:9000, found "not a url"\n',
    );
    expect(existsSync(cap)).toBe(false);
  });

  it('a venue that refuses the connection leaves no empty session behind (a new capture is not created at all)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const free = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const cap = join(dir, 'refused');
    const r = mdcap(['record', '--feed', 'kraken', '--symbols', 'XBT/USD', '--url', `ws://127.0.0.1:${free}`, '--out', cap]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^mdcap record: MDCAP_ERR_CONNECT_FAILED: .*ECONNREFUSED/);
    expect(existsSync(cap)).toBe(false);
    // Into an existing capture: it keeps its sessions, and no empty one is added.
    const existing = join(dir, 'existing');
    expect(mdcap(['record', '--feed', 'demo', '--out', existing, '--duration', '300ms']).status).toBe(0);
    const before = readFileSync(join(existing, 'manifest.json'), 'utf8');
    const again = mdcap(['record', '--feed', 'kraken', '--symbols', 'XBT/USD', '--url', `ws://127.0.0.1:${free}`, '--out', existing]);
    expect(again.status).toBe(2);
    expect(readFileSync(join(existing, 'manifest.json'), 'utf8')).toBe(before);
  });
});

describe('flags', () => {
  it('a ring that drops most events: said on stderr, exit 1 past --max-drops', () => {
    const cap = join(dir, 'drops');
    const args = ['record', '--feed', 'demo', '--rate', '20000', '--duration', '1s', '--ring', '2', '--overflow', 'drop-newest', '--json'];
    const r = mdcap([...args, '--out', cap]);
    const summary = JSON.parse(r.stdout) as { events: number; ringDrops: number };
    expect(summary.ringDrops).toBeGreaterThan(0);
    const share = (summary.ringDrops * 100) / (summary.ringDrops + summary.events);
    expect(r.stderr).toMatch(
      /^mdcap record: [\d,]+ of [\d,]+ events \([\d.]+%\) were dropped by the ring \(--overflow drop-newest\); the drops are recorded as gap statuses/,
    );
    expect(r.status).toBe(share > 1 ? 1 : 0);
    const tolerant = mdcap([...args, '--out', join(dir, 'drops2'), '--max-drops', '100%']);
    expect(tolerant.status).toBe(0);
    expect(tolerant.stderr).toMatch(/were dropped by the ring/);
  });

  it.each([
    [
      ['replay', 'x', '--speed', '-1x'],
      /MDCAP_ERR_INVALID_OPTION: speed: expected max or a positive multiple such as 1x, 10x or 0\.5x, found "-1x"/,
    ],
    [['record', '--out', 'x', '--duration', '-1s'], /MDCAP_ERR_INVALID_OPTION: --duration: expected a (positive )?duration.*found "-1s"/],
    [['record', '--out', 'x', '--max-drops', '-5%'], /MDCAP_ERR_INVALID_OPTION: --max-drops: expected a share from 0% to 100%/],
  ])('mdcap %j: the option says what it expects, not "Unknown arguments"', (args, message) => {
    const r = mdcap(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/Unknown argument/);
  });

  it('--from=-5 is refused with what it means; -5m counts back from the end of the capture', () => {
    const cap = join(dir, 'from');
    expect(mdcap(['record', '--feed', 'demo', '--out', cap, '--duration', '2s']).status).toBe(0);
    const bad = mdcap(['replay', cap, '--from=-5']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /--from: expected a time at or after 1970 \(integer nanoseconds are ≥ 0; -5m means five minutes before the capture ends\), found "-5"/,
    );
    const all = mdcap(['replay', cap, '--print', 'trades', '--json']).stdout.trim().split('\n');
    const tail = mdcap(['replay', cap, '--from', '-1s', '--print', 'trades', '--json']).stdout.trim().split('\n');
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.length).toBeLessThan(all.length);
    expect(all.slice(-tail.length)).toEqual(tail);
  });
});

describe('scripts', () => {
  it('mdcap demo --json: one object, for a script', () => {
    const r = mdcap(['demo', '--duration', '1s', '--json', '--out', join(dir, 'demo')]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ capture: join(dir, 'demo'), identical: true, ringDrops: 0 });
  });
});
