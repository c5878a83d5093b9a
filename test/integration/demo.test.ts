import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

/** The README's main job, end to end: the built demo binary, its output and its exit codes. */
const DEMO = join(REPO_ROOT, 'tools/demo/dist/main.js');
const demo = (...args: string[]) => spawnSync(process.execPath, [DEMO, ...args], { encoding: 'utf8' });

describe('pnpm demo', () => {
  it('prints bars, the book and a callback hash that is the same on every run', () => {
    const a = demo('--duration', '3m', '--symbols', 'AAPL,BTC-USD');
    const b = demo('--duration', '3m', '--symbols', 'AAPL,BTC-USD');
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/^2024-01-02 14:30:00 +60s +AAPL /m);
    expect(a.stdout).toMatch(/top of book at the end:\n +AAPL +bid /);
    const hash = /callback stream sha256 ([0-9a-f]{64})/.exec(a.stdout)?.[1];
    expect(hash).toBeDefined();
    expect(b.stdout).toContain(hash);
  });

  it('--json prints one canonical JSON bar per line', () => {
    const r = demo('--duration', '2m', '--symbols', 'MSFT', '--json');
    expect(r.status).toBe(0);
    const bars = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(bars.length).toBe(2);
    expect(bars[0]).toMatchObject({ type: 'bar', venue: 'demo', symbol: 'MSFT', interval: 60, start: '1704205800000000000' });
  });

  it.each([
    [['--symbols', 'GME'], /MDCAP_ERR_UNKNOWN_SYMBOL: demo: expected one of AAPL, MSFT, BTC-USD, found "GME"/],
    [['--seed', '4294967296'], /--seed: expected an integer from 0 to 4294967295/],
    [['--interval', '0'], /--interval: expected an integer from 1/],
    [['--duration', 'soon'], /--duration: expected a duration such as 500ms/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('%j: one clear line on stderr, exit 2', (args, message) => {
    const r = demo(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('--help teaches, with examples', () => {
    const r = demo('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: pnpm demo \[options\]/);
    expect(r.stdout).toMatch(/Examples:/);
  });
});
