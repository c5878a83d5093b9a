import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureReader } from '@mdcap/capture';
import { LiveClock } from '@mdcap/core';
import { DbnReader, DbnToEvents } from '@mdcap/dbn';
import { AlpacaEmulator, BinanceEmulator, CoinbaseEmulator, DatabentoGateway, KrakenEmulator, readRecording } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import { alpacaFeed, binanceFeed, coinbaseFeed, DatabentoFeed, krakenFeed, WorkerFeed, workerFeed } from '@mdcap/feeds';
import type { WsFeed } from '@mdcap/feeds';
import { record } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { ringProvider } from '@mdcap/ring';
import type { FrameTrail } from '@mdcap/test-utils';
import {
  collectCallbacks,
  datasetFile,
  datasetsRoot,
  describeWithDataset,
  withFrameTrail,
  hashLines,
  mdcap,
  mdcapAsync,
  mdcapServer,
  mdcapUntil,
  RawTapFollower,
  tempDir,
  waitFor,
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
 * logging callbacks; `live` drives the run (it waits for what the test needs, drops the
 * connection…) and the run stops once every event received is delivered; then replays the
 * capture; returns both logs.
 */
async function liveThenReplay(
  name: string,
  feed: WsFeed | WorkerFeed | DatabentoFeed,
  symbols: string[],
  live: (engine: RealtimeEngine) => Promise<void>,
) {
  const root = join(dir, name);
  // Recorded as `mdcap record` does (the library's `record`), a strategy logging every callback.
  const stop = new AbortController();
  let log!: ReturnType<typeof collectCallbacks>;
  let running!: (engine: RealtimeEngine) => void;
  const started = new Promise<RealtimeEngine>((resolve) => (running = resolve));
  const recording = record({
    feed,
    symbols,
    out: root,
    flushMs: 200,
    rotateNs: 1_000_000_000n,
    signal: stop.signal,
    engine: { books: true, reconnect: { delaysMs: [200] } },
    onStart: (engine) => {
      engine.setBarInterval(1);
      log = collectCallbacks(engine);
      running(engine);
    },
  });
  const engine = await started;
  await waitFor(() => engine.status === 'running', { what: 'the recording started' });
  await live(engine);
  stop.abort(); // the recorder delivers what the ring still holds, then stops
  await recording;
  const replay = new RealtimeEngine(ReplayProvider.open(root));
  replay.setBarInterval(1);
  const again = collectCallbacks(replay);
  await replay.run(symbols);
  const first = again.lines.findIndex((l, i) => l !== log.lines[i]);
  return { live: log, again, first: first === -1 ? null : { line: first, live: log.lines[first], replay: again.lines[first] } };
}

/**
 * The events of what the feed received are all through its ring: a handler thread's stamped
 * before now are delivered by `poll` (which waits for a frame the thread is still stamping).
 */
async function drained(feed: WsFeed | WorkerFeed | DatabentoFeed, provider: { ringStats(): { depth: number } }): Promise<void> {
  if (feed instanceof WorkerFeed) feed.poll(feed.clock.now());
  await waitFor(() => provider.ringStats().depth === 0, { what: 'the ring drained', state: () => JSON.stringify(provider.ringStats()) });
}

/** The frames of a handler thread's raw tap, followed as it writes them (into `trail`). */
function tapInto(feed: WorkerFeed, name: string, trail: FrameTrail): RawTapFollower {
  const taps = join(dir, 'taps');
  feed.tapRaw(taps, name, 10);
  return new RawTapFollower(join(taps, 'raw', name), (text) => trail.received(text));
}

/**
 * Waits until the emulator has played its recording and the feed has received every frame it
 * sent (what the handler thread's raw `tap` shows, for a worker feed), and `also` holds.
 */
async function played(
  engine: RealtimeEngine,
  emulator: { readonly stats: { readonly timelineDone: boolean } },
  trail: FrameTrail,
  more: { tap?: RawTapFollower; also?: (engine: RealtimeEngine) => boolean; what?: string } = {},
): Promise<void> {
  await waitFor(
    () => {
      more.tap?.poll();
      return (more.also?.(engine) ?? true) && emulator.stats.timelineDone && trail.caughtUp();
    },
    {
      what: `${more.what === undefined ? '' : `${more.what}, `}the recording played and every frame sent received`,
      state: () => `${trail.describe()}; ${JSON.stringify(engine.stats().reconnects)}`,
    },
  );
}

/**
 * A live run across a dropped connection: once `before` holds (what the test counts on from the
 * first connection), the venue drops every connection, as the emulators' `drop` fault does but
 * at a moment the test chooses (that fault fires at a frame count, and what was then still in
 * flight, and lost, depends on how busy the machine is); then waits for the reconnect, every
 * subscription answered again, the recording played and every frame sent received.
 */
function acrossADrop(
  emulator: KrakenEmulator | CoinbaseEmulator,
  trail: FrameTrail,
  before: { what: string; holds: (engine: RealtimeEngine) => boolean },
  tap?: RawTapFollower,
): (engine: RealtimeEngine) => Promise<void> {
  return async (engine) => {
    await waitFor(() => before.holds(engine), {
      what: `${before.what} before the drop`,
      state: () => JSON.stringify(engine.stats().events),
    });
    const subscriptions = emulator.stats.subscriptions;
    for (const c of (emulator as unknown as { clients: Set<{ socket: { terminate(): void } }> }).clients) c.socket.terminate();
    await played(engine, emulator, trail, {
      ...(tap === undefined ? {} : { tap }),
      also: () => engine.stats().reconnects.succeeded >= 1 && emulator.stats.subscriptions >= 2 * subscriptions,
      what: 'a reconnect with every subscription answered',
    });
  };
}

/** More than `books` book updates and `trades` trades delivered. */
const more = (books: number, trades: number) => ({
  what: `over ${books} book updates and ${trades} trades`,
  holds: (engine: RealtimeEngine): boolean => engine.stats().events.book > books && engine.stats().events.trade > trades,
});

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

/** What a capture being recorded holds so far, as a reader sees it (flushed rows only); null while it cannot be read. */
async function captured(cap: string): Promise<{ rows: number; checksums: number; bars: number } | null> {
  if (!existsSync(join(cap, 'manifest.json'))) return null;
  try {
    const reader = CaptureReader.open(cap);
    const seen = { rows: 0, checksums: 0, bars: 0 };
    for (const f of reader.files()) {
      for await (const b of reader.batches(f)) {
        seen.rows += b.length;
        if (f.kind === 'bars') seen.bars += b.length;
        if (f.kind !== 'status') continue;
        for (let i = 0; i < b.length; i++) {
          const e = b.event(i);
          if (e.type === 'status' && e.kind === 'checksum' && e.ok === true) seen.checksums++;
        }
      }
    }
    return seen;
  } catch {
    return null; // the recorder finalized a file meanwhile: look again
  }
}

/**
 * `mdcap emulate --venue V` in a child process, `mdcap record --feed V` from it until the
 * capture holds what `until` wants (then stopped as with Ctrl-C); the capture's `verify --json`.
 */
async function cliCapture(
  venue: string,
  speed: string,
  symbols: string[],
  until: { what: string; holds: (seen: { rows: number; checksums: number; bars: number }) => boolean },
  more: { emulate?: string[]; record?: string[]; name?: string } = {},
): Promise<{ report: VerifyJson; cap: string }> {
  const emulate = ['emulate', '--venue', venue, '--speed', speed, '--json', ...(more.emulate ?? [])];
  const { child, firstLine } = await mdcapServer(emulate, { MDCAP_DATASETS: datasetsRoot() });
  try {
    const { url, restUrl } = JSON.parse(firstLine) as { url: string; restUrl: string };
    const cap = join(dir, more.name ?? `${venue}-cli`);
    const args = ['record', '--feed', venue, '--url', url, '--rest-url', restUrl, '--symbols', symbols.join(','), '--out', cap];
    args.push(...(more.record ?? []));
    const rec = await mdcapUntil(
      args,
      async () => {
        const seen = await captured(cap);
        return seen !== null && until.holds(seen);
      },
      `${until.what} in ${cap}`,
    );
    expect(rec.status, rec.stderr).toBe(0);
    return { report: JSON.parse(mdcap(['verify', cap, '--json']).stdout) as VerifyJson, cap };
  } finally {
    child.kill('SIGTERM');
  }
}

/** All the checksums of KRAKEN.ws.50.0 recorded as verified. */
const ALL_CHECKSUMS = { what: '4,269 verified checksums', holds: (seen: { checksums: number }) => seen.checksums >= 4269 };

describeWithDataset('cryptofeed', 'Kraken: emulator → record → replay', () => {
  it(
    'parity across a dropped connection: replaying the capture gives the callbacks the strategy saw live',
    { timeout: 60_000 },
    async () => {
      const { emulator, trail } = await withFrameTrail((onSend) =>
        KrakenEmulator.start({ lines: lines('KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'), speed: 20, onSend }),
      );
      try {
        const feed = krakenFeed({ url: emulator.url, clock: new LiveClock(), onFrame: (text) => trail.received(text) });
        const r = await liveThenReplay('kraken', feed, KRAKEN_PAIRS, acrossADrop(emulator, trail, more(5000, 0)));
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
        const { emulator, trail } = await withFrameTrail((onSend) =>
          KrakenEmulator.start({ lines: lines('KRAKEN.ws.50.0'), speed: 'max', onSend }),
        );
        try {
          const clock = new LiveClock();
          const feed = threaded
            ? workerFeed('kraken', { url: emulator.url, clock })
            : krakenFeed({ url: emulator.url, clock, onFrame: (text) => trail.received(text) });
          const tap = feed instanceof WorkerFeed ? tapInto(feed, 'kraken-events.log', trail) : null;
          const provider = feed instanceof WorkerFeed ? feed : ringProvider(feed);
          const engine = new RealtimeEngine(provider);
          const out: string[] = [];
          engine.onEvent((e) => {
            const { tsRecv: _r, ...rest } = e;
            const line = JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
            if (e.type !== 'status' || e.kind === 'checksum') out.push(line.replace(/ws:\/\/127\.0\.0\.1:\d+/, 'URL'));
          });
          await engine.start(KRAKEN_PAIRS);
          await played(engine, emulator, trail, tap === null ? {} : { tap });
          await drained(feed, provider);
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

      const { emulator, trail } = await withFrameTrail((onSend) =>
        KrakenEmulator.start({ lines: lines('KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'), speed: 20, onSend }),
      );
      try {
        const feed = workerFeed('kraken', { url: emulator.url, capacity: 1024 });
        const tap = tapInto(feed, 'kraken-thread.log', trail);
        const r = await liveThenReplay(
          'kraken-thread',
          feed,
          KRAKEN_PAIRS,
          acrossADrop(emulator, trail, { what: '5,000 events through the ring', holds: () => feed.ringStats().pushed > 5000 }, tap),
        );
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
      const { report, cap } = await cliCapture('kraken', 'max', KRAKEN_PAIRS, ALL_CHECKSUMS, { record: ['--raw'] });
      expect(report.checksums).toEqual({ verified: 4269, failed: 0 });
      expect(report.gaps).toBe(0);
      const manifest = JSON.parse(readFileSync(join(cap, 'manifest.json'), 'utf8')) as {
        instruments: { symbol: string; priceScale: number }[];
      };
      expect(manifest.instruments.find((i) => i.symbol === 'XBT/CHF')?.priceScale).toBe(5);
      // --raw kept the wire traffic: replayed by the emulator and recorded again, it verifies the same.
      const raw = join(cap, 'raw', 'kraken.session-1.log');
      const again = await cliCapture('kraken', 'max', KRAKEN_PAIRS, ALL_CHECKSUMS, { emulate: ['--frames', raw], name: 'kraken-from-raw' });
      expect(again.report.checksums).toEqual({ verified: 4269, failed: 0 });
    },
  );
});

describeWithDataset('cryptofeed', 'Binance: emulator → record → replay', () => {
  it(
    'parity across a lost diff and its resync: replaying the capture gives the callbacks the strategy saw live',
    { timeout: 60_000 },
    async () => {
      const { emulator, trail } = await withFrameTrail((onSend) =>
        BinanceEmulator.start({ lines: lines('BINANCE.ws.1.0', 'BINANCE.http.0.0'), speed: 10, faults: 'skip:40', onSend }),
      );
      try {
        const feed = binanceFeed({
          url: `${emulator.url}/stream`,
          restUrl: emulator.restUrl,
          clock: new LiveClock(),
          onFrame: (text) => trail.received(text),
        });
        const snapshots = feed.parser.snapshotRequests!;
        const r = await liveThenReplay('binance', feed, BINANCE_SYMBOLS, (engine) =>
          played(engine, emulator, trail, { also: () => snapshots.size === 0, what: 'every book synced to its REST snapshot' }),
        );
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
      const { emulator, trail } = await withFrameTrail((onSend) =>
        BinanceEmulator.start({ lines: lines('BINANCE.ws.1.0', 'BINANCE.http.0.0'), speed: 10, faults: 'skip:40', onSend }),
      );
      try {
        const feed = workerFeed('binance', { url: `${emulator.url}/stream`, restUrl: emulator.restUrl });
        const tap = tapInto(feed, 'binance-thread.log', trail);
        // Every REST snapshot the emulator served, the handler thread used (its tap records each).
        const r = await liveThenReplay('binance-thread', feed, BINANCE_SYMBOLS, (engine) =>
          played(engine, emulator, trail, {
            tap,
            also: () => tap.rest === emulator.stats.restRequests,
            what: 'every REST snapshot served used',
          }),
        );
        expectParity(r);
        expect(count(r.live.lines, 'book')).toBeGreaterThan(1000);
        expect(count(r.live.lines, 'gap')).toBe(1);
      } finally {
        await emulator.close();
      }
    },
  );

  it('mdcap emulate --venue binance + mdcap record --feed binance: a clean capture', { timeout: 60_000 }, async () => {
    const { report } = await cliCapture('binance', '10x', BINANCE_SYMBOLS, { what: 'over 1,000 rows', holds: (seen) => seen.rows > 1000 });
    expect(report.problems).toEqual([]);
    expect(report.rows).toBeGreaterThan(1000);
  });
});

describeWithDataset('cryptofeed', 'Coinbase: emulator → record → replay', () => {
  it(
    'parity across a dropped connection: replaying the capture gives the callbacks the strategy saw live',
    { timeout: 60_000 },
    async () => {
      const { emulator, trail } = await withFrameTrail((onSend) =>
        CoinbaseEmulator.start({ lines: lines('COINBASE.ws.28.0'), speed: 20, onSend }),
      );
      try {
        const feed = coinbaseFeed({ url: emulator.url, clock: new LiveClock(), onFrame: (text) => trail.received(text) });
        const r = await liveThenReplay('coinbase', feed, COINBASE_PRODUCTS, acrossADrop(emulator, trail, more(5000, 50)));
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
    const { report } = await cliCapture('coinbase', 'max', COINBASE_PRODUCTS, {
      what: 'over 10,000 rows',
      holds: (seen) => seen.rows > 10_000,
    });
    expect(report.problems).toEqual([]);
    expect(report.rows).toBeGreaterThan(10_000);
  });
});

describe('Alpaca: scripted emulator → record → replay', () => {
  it('parity: replaying the capture gives the callbacks the strategy saw live', { timeout: 60_000 }, async () => {
    const { emulator, trail } = await withFrameTrail((onSend) => AlpacaEmulator.start({ speed: 'max', onSend }));
    try {
      const feed = alpacaFeed({
        url: emulator.url,
        key: 'key',
        secret: 'secret',
        clock: new LiveClock(),
        onFrame: (text) => trail.received(text),
      });
      const r = await liveThenReplay('alpaca', feed, ['AAPL', 'MSFT'], (engine) => played(engine, emulator, trail));
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
        const base = ['record', '--feed', 'alpaca', '--url', url, '--symbols', 'AAPL,MSFT'];
        // (Refused at once; the duration only bounds a recorder that would wrongly go on.)
        const bad = await mdcapAsync([...base, '--duration', '3s', '--out', join(dir, 'alpaca-bad'), '--key', 'key', '--secret', 'nope']);
        expect(bad.status).toBe(2);
        expect(bad.stderr.trim()).toBe(
          'mdcap record: MDCAP_ERR_CONNECT_FAILED: alpaca: expected the venue to accept the connection, found auth failed (code 402)',
        );
        const cap = join(dir, 'alpaca-cli');
        const rec = await mdcapUntil(
          [...base, '--out', cap, '--key', 'key', '--secret', 'secret'],
          async () => (await captured(cap))?.bars === 4,
          `the 4 vendor bars in ${cap}`,
        );
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
    const gateway = await DatabentoGateway.start({ files, key: KEY, speed: 40 });
    try {
      const feed = new DatabentoFeed({ key: KEY, dataset: 'GLBX.MDP3', schema: 'mbp-1', url: gateway.url, clock: new LiveClock() });
      const r = await liveThenReplay('databento', feed, ['ESU4'], async (engine) => {
        await waitFor(() => engine.stats().events.quote > 1500 && engine.stats().events.trade > 50, {
          what: 'quotes and trades before the drop',
          state: () => JSON.stringify(engine.stats().events),
        });
        // The gateway drops the session (as its drop fault does, at a moment chosen here): what
        // was in flight is lost; everything it sends later goes to the next session.
        let received: number | null = null;
        engine.onStatus((s) => {
          if (s.kind === 'disconnected') received ??= feed.stats.records;
        });
        const sessions = (gateway as unknown as { sessions: Set<{ socket: { destroy(): void } }> }).sessions;
        const sent = gateway.stats.recordsSent;
        for (const s of sessions) {
          sessions.delete(s);
          s.socket.destroy();
        }
        await waitFor(
          () =>
            received !== null &&
            engine.stats().reconnects.succeeded >= 1 &&
            gateway.stats.timelineDone &&
            feed.stats.records === received + gateway.stats.recordsSent - sent,
          {
            what: 'a reconnect, the timeline played and every record sent to the new session received',
            state: () =>
              `${feed.stats.records} records received (${received} before the drop), ${gateway.stats.recordsSent} sent (${sent})`,
          },
        );
      });
      expectParity(r);
      expect(count(r.live.lines, 'quote')).toBeGreaterThan(1500);
      expect(count(r.live.lines, 'trade')).toBeGreaterThan(50);
      expect(count(r.live.lines, 'reconnect')).toBe(1);
      const lost = r.live.lines.filter((l) => l.startsWith('status ') && l.includes('"kind":"gap"') && l.includes('were not received'));
      expect(lost).toHaveLength(1);
      expect(gateway.stats.sessions).toBe(2);
    } finally {
      await gateway.close();
    }
  });

  it(
    'intraday replay: a session started late with start= gets the records it missed, then the live ones',
    { timeout: 60_000 },
    async () => {
      const gateway = await DatabentoGateway.start({ files: [files[0]!], key: KEY, speed: 40 });
      // The gateway plays the day by receive time: a session has all it will get once it has the last trade.
      const day = new DbnReader(readFileSync(files[0]!), { file: files[0]! }).records();
      const last = [...day].reduce((a, b) => (DbnToEvents.recvOf(b) >= DbnToEvents.recvOf(a) ? b : a))['ts_event'] as bigint;
      const session = async (name: string, start: bigint | undefined) => {
        const feed = new DatabentoFeed({
          key: KEY,
          dataset: 'GLBX.MDP3',
          schema: 'trades',
          url: gateway.url,
          ...(start === undefined ? {} : { start }),
        });
        const engine = new RealtimeEngine(feed);
        const got = { trades: 0, last: false };
        engine.onTrade((t) => {
          got.trades++;
          if (t.tsEvent === last) got.last = true;
        });
        await engine.start(['ESU4']);
        const finish = async (): Promise<number> => {
          await waitFor(() => got.last, { what: `the day's last trade (${name} session)`, state: () => `${got.trades} trades` });
          await engine.stop();
          return got.trades;
        };
        return { got, finish };
      };
      try {
        const whole = await session('whole', undefined);
        await waitFor(() => whole.got.trades > 0, { what: 'the first trade: the market is under way' });
        const [late, replayed] = await Promise.all([session('late', undefined), session('replayed', 0n)]);
        const [wholeTrades, lateTrades, replayedTrades] = await Promise.all([whole.finish(), late.finish(), replayed.finish()]);
        expect(wholeTrades).toBe(120);
        expect(lateTrades).toBeLessThan(120); // live only: what went before is not sent
        expect(replayedTrades).toBe(120); // from the start of the day: nothing missing
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
      const rec = await mdcapUntil(
        ['record', '--feed', 'databento', '--url', url, '--key', KEY, '--schema', 'trades', '--symbols', 'ESU4', '--out', cap],
        async () => ((await captured(cap))?.rows ?? 0) > 100,
        `over 100 rows in ${cap}`,
      );
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
