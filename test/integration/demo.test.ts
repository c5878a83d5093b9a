import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/** The README's main job (`pnpm demo` = `mdcap demo`) and the engine-only simulation, end to end. */
describe('mdcap demo', () => {
  const dir = tempDir('demo');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records, replays at 10x printing bars, and shows that DuckDB computes the same bars', () => {
    const r = mdcap(['demo', '--duration', '2s', '--out', join(dir, 'cap')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^1\. record: the simulated venue "demo"/m);
    expect(r.stdout).toMatch(/^2\. replay at 10x through the RealtimeEngine, 1-second bars:/m);
    expect(r.stdout).toMatch(/^ +\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} +1s +(AAPL|MSFT|BTC-USD) /m);
    expect(r.stdout).toMatch(/(\d+) bars from the engine, \1 from DuckDB: identical, field for field/);
    expect(r.stdout).toContain(`mdcap inspect ${join(dir, 'cap')}`);
  });
});

describe('mdcap sim', () => {
  it('prints bars, the book and a callback hash that is the same on every run', () => {
    const a = mdcap(['sim', '--duration', '3m', '--symbols', 'AAPL,BTC-USD']);
    const b = mdcap(['sim', '--duration', '3m', '--symbols', 'AAPL,BTC-USD']);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^2024-01-02 14:30:00 +60s +AAPL /m);
    expect(a.stdout).toMatch(/top of book at the end:\n +AAPL +bid /);
    const hash = /callback stream sha256 ([0-9a-f]{64})/.exec(a.stdout)?.[1];
    expect(hash).toBeDefined();
    expect(b.stdout).toContain(hash);
  });

  it('--json prints one canonical JSON bar per line', () => {
    const r = mdcap(['sim', '--duration', '2m', '--symbols', 'MSFT', '--json']);
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
    [['--seed', '4294967296'], /MDCAP_ERR_INVALID_OPTION: --seed: expected an integer from 0 to 4294967295/],
    [['--interval', '0'], /--interval: expected an integer from 1/],
    [['--duration', 'soon'], /--duration: expected a duration such as 500ms/],
    [['--bogus'], /MDCAP_ERR_USAGE: Unknown argument: bogus/],
  ])('%j: one clear line on stderr, exit 2', (args, message) => {
    const r = mdcap(['sim', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});
