import { CaptureWriter } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { MdcapError, nextTurn } from '@mdcap/core';
import type { DataProvider, Instrument, SequenceRule } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import type { EngineOptions } from '@mdcap/engine';
import { ringProvider } from '@mdcap/ring';
import { openFeeds } from './feed-manager.js';
import type { FeedManager, FeedReconnects, FeedState } from './feed-manager.js';
import { openFeed } from './feeds.js';
import type { FeedSpec, OpenedFeed } from './feeds.js';

export interface RecordOptions {
  /**
   * What to record: a feed of the registry (`{ feed: 'kraken', symbols: […] }`), a feed already
   * opened with `openFeed`, or any `DataProvider` (put behind an in-thread ring; its `venue`,
   * `sequencing` and `instruments()` describe it). Give `feed` or `feeds`.
   */
  readonly feed?: FeedSpec | OpenedFeed | DataProvider;
  /**
   * Several feeds into one engine and one capture (see `openFeeds`): specs, or a set already
   * opened. Each event keeps its venue; each feed reconnects on its own (on `engine.reconnect`);
   * the capture's feed name is the set's (`kraken+coinbase+demo`), with each venue's sequencing rule.
   * A feed given up on counts in `errors` and goes to `onError` (a set opened beforehand reports to
   * its own `OpenFeedsOptions.onError` instead).
   */
  readonly feeds?: readonly FeedSpec[] | FeedManager;
  /** Symbols, when `feed` is not a FeedSpec (which names its own; so do `feeds`). */
  readonly symbols?: readonly string[];
  /** The capture directory: new, empty, or a capture of the same feed to add a session to. */
  readonly out: string;
  /** Stops the recording cleanly when aborted (a signal handler, a test that has what it needs): what the ring holds is written first. */
  readonly signal?: AbortSignal;
  /** Stop after this much time of the feed's clock. */
  readonly durationNs?: bigint;
  /** Rotate segments (finalize them to Parquet) every … (default 60 s). */
  readonly rotateNs?: bigint;
  /** Flush to disk at least every … ms (default 1000): the most a crash can lose. */
  readonly flushMs?: number;
  /** Also store the raw frames with their receive times in `<out>/raw/` (venue feeds). */
  readonly raw?: boolean;
  /** Options of the recording's engine (default: no books, the engine's defaults otherwise). */
  readonly engine?: EngineOptions;
  /**
   * Called with the engine before it starts (a promise it returns is awaited): add your own callbacks (a strategy
   * that runs while recording, a sink). `source` names what is recorded and each venue's
   * sequencing rule. If it throws, nothing is recorded and `record` throws that.
   */
  readonly onStart?: (engine: RealtimeEngine, source: RecordSource) => unknown;
  /** Called about five times a second. */
  readonly onProgress?: (progress: RecordProgress) => void;
  /** Errors reported while recording (the engine's `onError`); the recording goes on. */
  readonly onError?: (error: MdcapError) => void;
}

/** What a recording records, as `onStart` is told. */
export interface RecordSource {
  /** The capture's feed name: the venue, or the set's name (`kraken+coinbase`). */
  readonly venue: string;
  readonly symbols: readonly string[];
  /** Each venue's sequencing rule. */
  readonly sequencing: Readonly<Record<string, SequenceRule>>;
}

export interface RecordProgress {
  /** Time recorded so far on the feed's clock (what `durationNs` counts). */
  readonly elapsedNs: bigint;
  readonly events: number;
  readonly rowsFlushed: number;
  readonly filesFinalized: number;
  readonly ringDrops: number;
  readonly statuses: number;
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
  /** With `feeds`: each feed, its venue and symbols, where it stood at the end, and its reconnects. */
  readonly feeds?: readonly RecordedFeed[];
  /** The feed's own counters at the end, where it keeps some (kept in the session's manifest entry too); null if none. */
  readonly feedCounters: Readonly<Record<string, number>> | null;
}

export interface RecordedFeed {
  readonly name: string;
  readonly venue: string;
  readonly symbols: readonly string[];
  /** `ended` or `gave-up` if it stopped before the recording did, else `idle`. */
  readonly state: FeedState;
  readonly reconnects: FeedReconnects;
}

interface Source {
  /** The capture's feed name: the venue, or the set's name (`kraken+coinbase`). */
  readonly venue: string;
  /** For messages: the feed's name, or the feeds' names. */
  readonly name: string;
  readonly symbols: readonly string[];
  readonly provider: DataProvider & { ringStats(): { readonly drops: number } };
  readonly sequencing: Record<string, SequenceRule>;
  readonly instruments: () => Iterable<Instrument>;
  readonly hasRawFrames: boolean;
  /** Taps the raw frames into `<out>/raw/<venue>.session-N.log` (one file per venue). */
  tapRaw(dir: string, session: number, flushMs: number): void;
  flushRaw(): void;
  close(): Promise<void>;
  readonly manager: FeedManager | null;
}

/**
 * A feed's own counters (its `stats`, a method or a property: CME's packets, duplicates, corrupt
 * and lost packets; a venue handler's frames and malformed frames), flattened to numbers
 * (`packets.A`); null if it keeps none.
 */
export function feedCounters(provider: DataProvider): Record<string, number> | null {
  // A feed on this thread sits behind an in-thread ring: its counters are its own.
  const inner = (provider as { inner?: unknown }).inner;
  if (typeof inner === 'object' && inner !== null && !('stats' in provider)) return feedCounters(inner as DataProvider);
  const s = (provider as { stats?: unknown }).stats;
  const value: unknown = typeof s === 'function' ? (s as () => unknown).call(provider) : s;
  if (typeof value !== 'object' || value === null) return null;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'number') out[k] = v;
    else if (typeof v === 'object' && v !== null) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) if (typeof v2 === 'number') out[`${k}.${k2}`] = v2;
    }
  }
  return Object.keys(out).length === 0 ? null : out;
}

function isSpec(f: NonNullable<RecordOptions['feed']>): f is FeedSpec {
  return typeof (f as FeedSpec).feed === 'string' && !('connect' in f);
}

function isOpened(f: NonNullable<RecordOptions['feed']>): f is OpenedFeed {
  return 'provider' in f && 'tapRaw' in f;
}

function hasRing(p: DataProvider): p is DataProvider & { ringStats(): { readonly drops: number } } {
  return typeof (p as { ringStats?: unknown }).ringStats === 'function';
}

function fromOpened(f: OpenedFeed, symbols: readonly string[]): Source {
  return {
    venue: f.venue,
    name: f.name,
    symbols,
    provider: f.provider,
    sequencing: { [f.venue]: f.sequencing },
    instruments: () => f.instruments(),
    hasRawFrames: f.hasRawFrames,
    tapRaw: (dir, session, flushMs) => f.tapRaw(dir, `${f.venue}.session-${session}.log`, flushMs),
    flushRaw: () => f.flushRaw(),
    close: () => f.close(),
    manager: null,
  };
}

function fromManager(m: FeedManager): Source {
  return {
    venue: m.venue,
    name: m.feeds.map((f) => f.name).join(', '),
    symbols: m.symbols,
    provider: m.provider,
    sequencing: { ...m.sequencing },
    instruments: () => m.instruments(),
    hasRawFrames: m.hasRawFrames,
    tapRaw: (dir, session, flushMs) => m.tapRaw(dir, (venue) => `${venue}.session-${session}.log`, flushMs),
    flushRaw: () => m.flushRaw(),
    close: () => m.close(),
    manager: m,
  };
}

function sourceOf(o: RecordOptions, onFeedError: (error: MdcapError) => void): Source {
  const f = o.feed;
  if ((f === undefined) === (o.feeds === undefined)) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `record: expected either feed or feeds, found ${f === undefined ? 'neither' : 'both'}`,
    );
  }
  if (o.feeds !== undefined) {
    if (!Array.isArray(o.feeds)) return fromManager(o.feeds as FeedManager);
    return fromManager(
      openFeeds(o.feeds as readonly FeedSpec[], {
        ...(o.engine?.reconnect === undefined ? {} : { reconnect: o.engine.reconnect }),
        onError: onFeedError,
      }),
    );
  }
  if (isSpec(f!)) return fromOpened(openFeed(f), f.symbols);
  if (o.symbols === undefined) throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'record: expected the symbols to record, found none');
  if (isOpened(f!)) return fromOpened(f, o.symbols);
  const p = f!;
  // A provider with a ring of its own (a handler thread's) needs no second one.
  const provider = hasRing(p) ? p : ringProvider(p);
  return {
    venue: p.venue,
    name: p.venue,
    symbols: o.symbols,
    provider,
    sequencing: p.venueSequencing === undefined ? { [p.venue]: p.sequencing ?? 'contiguous' } : { ...p.venueSequencing },
    instruments: () => p.instruments?.() ?? [],
    hasRawFrames: false,
    tapRaw: () => undefined,
    flushRaw: () => undefined,
    close: () => Promise.resolve(),
    manager: null,
  };
}

/**
 * Records a feed: the feed on its clock → a ring → a RealtimeEngine (no books), whose `onEvent`
 * stream (the feed's events plus the engine's connection statuses) goes to a CaptureWriter.
 * Returns when the data ends, `durationNs` is over or `signal` is aborted, after the last
 * segments are finalized. The capture keeps the feed's sequencing rule for `verify`.
 * @throws {MdcapError} `MDCAP_ERR_CONNECT_FAILED` when the feed cannot start (nothing is left
 *   behind: a capture this call created is removed), `MDCAP_ERR_IO` when writing fails (the
 *   recording stops there; the message says what was kept and what to run), and the capture's
 *   own errors (`MDCAP_ERR_CAPTURE_LOCKED`…).
 */
export async function record(o: RecordOptions): Promise<RecordSummary & { manifest: Manifest }> {
  let errors = 0;
  const src = sourceOf(o, (error) => {
    errors++;
    o.onError?.(error);
  });
  const { provider } = src;
  const clock = provider.clock;
  const symbols = src.symbols;
  const flushMs = o.flushMs ?? 1000;
  let fatal = null as MdcapError | null;
  let engine: RealtimeEngine;
  try {
    engine = new RealtimeEngine(provider, { books: false, ...o.engine });
  } catch (error) {
    await src.close();
    throw error;
  }
  const known = (): Instrument[] => [...src.instruments()].filter((i) => symbols.includes(i.symbol));
  if (o.raw === true && !src.hasRawFrames) {
    await src.close();
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `raw: expected a venue feed with wire frames, found ${src.name}, which has none`);
  }
  let writer: CaptureWriter;
  try {
    writer = await openWriter();
  } catch (error) {
    await src.close();
    throw error;
  }
  async function openWriter(): Promise<CaptureWriter> {
    return CaptureWriter.open(o.out, {
      feed: src.venue,
      symbols,
      instruments: known(),
      sequencing: src.sequencing,
      clock,
      flushMs,
      ...(o.rotateNs === undefined ? {} : { rotateNs: o.rotateNs }),
      // The first write failure (disk full…) stops the recording at once; close() then says what
      // happened, what was kept and what to run.
      onError: (error) => {
        errors++;
        fatal ??= error;
        void engine.stop();
      },
    });
  }
  engine.onEvent((e) => void writer.write(e));
  if (o.raw === true) src.tapRaw(o.out, writer.sessionId, flushMs);
  // The raw tap is written with the same cadence as the capture (at most the flush window lost).
  const timers: { raw: number | null; ticker: number | null; duration: number | null } = { raw: null, ticker: null, duration: null };
  const flushRaw = (): void => {
    src.flushRaw();
    timers.raw = clock.setTimer(clock.now() + BigInt(flushMs) * 1_000_000n, flushRaw);
  };
  if (o.raw === true) flushRaw();
  engine.onError((error) => {
    errors++;
    o.onError?.(error);
  });
  try {
    await Promise.resolve(o.onStart?.(engine, { venue: src.venue, symbols, sequencing: src.sequencing }));
  } catch (error) {
    // Nothing was recorded yet: as a failed start.
    if (timers.raw !== null) clock.clearTimer(timers.raw);
    await src.close();
    await writer.abort();
    throw error;
  }
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
  if (o.durationNs !== undefined) timers.duration = clock.setTimer(start + o.durationNs, stop);
  if (o.onProgress !== undefined) {
    const tick = (): void => {
      const w = writer.stats();
      o.onProgress!({
        elapsedNs: clock.now() - start,
        events: w.events,
        rowsFlushed: w.rowsFlushed,
        filesFinalized: w.filesFinalized,
        ringDrops: provider.ringStats().drops,
        statuses: engine.stats().events.status,
      });
      timers.ticker = clock.setTimer(clock.now() + 200_000_000n, tick);
    };
    tick();
  }
  const clearTimers = (): void => {
    for (const t of [timers.raw, timers.ticker, timers.duration]) if (t !== null) clock.clearTimer(t);
  };
  try {
    await engine.start(symbols);
  } catch (error) {
    // Nothing may keep the process alive after a failed start (an unreachable venue), and
    // nothing was recorded: the session goes (a capture this call created is removed again),
    // so that no empty session looks like a clean recording.
    clearTimers();
    await src.close();
    await writer.abort();
    throw error;
  }
  if (o.signal?.aborted === true) stop();
  else o.signal?.addEventListener('abort', stop, { once: true });
  await engine.done();
  o.signal?.removeEventListener('abort', stop);
  clearTimers(); // stopped early (a signal, a write failure): no timer may keep the process alive
  src.flushRaw();
  await src.close();
  const end = engine.stats().finishedAt ?? clock.now();
  // Scales a venue announces with its data (Kraken) are known by now.
  writer.noteInstruments(known());
  const counters = feedCounters(provider);
  if (counters !== null) writer.noteFeedCounters(counters);
  const manifest = await writer.close(end);
  if (fatal !== null) throw fatal;
  const w = writer.stats();
  const session = manifest.sessions[manifest.sessions.length - 1]!;
  return {
    out: o.out,
    feed: src.venue,
    symbols,
    session: session.id,
    start: start.toString(),
    end: end.toString(),
    events: w.events,
    rowsFlushed: w.rowsFlushed,
    filesFinalized: w.filesFinalized,
    ringDrops: provider.ringStats().drops,
    errors,
    repaired: writer.repaired.segments === 0 ? null : { segments: writer.repaired.segments, tornBytes: writer.repaired.tornBytes },
    feedCounters: counters,
    ...(src.manager === null
      ? {}
      : {
          feeds: src.manager.feeds.map((f) => ({
            name: f.name,
            venue: f.venue,
            symbols: f.symbols,
            state: f.state,
            reconnects: f.reconnects,
          })),
        }),
    manifest,
  };
}
