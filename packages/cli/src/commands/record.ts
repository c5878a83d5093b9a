import { CaptureWriter } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { isoToNs, LiveClock, MdcapError, nextTurn, nsToIso } from '@mdcap/core';
import type { Clock, DataProvider } from '@mdcap/core';
import { DatabentoFeed, RawTap, VENUE_NAMES, venueFeed, WorkerFeed, WsFeed } from '@mdcap/feeds';
import type { VenueFeedOptions, VenueName } from '@mdcap/feeds';
import { RealtimeEngine } from '@mdcap/engine';
import { ringProvider } from '@mdcap/ring';
import type { OverflowPolicy } from '@mdcap/ring';
import { DEFAULT_SIM_SYMBOLS, SimProvider } from '@mdcap/sim';
import type { Argv } from 'yargs';
import { badOption, parseDurationOption, parseIntOption, parseList, parseUrlOption } from '../args.js';
import { EXIT, warn } from '../command.js';
import type { Command } from '../command.js';
import { count, LineOutput, Progress } from '../output.js';
import { tellStderr, watchParent } from '../lifecycle.js';

interface RecordArgs {
  readonly feed: string;
  readonly url?: string;
  readonly restUrl?: string;
  readonly key?: string;
  readonly secret?: string;
  readonly stocksFeed: string;
  readonly dataset: string;
  readonly schema: string;
  readonly start?: string;
  readonly raw: boolean;
  readonly handlerThread: boolean;
  readonly symbols?: string;
  readonly out: string;
  readonly duration?: string;
  readonly rotate: string;
  readonly flush: string;
  readonly seed: string;
  readonly rate: string;
  readonly gapEvery?: string;
  readonly ring: string;
  readonly overflow: string;
  readonly maxDrops: string;
  readonly json: boolean;
}

export interface RecordSummary {
  readonly out: string;
  readonly feed: string;
  readonly symbols: readonly string[];
  readonly session: number;
  readonly start: string;
  readonly end: string;
  readonly events: number;
  readonly rowsFlushed: number;
  readonly filesFinalized: number;
  readonly ringDrops: number;
  readonly errors: number;
  /** What the start-up repair recovered from an interrupted earlier session, if anything. */
  readonly repaired: { readonly segments: number; readonly tornBytes: number } | null;
}

/** A stop request that may come before the recording has started (a signal during start-up). */
export class StopControl {
  requested = false;
  private stop: (() => void) | null = null;

  request(): void {
    this.requested = true;
    this.stop?.();
  }

  bind(stop: () => void): void {
    this.stop = stop;
    if (this.requested) stop();
  }
}

export interface RecordOptions {
  /** `demo` (default) or `kraken`. */
  readonly feed?: string;
  /** Endpoint override for a venue feed (an emulator). */
  readonly url?: string;
  /** REST base URL override (Binance depth snapshots). */
  readonly restUrl?: string;
  /** Alpaca credentials and data feed. */
  readonly key?: string;
  readonly secret?: string;
  readonly stocksFeed?: 'iex' | 'sip';
  /** Databento: dataset and schema (the key is `key`). */
  readonly dataset?: string;
  readonly schema?: string;
  /** Databento: intraday replay from this time (ns), then live. */
  readonly start?: bigint;
  /** Also store the raw frames (and REST responses) with their receive times, under `<out>/raw/`. */
  readonly raw?: boolean;
  /**
   * Run a venue's handler (socket, parsing, book sync) on a worker thread that feeds the engine
   * through a shared ring (default true; needs a LiveClock). False runs it on the main thread,
   * through the in-thread ring.
   */
  readonly handlerThread?: boolean;
  readonly out: string;
  readonly symbols: readonly string[];
  /** Stop after this much wall time; otherwise at `stop()` (SIGINT/SIGTERM in the CLI). */
  readonly durationNs?: bigint;
  readonly rotateNs: bigint;
  readonly flushMs: number;
  readonly seed: number;
  readonly packetsPerSecond: number;
  readonly gapEvery?: number;
  readonly ringCapacity: number;
  readonly overflow: OverflowPolicy;
  readonly clock?: Clock;
  /** Stops the recording cleanly when requested (signal handlers), also during start-up. */
  readonly control?: StopControl;
  readonly onProgress?: (engine: RealtimeEngine, writer: CaptureWriter, ringDrops: number) => void;
  readonly onError?: (error: MdcapError) => void;
}

/** The simulated venue (no network). */
function demoProvider(o: RecordOptions, clock: Clock): DataProvider {
  const known = DEFAULT_SIM_SYMBOLS.map((s) => s.symbol);
  const unknown = o.symbols.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    throw new MdcapError(
      'MDCAP_ERR_UNKNOWN_SYMBOL',
      `--symbols: expected symbols of the demo feed (${known.join(', ')}), found ${unknown.join(', ')}`,
    );
  }
  return new SimProvider({
    seed: o.seed,
    clock,
    packetsPerSecond: o.packetsPerSecond,
    ...(o.gapEvery === undefined ? {} : { faults: { gapEvery: o.gapEvery } }),
  });
}

/**
 * A venue feed over the network (`--url` for an emulator or a testnet): its handler on a worker
 * thread feeding a shared ring, or on this thread (then `ringProvider` adds the in-thread ring).
 */
function venueProvider(o: RecordOptions, clock: Clock, tap: { raw: RawTap | null }): WsFeed | WorkerFeed | DatabentoFeed {
  if (o.feed === 'databento') {
    if (o.key === undefined) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', '--key: expected a Databento API key (the flag, or DATABENTO_API_KEY), found none');
    }
    return new DatabentoFeed({
      key: o.key,
      dataset: o.dataset ?? 'GLBX.MDP3',
      schema: o.schema ?? 'trades',
      clock,
      ...(o.start === undefined ? {} : { start: o.start }),
      ...(o.url === undefined ? {} : { url: o.url }),
    });
  }
  const name = o.feed as VenueName;
  if (!VENUE_NAMES.includes(name)) {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `--feed: expected demo, ${VENUE_NAMES.join(', ')}, found ${String(o.feed)}`);
  }
  if (name === 'alpaca' && (o.key === undefined || o.secret === undefined)) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      '--key/--secret: expected Alpaca API credentials (flags, or APCA_API_KEY_ID and APCA_API_SECRET_KEY), found none',
    );
  }
  const options: VenueFeedOptions = {
    ...(o.url === undefined ? {} : { url: o.url }),
    ...(o.restUrl === undefined ? {} : { restUrl: o.restUrl }),
    ...(name === 'alpaca' ? { key: o.key, secret: o.secret, feed: o.stocksFeed ?? 'iex' } : {}),
  };
  if (o.handlerThread ?? true) {
    if (!(clock instanceof LiveClock)) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'handlerThread: expected a LiveClock (the handler thread shares its time)');
    }
    if (o.overflow === 'drop-oldest') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        '--overflow: expected block or drop-newest for a venue handler on its own thread (events span several ring records, which drop-oldest would tear), found drop-oldest; add --no-handler-thread to use it',
      );
    }
    return new WorkerFeed(name, { ...options, clock, capacity: o.ringCapacity, overflow: o.overflow });
  }
  return venueFeed(name, {
    ...options,
    clock,
    onFrame: (text: string, ts: bigint) => tap.raw?.frame(text, ts),
    onRest: (url: string, body: string, ts: bigint) => tap.raw?.rest(url, body, ts),
  });
}

/**
 * Records a feed: the provider on the wall clock → a ring → the RealtimeEngine, whose `onEvent`
 * stream (provider events plus connection statuses) goes to a CaptureWriter. Returns when the
 * duration is over or `stop` was called, after the last segments are finalized.
 */
export async function recordFeed(o: RecordOptions): Promise<RecordSummary & { manifest: Manifest }> {
  const clock = o.clock ?? new LiveClock();
  const tap = { raw: null as RawTap | null };
  const inner = o.feed === undefined || o.feed === 'demo' ? demoProvider(o, clock) : venueProvider(o, clock, tap);
  // A handler thread brings its own (shared) ring.
  const provider = inner instanceof WorkerFeed ? inner : ringProvider(inner, { capacity: o.ringCapacity, overflow: o.overflow });
  let errors = 0;
  let fatal = null as MdcapError | null;
  const engine = new RealtimeEngine(provider, { books: false });
  const writer = await CaptureWriter.open(o.out, {
    feed: inner.venue,
    symbols: o.symbols,
    instruments: [...(inner.instruments?.() ?? [])].filter((i) => o.symbols.includes(i.symbol)),
    clock,
    flushMs: o.flushMs,
    rotateNs: o.rotateNs,
    // The first write failure (disk full…) stops the recording at once; close() then says what
    // happened, what was kept and what to run (reported once, by the caller).
    onError: (error) => {
      errors++;
      fatal ??= error;
      void engine.stop();
    },
  });
  engine.onEvent((e) => void writer.write(e));
  if (o.raw === true && inner instanceof WsFeed) {
    tap.raw = new RawTap(o.out, `${inner.venue}.session-${writer.sessionId}.log`, inner.endpoint, clock.now());
  }
  if (o.raw === true && inner instanceof WorkerFeed) inner.tapRaw(o.out, `${inner.venue}.session-${writer.sessionId}.log`, o.flushMs);
  // The raw tap is written with the same cadence as the capture (at most the flush window lost).
  let rawTimer: number | null = null;
  const flushRaw = (): void => {
    tap.raw?.flush();
    rawTimer = tap.raw === null ? null : clock.setTimer(clock.now() + BigInt(o.flushMs) * 1_000_000n, flushRaw);
  };
  flushRaw();
  engine.onError((error) => {
    errors++;
    o.onError?.(error);
    // The writer failed (disk full, permissions): stop; what was flushed stays readable.
    if (error.code === 'MDCAP_ERR_CALLBACK' && fatal === null) {
      fatal = error.cause instanceof MdcapError ? error.cause : error;
      void engine.stop();
    }
  });
  // Stop: first deliver what the ring still holds (received before the stop), then stop. On a
  // turn of its own: the timer may fire inside the dispatch of an event (the engine runs due
  // timers first), and the ring delivers strictly in order.
  const stop = (): void => {
    void nextTurn().then(() => {
      if (engine.status === 'running') provider.poll?.(2n ** 63n - 1n);
      return engine.stop();
    });
  };
  const start = clock.now();
  const durationTimer = o.durationNs === undefined ? null : clock.setTimer(start + o.durationNs, stop);
  let ticker: number | null = null;
  if (o.onProgress !== undefined) {
    const tick = (): void => {
      o.onProgress!(engine, writer, provider.ringStats().drops);
      ticker = clock.setTimer(clock.now() + 200_000_000n, tick);
    };
    tick();
  }
  try {
    await engine.start(o.symbols);
  } catch (error) {
    // Nothing may keep the process alive after a failed start (an unreachable venue).
    if (ticker !== null) clock.clearTimer(ticker);
    if (durationTimer !== null) clock.clearTimer(durationTimer);
    if (rawTimer !== null) clock.clearTimer(rawTimer);
    tap.raw?.close();
    // Nothing was recorded: the session goes (a capture this run created is removed again), so
    // that no empty session looks like a clean recording.
    await writer.abort();
    throw error;
  }
  o.control?.bind(stop);
  await engine.done();
  // Stopped early (a signal, a write failure): no timer may keep the process alive.
  if (durationTimer !== null) clock.clearTimer(durationTimer);
  if (ticker !== null) clock.clearTimer(ticker);
  if (rawTimer !== null) clock.clearTimer(rawTimer);
  tap.raw?.close();
  const end = engine.stats().finishedAt ?? clock.now();
  // Scales a venue announces with its data (Kraken) are known by now.
  writer.noteInstruments([...(inner.instruments?.() ?? [])].filter((i) => o.symbols.includes(i.symbol)));
  const manifest = await writer.close(end);
  if (fatal !== null) throw fatal;
  const w = writer.stats();
  const session = manifest.sessions[manifest.sessions.length - 1]!;
  return {
    out: o.out,
    feed: inner.venue,
    symbols: o.symbols,
    session: session.id,
    start: start.toString(),
    end: end.toString(),
    events: w.events,
    rowsFlushed: w.rowsFlushed,
    filesFinalized: w.filesFinalized,
    ringDrops: provider.ringStats().drops,
    errors,
    repaired: writer.repaired.segments === 0 ? null : { segments: writer.repaired.segments, tornBytes: writer.repaired.tornBytes },
    manifest,
  };
}

/** Alpaca credentials from the flags, else the environment variables Alpaca's own tools use. */
function credentials(a: RecordArgs): { key?: string; secret?: string } {
  const key = a.key ?? process.env[a.feed === 'databento' ? 'DATABENTO_API_KEY' : 'APCA_API_KEY_ID'];
  const secret = a.secret ?? process.env['APCA_API_SECRET_KEY'];
  return { ...(key === undefined ? {} : { key }), ...(secret === undefined ? {} : { secret }) };
}

export const recordCommand: Command<RecordArgs> = {
  command: 'record',
  describe: 'Record a live feed into a capture directory (Arrow segments finalized to Parquet)',
  builder: (y: Argv) =>
    y
      .option('feed', {
        type: 'string',
        default: 'demo',
        choices: ['demo', 'kraken', 'binance', 'coinbase', 'alpaca', 'databento'],
        describe:
          'The feed: demo (the simulated venue; no network), kraken (spot WebSocket v1: books with CRC32 checks, trades, tickers), binance (spot: depth diffs synced to REST snapshots, bookTicker, aggTrade), coinbase (level2, matches, ticker), alpaca (US stocks: trades, quotes, minute bars)',
      })
      .option('url', { type: 'string', describe: 'Venue endpoint override: an emulator (mdcap emulate) or a testnet' })
      .option('rest-url', { type: 'string', describe: 'REST base URL override (binance: depth snapshots)' })
      .option('key', {
        type: 'string',
        describe: 'alpaca: API key id (default: $APCA_API_KEY_ID); databento: API key (default: $DATABENTO_API_KEY)',
      })
      .option('secret', { type: 'string', describe: 'alpaca: API secret (default: $APCA_API_SECRET_KEY)' })
      .option('raw', {
        type: 'boolean',
        default: false,
        describe: 'Also store the raw frames with their receive times in DIR/raw/ (replay them with mdcap emulate --frames)',
      })
      .option('handler-thread', {
        type: 'boolean',
        default: true,
        describe:
          'Run the venue handler (socket, parsing, book sync) on its own thread, feeding the recorder through a shared ring; --no-handler-thread runs it on the main thread',
      })
      .option('dataset', { type: 'string', default: 'GLBX.MDP3', describe: 'databento: the dataset (GLBX.MDP3, XNAS.ITCH, …)' })
      .option('schema', {
        type: 'string',
        default: 'trades',
        describe: 'databento: the schema to subscribe (trades, mbo, mbp-1, tbbo, bbo-1s, ohlcv-1m, status, definition)',
      })
      .option('start', {
        type: 'string',
        describe: 'databento: replay the day from this time (ISO 8601, e.g. 2024-07-01T13:30:00Z), then go live',
      })
      .option('stocks-feed', {
        type: 'string',
        default: 'iex',
        choices: ['iex', 'sip'],
        describe: 'alpaca: iex (free) or sip (consolidated)',
      })
      .option('symbols', {
        type: 'string',
        describe: 'Comma-separated symbols (demo: default all; a venue: required, as the venue names them)',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'Capture directory: new, empty, or a capture to add a session to' })
      .option('duration', { type: 'string', describe: 'Stop after 500ms, 30s, 5m, 1h (default: at Ctrl-C / SIGTERM, then finalize)' })
      .option('rotate', { type: 'string', default: '1m', describe: 'Start new segments (and finalize the old ones to Parquet) every ...' })
      .option('flush', {
        type: 'string',
        default: '1s',
        describe: 'Write buffered events to disk at least every ... (the most a crash can lose)',
      })
      .option('seed', { type: 'string', default: '1', describe: 'demo: market seed' })
      .option('rate', { type: 'string', default: '1000', describe: 'demo: venue packets per second' })
      .option('gap-every', { type: 'string', describe: 'demo: lose every N-th packet of a symbol (a gap status, then a resync)' })
      .option('ring', { type: 'string', default: '65536', describe: 'Ring slots between the feed and the recorder (a power of two)' })
      .option('overflow', {
        type: 'string',
        default: 'block',
        choices: ['block', 'drop-newest', 'drop-oldest'],
        describe: 'When the ring is full: block (lose nothing) or drop (counted, and recorded as a gap)',
      })
      .option('max-drops', {
        type: 'string',
        default: '1%',
        describe:
          'With a dropping --overflow: exit 1 when more than this share of the events was dropped (each drop is recorded as a gap either way)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the final summary as one JSON object' })
      .example('mdcap record --feed demo --symbols AAPL,MSFT --out cap --duration 30s', '30 seconds of the simulated venue')
      .example('mdcap record --out cap', 'record until Ctrl-C, then finalize cleanly')
      .example('mdcap record --feed kraken --symbols XBT/USD,ETH/USD --out cap', 'Kraken books, trades and tickers until Ctrl-C')
      .example('mdcap record --feed kraken --url ws://127.0.0.1:9000 --symbols XMR/USD --out cap', 'from a local emulator (mdcap emulate)')
      .example(
        'mdcap record --feed binance --symbols BTCUSDT,ETHUSDT --out cap --duration 1h',
        'Binance books, best bid/ask and trades for an hour',
      )
      .example('mdcap record --out cap --duration 5m --rotate 1m --flush 200ms', 'Parquet files per minute; a crash loses at most 200 ms'),
  async run(a) {
    if (a.raw && a.feed === 'databento') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        '--raw: expected a WebSocket venue feed (kraken, binance, coinbase, alpaca), found --feed databento, whose records are kept whole in the capture',
      );
    }
    if (a.raw && a.feed === 'demo') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        '--raw: expected a venue feed (kraken, binance, coinbase, alpaca), found --feed demo, which has no wire frames',
      );
    }
    if (a.symbols === undefined && a.feed !== 'demo') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `--symbols: expected the ${a.feed} symbols to record (e.g. XBT/USD,ETH/USD), found none`,
      );
    }
    if (a.url !== undefined) {
      if (a.feed === 'demo')
        throw badOption('--url', 'a venue feed (kraken, binance, …): demo has no endpoint', `--feed demo --url ${a.url}`);
      if (a.feed === 'databento') parseUrlOption('--url', a.url, ['tcp'], 'tcp://127.0.0.1:13000');
      else parseUrlOption('--url', a.url, ['ws', 'wss'], 'ws://127.0.0.1:9000');
    }
    if (a.restUrl !== undefined) parseUrlOption('--rest-url', a.restUrl, ['http', 'https'], 'http://127.0.0.1:9001');
    const symbols = a.symbols === undefined ? DEFAULT_SIM_SYMBOLS.map((s) => s.symbol) : parseList('--symbols', a.symbols);
    const maxDrops = parsePercent('--max-drops', a.maxDrops);
    const flushNs = parseDurationOption('--flush', a.flush);
    if (flushNs < 1_000_000n) throw badOption('--flush', 'at least 1ms', a.flush);
    const rotateNs = parseDurationOption('--rotate', a.rotate);
    if (rotateNs < flushNs) throw badOption('--rotate', `at least the flush interval (--flush ${a.flush})`, a.rotate);
    const progress = new Progress();
    const t0 = performance.now();
    // Signals are handled from the start: one during start-up stops as soon as recording runs.
    const control = new StopControl();
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const s of signals) {
      const h = (): void => {
        if (control.requested) {
          warn(
            'record',
            'interrupted again while finalizing: exiting now (mdcap verify --repair or the next record recovers what was flushed)',
          );
          process.exit(130);
        }
        progress.done();
        if (process.stderr.isTTY === true) process.stderr.write('stopping: finalizing the open segments…\n');
        control.request();
      };
      handlers.set(s, h);
      process.on(s, h);
    }
    // Started through a wrapper that was killed (`pnpm mdcap record`, a script): finalize and exit
    // rather than record forever, holding the lock.
    const unwatch = watchParent((parent) => {
      tellStderr(`mdcap record: the parent process ${parent} is gone: stopping and finalizing, as for SIGTERM`);
      control.request();
    });
    const summary = await recordFeed({
      feed: a.feed,
      ...(a.url === undefined ? {} : { url: a.url }),
      ...(a.restUrl === undefined ? {} : { restUrl: a.restUrl }),
      ...credentials(a),
      dataset: a.dataset,
      schema: a.schema,
      ...(a.start === undefined ? {} : { start: isoStart(a.start) }),
      stocksFeed: a.stocksFeed === 'sip' ? 'sip' : 'iex',
      raw: a.raw,
      handlerThread: a.handlerThread,
      out: a.out,
      symbols,
      ...(a.duration === undefined ? {} : { durationNs: parseDurationOption('--duration', a.duration) }),
      rotateNs,
      flushMs: Number(flushNs / 1_000_000n),
      seed: parseIntOption('--seed', a.seed, 0, 2 ** 32 - 1),
      packetsPerSecond: parseIntOption('--rate', a.rate, 1, 1_000_000),
      ...(a.gapEvery === undefined ? {} : { gapEvery: parseIntOption('--gap-every', a.gapEvery, 1, 2 ** 31) }),
      ringCapacity: parseIntOption('--ring', a.ring, 2, 2 ** 24),
      overflow: a.overflow as OverflowPolicy,
      control,
      onProgress: (engine, writer, drops) =>
        progress.update(() => {
          const w = writer.stats();
          const secs = (performance.now() - t0) / 1000;
          return `recording ${a.feed} → ${a.out}: ${count(w.events)} events (${count(Math.round(w.events / Math.max(secs, 0.001)))}/s) · ${count(w.rowsFlushed)} rows written · ${w.filesFinalized} Parquet files · ${count(drops)} drops · ${count(engine.stats().events.status)} statuses · ${secs.toFixed(0)} s`;
        }),
      onError: (e) => warn('record', e.toString()),
    });
    unwatch();
    for (const [s, h] of handlers) process.off(s, h);
    progress.done();
    const out = new LineOutput();
    if (a.json) {
      const { manifest: _m, ...rest } = summary;
      out.line(JSON.stringify(rest));
    } else {
      const secs = Number(BigInt(summary.end) - BigInt(summary.start)) / 1e9;
      out.line(
        `recorded ${summary.feed} ${summary.symbols.join(',')} into ${summary.out} (session ${summary.session}): ${count(summary.events)} events in ${secs.toFixed(1)} s, ` +
          `${summary.filesFinalized} Parquet files, ${summary.ringDrops} ring drops, until ${nsToIso(BigInt(summary.end))}`,
      );
      if (summary.repaired !== null) {
        out.line(
          `recovered an interrupted earlier session first: ${summary.repaired.segments} segment(s) finalized, ${summary.repaired.tornBytes} torn bytes cut`,
        );
      }
      out.line(
        `next: mdcap replay ${summary.out} --bars 60   ·   mdcap verify ${summary.out}   ·   mdcap query ${summary.out} "SELECT count(*) FROM trades"`,
      );
    }
    await out.end();
    // Drops are recorded as gaps, but a recording that lost much of its data must not look fine.
    const offered = summary.events + summary.ringDrops;
    const dropped = offered === 0 ? 0 : (summary.ringDrops * 100) / offered;
    if (summary.ringDrops > 0) {
      warn(
        'record',
        `${count(summary.ringDrops)} of ${count(offered)} events (${dropped.toFixed(dropped < 1 ? 3 : 1)}%) were dropped by the ring (--overflow ${a.overflow}); the drops are recorded as gap statuses. ` +
          `A larger --ring, or --overflow block, loses none${dropped > maxDrops ? ` (more than --max-drops ${a.maxDrops}: exit 1)` : ''}`,
      );
    }
    return summary.errors > 0 || dropped > maxDrops ? EXIT.problems : EXIT.ok;
  },
};

/** `1%`, `0.5`, `25%`: a share in percent, 0–100. */
function parsePercent(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const v = m === null ? NaN : Number(m[1]);
  if (!(v >= 0 && v <= 100)) throw badOption(flag, 'a share from 0% to 100%, such as 1% or 0.5', text);
  return v;
}

/** `--start` as ns since the epoch. */
function isoStart(text: string): bigint {
  try {
    return isoToNs(text);
  } catch {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `--start: expected an ISO 8601 time such as 2024-07-01T13:30:00Z, found "${text}"`);
  }
}
