import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureWriter } from '@mdcap/capture';
import { LiveClock } from '@mdcap/core';
import { AlpacaEmulator, BinanceEmulator, CoinbaseEmulator, DatabentoGateway, KrakenEmulator, readRecording } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import { alpacaFeed, binanceFeed, coinbaseFeed, DatabentoFeed, krakenFeed, WorkerFeed, workerFeed } from '@mdcap/feeds';
import type { WsFeed } from '@mdcap/feeds';
import { ReplayProvider } from '@mdcap/replay';
import { ringProvider } from '@mdcap/ring';
import {
  collectCallbacks,
  datasetFile,
  datasetsRoot,
  describeWithDataset,
  hashLines,
  mdcap,
  mdcapAsync,
  mdcapServer,
  tempDir,
} from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Venues end to end: an emulator replays the real recording; the real handler records it
 * while a strategy logs every callback; the capture replays to the identical callback stream;
 * and the CLI pair `mdcap emulate` + `mdcap record` gives a capture `mdcap verify` accepts.
 */
const KRAKEN_PAIRS = ['WAVES/EUR', 'XMR/USD', 'KSM/XBT', 'GRT/ETH', 'SC/EUR', 'ETH/CHF', 'OCEAN/XBT', 'OMG/USD', 'XBT/CHF', 'ADA/XBT'];
const BINANCE_SYMBOLS = ['NKNUSDT', 'BLZETH', 'LRCBTC', 'RUNEEUR'];
const COINBASE_PRODUCTS = ['SKL-USD', 'SKL-BTC', 'BAND-GBP', 'NMR-EUR', 'BAND-BTC', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'SKL-GBP'];
const lines = (...files: string[]) => files.flatMap((f) => readRecording(datasetFile('cryptofeed', f)));

const dir = tempDir('venues');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Records `feed` live (through the in-thread ring, or the shared ring of a handler thread) while
 * logging callbacks; then replays the capture; returns both logs.
 */
async function liveThenReplay(name: string, feed: WsFeed | WorkerFeed | DatabentoFeed, symbols: string[], done: () => Promise<void>) {
  const root = join(dir, name);
  const clock = feed.clock;
  const provider = feed instanceof WorkerFeed ? feed : ringProvider(feed);
  const engine = new RealtimeEngine(provider, { reconnect: { delaysMs: [200] } });
  engine.setBarInterval(1);
  const writer = await CaptureWriter.open(root, { feed: feed.venue, symbols, clock, flushMs: 200, rotateNs: 1_000_000_000n });
  engine.onEvent((e) => writer.write(e));
  const live = collectCallbacks(engine);
  await engine.start(symbols);
  await done();
  await new Promise((r) => setTimeout(r, 500));
  await engine.stop();
  writer.noteInstruments(feed.instruments());
  await writer.close(engine.stats().finishedAt!);
  const replay = new RealtimeEngine(ReplayProvider.open(root));
  replay.setBarInterval(1);
  const again = collectCallbacks(replay);
  await replay.run(symbols);
  const first = again.lines.findIndex((l, i) => l !== live.lines[i]);
  return { live, again, first: first === -1 ? null : { line: first, live: live.lines[first], replay: again.lines[first] } };
}

const count = (log: string[], kind: string): number => log.filter((l) => l.startsWith(`${kind} `)).length;

/** What every parity run must show: no errors either way, and the identical callback stream. */
function expectParity(r: Awaited<ReturnType<typeof liveThenReplay>>): void {
  expect(r.live.errors).toEqual([]);
  expect(r.again.errors).toEqual([]);
  expect(r.first).toBeNull();
  expect(hashLines(r.again.lines)).toBe(hashLines(r.live.lines));
}

interface VerifyJson {
  checksums: { verified: number; failed: number };
  gaps: number;
  rows: number;
  problems: string[];
}

/** `mdcap emulate --venue V` in a child process, `mdcap record --feed V` from it; the capture's `verify --json`. */
async function cliCapture(
  venue: string,
  speed: string,
  symbols: string[],
  duration: string,
  more: { emulate?: string[]; record?: string[]; name?: string } = {},
): Promise<{ report: VerifyJson; cap: string }> {
  const emulate = ['emulate', '--venue', venue, '--speed', speed, '--json', ...(more.emulate ?? [])];
  const { child, firstLine } = await mdcapServer(emulate, { MDCAP_DATASETS: datasetsRoot() });
  try {
    const { url, restUrl } = JSON.parse(firstLine) as { url: string; restUrl: string };
    const cap = join(dir, more.name ?? `${venue}-cli`);
    const args = [
      'record',
      '--feed',
      venue,
      '--url',
      url,
      '--rest-url',
      restUrl,
      '--symbols',
      symbols.join(','),
      '--out',
      cap,
      '--duration',
      duration,
    ];
    args.push(...(more.record ?? []));
    const rec = await mdcapAsync(args);
    expect(rec.status, rec.stderr).toBe(0);
    return { report: JSON.parse(mdcap(['verify', cap, '--json']).stdout) as VerifyJson, cap };
  } finally {
    child.kill('SIGTERM');
  }
}

describeWithDataset('cryptofeed', 'Kraken: emulator → record → replay', () => {
  it(
    'parity across a dropped connection: replaying the capture gives the callbacks the strategy saw live',
    { timeout: 60_000 },
    async () => {
      const emulator = await KrakenEmulator.start({
        lines: lines('KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'),
        speed: 20,
        faults: 'drop:2500',
      });
      try {
        const r = await liveThenReplay('kraken', krakenFeed({ url: emulator.url, clock: new LiveClock() }), KRAKEN_PAIRS, () =>
          emulator.done(),
        );
        expectParity(r);
        expect(count(r.live.lines, 'book')).toBeGreaterThan(5000);
        expect(count(r.live.lines, 'trade')).toBeGreaterThan(0);
        expect(count(r.live.lines, 'reconnect')).toBe(1);
      } finally {
        await emulator.close();
      }
    },
  );

  it(
    'handler on a worker thread: the same events as on the main thread, and parity across a dropped connection',
    { timeout: 60_000 },
    async () => {
      // The same recording at full speed, once per thread model: the same normalized events in the same order.
      const eventsOf = async (threaded: boolean): Promise<string[]> => {
        const emulator = await KrakenEmulator.start({ lines: lines('KRAKEN.ws.50.0'), speed: 'max' });
        try {
          const clock = new LiveClock();
          const feed = threaded ? workerFeed('kraken', { url: emulator.url, clock }) : krakenFeed({ url: emulator.url, clock });
          const engine = new RealtimeEngine(feed instanceof WorkerFeed ? feed : ringProvider(feed));
          const out: string[] = [];
          engine.onEvent((e) => {
            const { tsRecv: _r, ...rest } = e;
            const line = JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
            if (e.type !== 'status' || e.kind === 'checksum') out.push(line.replace(/ws:\/\/127\.0\.0\.1:\d+/, 'URL'));
          });
          await engine.start(KRAKEN_PAIRS);
          await emulator.done();
          await new Promise((r) => setTimeout(r, 300));
          await engine.stop();
          return out;
        } finally {
          await emulator.close();
        }
      };
      const [main, threaded] = [await eventsOf(false), await eventsOf(true)];
      expect(threaded.length).toBeGreaterThan(10_000);
      expect(threaded.filter((l) => l.includes('"checksum"')).length).toBe(4269);
      expect(hashLines(threaded)).toBe(hashLines(main));

      const emulator = await KrakenEmulator.start({ lines: lines('KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'), speed: 20, faults: 'drop:2500' });
      try {
        const feed = workerFeed('kraken', { url: emulator.url, capacity: 1024 });
        const r = await liveThenReplay('kraken-thread', feed, KRAKEN_PAIRS, () => emulator.done());
        expectParity(r);
        expect(count(r.live.lines, 'reconnect')).toBe(1);
        expect(feed.ringStats()).toMatchObject({ drops: 0, depth: 0 });
        expect(feed.ringStats().pushed).toBeGreaterThan(5000);
        expect(feed.stats.connects).toBe(2);
      } finally {
        await emulator.close();
      }
    },
  );

  it(
    'mdcap emulate + mdcap record --feed kraken: verify counts all 4,269 checksums verified, none failed',
    { timeout: 60_000 },
    async () => {
      const { report, cap } = await cliCapture('kraken', 'max', KRAKEN_PAIRS, '4s', { record: ['--raw'] });
      expect(report.checksums).toEqual({ verified: 4269, failed: 0 });
      expect(report.gaps).toBe(0);
      const manifest = JSON.parse(readFileSync(join(cap, 'manifest.json'), 'utf8')) as {
        instruments: { symbol: string; priceScale: number }[];
      };
      expect(manifest.instruments.find((i) => i.symbol === 'XBT/CHF')?.priceScale).toBe(5);
      // --raw kept the wire traffic: replayed by the emulator and recorded again, it verifies the same.
      const raw = join(cap, 'raw', 'kraken.session-1.log');
      const again = await cliCapture('kraken', 'max', KRAKEN_PAIRS, '4s', { emulate: ['--frames', raw], name: 'kraken-from-raw' });
      expect(again.report.checksums).toEqual({ verified: 4269, failed: 0 });
    },
  );
});

describeWithDataset('cryptofeed', 'Binance: emulator → record → replay', () => {
  it(
    'parity across a lost diff and its resync: replaying the capture gives the callbacks the strategy saw live',
    { timeout: 60_000 },
    async () => {
      const emulator = await BinanceEmulator.start({ lines: lines('BINANCE.ws.1.0', 'BINANCE.http.0.0'), speed: 10, faults: 'skip:40' });
      try {
        const feed = binanceFeed({ url: `${emulator.url}/stream`, restUrl: emulator.restUrl, clock: new LiveClock() });
        const r = await liveThenReplay('binance', feed, BINANCE_SYMBOLS, () => emulator.done());
        expectParity(r);
        expect(count(r.live.lines, 'book')).toBeGreaterThan(1000);
        expect(count(r.live.lines, 'quote')).toBeGreaterThan(50);
        expect(count(r.live.lines, 'gap')).toBe(1);
      } finally {
        await emulator.close();
      }
    },
  );

  it(
    'handler on a worker thread: parity across a lost diff, with the REST snapshots fetched on that thread',
    { timeout: 60_000 },
    async () => {
      const emulator = await BinanceEmulator.start({ lines: lines('BINANCE.ws.1.0', 'BINANCE.http.0.0'), speed: 10, faults: 'skip:40' });
      try {
        const feed = workerFeed('binance', { url: `${emulator.url}/stream`, restUrl: emulator.restUrl });
        const r = await liveThenReplay('binance-thread', feed, BINANCE_SYMBOLS, () => emulator.done());
        expectParity(r);
        expect(count(r.live.lines, 'book')).toBeGreaterThan(1000);
        expect(count(r.live.lines, 'gap')).toBe(1);
      } finally {
        await emulator.close();
      }
    },
  );

  it('mdcap emulate --venue binance + mdcap record --feed binance: a clean capture', { timeout: 60_000 }, async () => {
    const { report } = await cliCapture('binance', '10x', BINANCE_SYMBOLS, '5s');
    expect(report.problems).toEqual([]);
    expect(report.rows).toBeGreaterThan(1000);
  });
});

describeWithDataset('cryptofeed', 'Coinbase: emulator → record → replay', () => {
  it(
    'parity across a dropped connection: replaying the capture gives the callbacks the strategy saw live',
    { timeout: 60_000 },
    async () => {
      const emulator = await CoinbaseEmulator.start({ lines: lines('COINBASE.ws.28.0'), speed: 20, faults: 'drop:4000' });
      try {
        const r = await liveThenReplay('coinbase', coinbaseFeed({ url: emulator.url, clock: new LiveClock() }), COINBASE_PRODUCTS, () =>
          emulator.done(),
        );
        expectParity(r);
        expect(count(r.live.lines, 'book')).toBeGreaterThan(5000);
        expect(count(r.live.lines, 'trade')).toBeGreaterThan(50);
        expect(count(r.live.lines, 'reconnect')).toBe(1);
      } finally {
        await emulator.close();
      }
    },
  );

  it('mdcap emulate --venue coinbase + mdcap record --feed coinbase: a clean capture', { timeout: 60_000 }, async () => {
    const { report } = await cliCapture('coinbase', 'max', COINBASE_PRODUCTS, '4s');
    expect(report.problems).toEqual([]);
    expect(report.rows).toBeGreaterThan(10_000);
  });
});

describe('Alpaca: scripted emulator → record → replay', () => {
  it('parity: replaying the capture gives the callbacks the strategy saw live', { timeout: 60_000 }, async () => {
    const emulator = await AlpacaEmulator.start({ speed: 'max' });
    try {
      const feed = alpacaFeed({ url: emulator.url, key: 'key', secret: 'secret', clock: new LiveClock() });
      const r = await liveThenReplay('alpaca', feed, ['AAPL', 'MSFT'], () => emulator.done());
      expectParity(r);
      expect(count(r.live.lines, 'trade')).toBe(1200);
      expect(count(r.live.lines, 'quote')).toBe(2400);
    } finally {
      await emulator.close();
    }
  });

  it(
    'mdcap record --feed alpaca: a clean capture with the vendor bars; wrong credentials are one clear line',
    { timeout: 60_000 },
    async () => {
      const { child, firstLine } = await mdcapServer(['emulate', '--venue', 'alpaca', '--speed', 'max', '--json']);
      try {
        const { url } = JSON.parse(firstLine) as { url: string };
        const base = ['record', '--feed', 'alpaca', '--url', url, '--symbols', 'AAPL,MSFT', '--duration', '3s'];
        const bad = await mdcapAsync([...base, '--out', join(dir, 'alpaca-bad'), '--key', 'key', '--secret', 'nope']);
        expect(bad.status).toBe(2);
        expect(bad.stderr.trim()).toBe(
          'mdcap record: MDCAP_ERR_CONNECT_FAILED: alpaca: expected the venue to accept the connection, found auth failed (code 402)',
        );
        const cap = join(dir, 'alpaca-cli');
        const rec = await mdcapAsync([...base, '--out', cap, '--key', 'key', '--secret', 'secret']);
        expect(rec.status, rec.stderr).toBe(0);
        const report = JSON.parse(mdcap(['verify', cap, '--json']).stdout) as VerifyJson;
        expect(report.problems).toEqual([]);
        const bars = mdcap(['query', cap, 'SELECT count(*) AS n FROM bars', '--json']);
        expect(bars.stdout.trim()).toBe('{"n":"4"}');
      } finally {
        child.kill('SIGTERM');
      }
    },
  );
});

describeWithDataset('nautilus-trader', 'Databento Live: gateway emulator → record → replay', () => {
  const bars = (f: string): string => datasetFile('nautilus-trader', `databento/bars_catalog/${f}`);
  const files = [
    bars('futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst'),
    bars('futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst'),
  ];
  const KEY = 'db-0123456789abcdefghijklmnopqrs';

  it('parity across an injected disconnect, which leaves a gap status for the time lost', { timeout: 60_000 }, async () => {
    const gateway = await DatabentoGateway.start({ files, key: KEY, speed: 40, faults: 'drop:1000' });
    try {
      const feed = new DatabentoFeed({ key: KEY, dataset: 'GLBX.MDP3', schema: 'mbp-1', url: gateway.url, clock: new LiveClock() });
      const r = await liveThenReplay('databento', feed, ['ESU4'], () => gateway.done());
      expectParity(r);
      expect(count(r.live.lines, 'quote')).toBeGreaterThan(1500);
      expect(count(r.live.lines, 'trade')).toBeGreaterThan(50);
      expect(count(r.live.lines, 'reconnect')).toBe(1);
      const lost = r.live.lines.filter((l) => l.startsWith('status ') && l.includes('"kind":"gap"') && l.includes('were not received'));
      expect(lost).toHaveLength(1);
      expect(gateway.stats.faultsFired).toEqual(['drop']);
    } finally {
      await gateway.close();
    }
  });

  it(
    'intraday replay: a session started late with start= gets the records it missed, then the live ones',
    { timeout: 60_000 },
    async () => {
      const gateway = await DatabentoGateway.start({ files: [files[0]!], key: KEY, speed: 40 });
      const run = async (start: bigint | undefined, until: () => Promise<void>): Promise<number> => {
        const feed = new DatabentoFeed({
          key: KEY,
          dataset: 'GLBX.MDP3',
          schema: 'trades',
          url: gateway.url,
          ...(start === undefined ? {} : { start }),
        });
        const engine = new RealtimeEngine(feed);
        let trades = 0;
        engine.onTrade(() => trades++);
        await engine.start(['ESU4']);
        await until();
        await engine.stop();
        return trades;
      };
      try {
        const whole = run(undefined, () => gateway.done().then(() => new Promise((r) => setTimeout(r, 300))));
        await new Promise((r) => setTimeout(r, 2500)); // the market is under way
        const [late, replayed] = await Promise.all([
          run(undefined, () => gateway.done().then(() => new Promise((r) => setTimeout(r, 300)))),
          run(0n, () => gateway.done().then(() => new Promise((r) => setTimeout(r, 300)))),
        ]);
        expect(await whole).toBe(120);
        expect(late).toBeLessThan(120); // live only: what went before is not sent
        expect(replayed).toBe(120); // from the start of the day: nothing missing
      } finally {
        await gateway.close();
      }
    },
  );

  it('mdcap emulate --venue databento + mdcap record --feed databento; a wrong key is one clear line', { timeout: 60_000 }, async () => {
    const { child, firstLine } = await mdcapServer(['emulate', '--venue', 'databento', '--speed', '40x', '--json'], {
      MDCAP_DATASETS: datasetsRoot(),
    });
    try {
      const { url } = JSON.parse(firstLine) as { url: string };
      const cap = join(dir, 'databento-cli');
      const rec = await mdcapAsync([
        'record',
        '--feed',
        'databento',
        '--url',
        url,
        '--key',
        KEY,
        '--schema',
        'trades',
        '--symbols',
        'ESU4',
        '--out',
        cap,
        '--duration',
        '8s',
      ]);
      expect(rec.status, rec.stderr).toBe(0);
      const report = JSON.parse(mdcap(['verify', cap, '--json']).stdout) as VerifyJson & { ok: boolean };
      expect(report.ok).toBe(true);
      expect(report.rows).toBeGreaterThan(100);
    } finally {
      child.kill('SIGTERM');
    }
    const reject = await DatabentoGateway.start({ files, key: KEY });
    try {
      const bad = await mdcapAsync([
        'record',
        '--feed',
        'databento',
        '--url',
        reject.url,
        '--key',
        'db-wrongwrongwrongwrongwrongwrong',
        '--symbols',
        'ESU4',
        '--out',
        join(dir, 'databento-bad'),
        '--duration',
        '2s',
      ]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(
        /^mdcap record: MDCAP_ERR_CONNECT_FAILED: GLBX\.MDP3 gateway tcp:\/\/127\.0\.0\.1:\d+: expected the gateway to accept the API key, found Authentication failed\.\n$/,
      );
    } finally {
      await reject.close();
    }
  });
});
