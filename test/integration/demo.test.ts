import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithDataset, MDCAP_BIN, mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/** What `mdcap demo --json` prints (the keys these tests read). */
interface DemoJson {
  readonly identical: boolean;
  readonly engineBars: number;
  readonly duckdbBars: number;
  readonly interval: number;
  readonly barTimestamp: string;
  readonly feeds: readonly { feed: string; venue: string; url: string | null; emulated: boolean }[];
  readonly intervals: readonly {
    seconds: number;
    engineBars: number;
    duckdbBars: number;
    identical: boolean;
    venues: readonly { venue: string; engineBars: number; duckdbBars: number; identical: boolean }[];
  }[];
}

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

  it.each([
    [['--feeds', 'demo', 'bogus'], /MDCAP_ERR_INVALID_OPTION: --feeds: expected a feed of demo, kraken, .*found "bogus"/],
    [
      ['--feeds', 'bloomberg:IBM'],
      /MDCAP_ERR_INVALID_OPTION: --feeds: expected demo, a venue the demo runs locally .*found bloomberg, which has no local emulator/,
    ],
    [
      ['--vendors', 'demo,kraken'],
      /MDCAP_ERR_INVALID_OPTION: --feeds: expected NAME, NAME:SYM1,SYM2 or NAME:SYM1,SYM2@URL .*found "demo,kraken"/,
    ],
    [['--feeds', 'demo', '--symbols', 'AAPL'], /MDCAP_ERR_INVALID_OPTION: --symbols: expected the symbols in the items of --feeds/],
    [['--interval', '1,0'], /MDCAP_ERR_INVALID_OPTION: --interval: expected an integer from 1 to/],
  ])('%j: one clear line on stderr, exit 2, nothing recorded', (args, message) => {
    const out = join(dir, 'never');
    const r = mdcap(['demo', ...args, '--duration', '1s', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('a venue without its datasets: says what it expected where, and records nothing', () => {
    const out = join(dir, 'never');
    const r = spawnSync(process.execPath, [MDCAP_BIN, 'demo', '--feeds', 'demo', 'kraken', '--duration', '1s', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '0', MDCAP_DATASETS: join(dir, 'no-datasets') },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^mdcap demo: MDCAP_ERR_INVALID_OPTION: --feeds kraken: expected the cryptofeed dataset its local emulator replays under \S*no-datasets \(set MDCAP_DATASETS .*\), found no \S*no-datasets\/cryptofeed\/KRAKEN\.ws\.48\.0\n$/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describeWithDataset('cryptofeed', 'mdcap demo --feeds: the simulated venue and a venue on its local emulator', () => {
  const dir = tempDir('demo-feeds');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('demo --feeds demo coinbase --interval 1,2 --json: identical bars for every interval and both venues', () => {
    const r = mdcap(['demo', '--feeds', 'demo', 'coinbase', '--interval', '1,2', '--duration', '2s', '--out', join(dir, 'cap'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as DemoJson;
    expect(s.feeds.map((f) => [f.feed, f.venue, f.emulated])).toEqual([
      ['demo', 'demo', false],
      ['coinbase', 'coinbase', true],
    ]);
    expect(s.feeds[1]!.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/); // started here, and stopped again
    expect(s.barTimestamp).toBe('tsRecv');
    expect(s.interval).toBe(1);
    expect(s.intervals.map((i) => i.seconds)).toEqual([1, 2]);
    for (const i of s.intervals) {
      expect(i).toMatchObject({ identical: true, duckdbBars: i.engineBars });
      expect(i.venues.map((v) => v.venue)).toEqual(['demo', 'coinbase']);
      for (const v of i.venues) {
        expect(v, `${i.seconds}s ${v.venue}`).toMatchObject({ identical: true, duckdbBars: v.engineBars });
        expect(v.engineBars, `${i.seconds}s ${v.venue}`).toBeGreaterThan(0);
      }
    }
    expect(s.identical).toBe(true);
    expect(s.engineBars).toBe(s.intervals.reduce((n, i) => n + i.engineBars, 0));
    expect(s.duckdbBars).toBe(s.engineBars);
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
