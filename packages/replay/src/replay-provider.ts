import { CaptureReader, CaptureSet, instrumentFromJson } from '@mdcap/capture';
import type { CaptureKind, CaptureSource, DecodedBatch, ReadFilter } from '@mdcap/capture';
import {
  ALL_SYMBOLS,
  ConfigError,
  createStatus,
  describeValue,
  LiveClock,
  MdcapError,
  nextTurn,
  nsToIso,
  PauseGate,
  SUBSCRIPTION_KINDS,
  TradeBatchView,
  VirtualClock,
} from '@mdcap/core';
import type { Clock, DataProvider, EventSink, Instrument, MarketEvent, SubscriptionKind } from '@mdcap/core';
import { GroupMerger } from './merge.js';

/** `max`, or a positive multiple of real time. */
export type ReplaySpeed = number | 'max';

export interface ReplayOptions {
  /** Default `max`: as fast as the engine takes events. */
  readonly speed?: ReplaySpeed;
  /** Only events with tsRecv at or after this (ns). */
  readonly from?: bigint;
  /** Only events with tsRecv before this (ns). */
  readonly to?: bigint;
  /** The virtual clock to run (default: a new one at the start of the data). */
  readonly clock?: VirtualClock;
  /** Wall clock for pacing (default a LiveClock). */
  readonly wallClock?: Clock;
  /** Rows per decoded batch (default 65,536). */
  readonly batchSize?: number;
  /** Check each Parquet file's sha256 before decoding it (default true; see ReadFilter). */
  readonly verifyHashes?: boolean;
  /** Files (absolute paths) to leave out: `mdcap verify` skips those whose hash is wrong. */
  readonly skipFiles?: ReadonlySet<string>;
  /** Skip segment chunks that fail their CRC-32 instead of failing (`mdcap verify` counts them itself). */
  readonly skipDamaged?: boolean;
  /**
   * Decode Parquet files on a worker thread, a record batch ahead of dispatch: the engine's
   * thread only parses the handed-over Arrow bytes and dispatches. False decodes on this thread
   * (one thread in all). Default: true when the capture's Parquet files hold at least
   * {@link DECODE_AHEAD_MIN_ROWS} rows, or when `verifyHashes` is false (a damaged file that
   * makes the wasm decoder panic ends a decode thread with a clear error, but on this thread
   * the panic escapes as an uncaught exception). A smaller capture decodes in a fraction of a
   * second, less than a decode thread takes to start, and the thread's own decoder would cost
   * 40-70 MiB of peak memory.
   */
  readonly decodeAhead?: boolean;
}

/** Rows of Parquet from which a replay decodes ahead on a worker thread by default ({@link ReplayOptions.decodeAhead}). */
export const DECODE_AHEAD_MIN_ROWS = 1_000_000;

export interface ReplayStats {
  /** Events delivered, `marks` included. */
  readonly events: number;
  /** `gap` statuses the replay added itself (between recording sessions, at a seek): not rows of the capture. */
  readonly marks: number;
  /** Pacing error (dispatch time − intended time), ns, over paced events. */
  readonly pacing: { readonly samples: number; readonly p50: number; readonly p99: number; readonly max: number };
}

/** Parses `10x`, `0.5x`, `2`, `max`. */
export function parseSpeed(text: string | number): ReplaySpeed {
  if (text === 'max') return 'max';
  const m = typeof text === 'number' ? [String(text), String(text)] : /^(\d+(?:\.\d+)?)x?$/.exec(text.trim());
  const v = m === null ? NaN : Number(m[1]);
  if (!Number.isFinite(v) || v <= 0) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `speed: expected max or a positive multiple such as 1x, 10x or 0.5x, found ${describeValue(text)}`,
    );
  }
  return v;
}

function isRootList(x: readonly string[] | CaptureSource): x is readonly string[] {
  return Array.isArray(x);
}

/** Rows dispatched between turns of the event loop. */
const RUN = 4096;

/** The event type of each capture kind (subscriptions are by event type). */
const TYPE_OF_KIND: Readonly<Record<CaptureKind, string>> = {
  trades: 'trade',
  quotes: 'quote',
  book_updates: 'book',
  order_updates: 'order',
  status: 'status',
  bars: 'bar',
};
/** True if every symbol of a batch is subscribed. */
function allAccepted(mask: Uint8Array): boolean {
  for (let k = 0; k < mask.length; k++) if (mask[k] === 0) return false;
  return true;
}

/** Sleep on a host timer until this close to the target, then step in event-loop turns. */
const SPIN_NS = 3_000_000n;

/**
 * Replays a capture through the {@link DataProvider} contract, so `new RealtimeEngine(replay)`
 * runs a strategy unchanged. Events come in replay order (docs/capture.md): within a capture the
 * order the recorder received them (`recv_seq`), which follows `tsRecv`. The virtual clock
 * follows the events; at `max` speed it runs as fast as the engine takes them, otherwise each
 * event and each clock timer (bar closes) is dispatched at its paced wall time. Recorded
 * statuses (gaps, disconnects, checksum results) are replayed as events. At the end the clock
 * moves to the recording's end time, so bars close as they did live.
 */
export class ReplayProvider implements DataProvider {
  readonly venue: string;
  readonly clock: VirtualClock;
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS;
  readonly validatesEvents = true;
  /** What the replay reads: the capture on disk, or its columns in memory. */
  readonly reader: CaptureSource;
  private readonly wall: Clock;
  private speed: ReplaySpeed;
  private readonly from: bigint | undefined;
  private readonly to: bigint | undefined;
  private readonly batchSize: number;
  private readonly verifyHashes: boolean;
  private readonly skipFiles: ReadonlySet<string>;
  private readonly skipDamaged: boolean;
  private readonly decodeAhead: boolean;
  /** Whether Parquet is decoded ahead on a worker thread ({@link ReplayOptions.decodeAhead}, its default decided). */
  get decodesAhead(): boolean {
    return this.decodeAhead;
  }
  private readonly gate = new PauseGate();
  private sink: EventSink | null = null;
  private connection = 0;
  private readonly subscribed = new Map<string, ReadonlySet<string>>();
  /** The connection whose pump is running, if any. */
  private pumpingFor: number | null = null;
  private waitTimer: number | null = null;
  private wakeWait: (() => void) | null = null;
  private pausedAt: bigint | null = null;
  private seekTo: bigint | null = null;
  /** Pacing anchor: virtual time v0 at wall time w0. */
  private v0 = 0n;
  private w0 = 0n;
  private paced = false;
  private events = 0;
  private marks = 0;
  private readonly pacingErrors: number[] = [];
  private readonly tradeView = new TradeBatchView();

  private constructor(reader: CaptureSource, options: ReplayOptions) {
    this.reader = reader;
    const m = reader.manifest;
    this.venue = m.feed;
    this.speed = options.speed ?? 'max';
    if (this.speed !== 'max') parseSpeed(this.speed);
    this.from = options.from;
    this.to = options.to;
    if (this.from !== undefined && this.to !== undefined && this.from >= this.to) {
      throw new MdcapError(
        'MDCAP_ERR_REPLAY_RANGE',
        `replay: expected from before to, found from ${nsToIso(this.from)} and to ${nsToIso(this.to)}`,
      );
    }
    const part = reader.loaded;
    if (part !== undefined) {
      // Columns loaded for part of the capture: a replay asking for more would miss data silently.
      const before = part.from !== null && (this.from === undefined || this.from < part.from);
      const after = part.to !== null && (this.to === undefined || this.to > part.to);
      if (before || after) {
        const range = (a: bigint | null | undefined, b: bigint | null | undefined): string =>
          `${a === null || a === undefined ? 'the start' : nsToIso(a)} to ${b === null || b === undefined ? 'the end' : nsToIso(b)}`;
        throw new MdcapError(
          'MDCAP_ERR_REPLAY_RANGE',
          `replay: expected a range within the columns loaded (${range(part.from, part.to)}), found ${range(this.from, this.to)} (load them for the range replayed)`,
        );
      }
    }
    this.batchSize = options.batchSize ?? 65_536;
    this.skipFiles = options.skipFiles ?? new Set();
    this.skipDamaged = options.skipDamaged ?? false;
    // (Without hash checks, damage reaches the decoder, and only a decode thread survives its panic.)
    this.verifyHashes = options.verifyHashes ?? true;
    this.decodeAhead = options.decodeAhead ?? (!this.verifyHashes || m.files.reduce((n, f) => n + f.rows, 0) >= DECODE_AHEAD_MIN_ROWS);
    const first = m.sessions[0]?.start;
    const start = this.from ?? (first === undefined ? 0n : BigInt(first));
    this.clock = options.clock ?? new VirtualClock(start);
    this.wall = options.wallClock ?? new LiveClock();
  }

  /**
   * Opens a capture for replay: its directory (streamed from disk); several directories whose
   * times follow one another, as one capture ({@link CaptureSet}: a date range across folders);
   * or its columns already in memory ({@link CaptureColumns}: replays of it decode nothing and
   * share its memory).
   * @throws {CaptureError} for a missing, newer or corrupt capture, overlapping roots; {@link MdcapError}
   *   `MDCAP_ERR_REPLAY_RANGE` for from ≥ to; `MDCAP_ERR_INVALID_OPTION` for a bad speed.
   */
  static open(capture: string | readonly string[] | CaptureSource, options: ReplayOptions = {}): ReplayProvider {
    const source =
      typeof capture === 'string'
        ? CaptureReader.open(capture)
        : isRootList(capture)
          ? capture.length === 1
            ? CaptureReader.open(capture[0]!)
            : CaptureSet.open(capture)
          : capture;
    return new ReplayProvider(source, options);
  }

  /** Symbols the capture holds. */
  get symbols(): string[] {
    return this.reader.manifest.symbols;
  }

  instruments(): Instrument[] {
    return this.reader.manifest.instruments.map(instrumentFromJson);
  }

  connect(sink: EventSink): Promise<void> {
    this.connection++;
    this.sink = sink;
    this.subscribed.clear();
    return Promise.resolve();
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    if (!this.reader.manifest.symbols.includes(symbol)) {
      return Promise.reject(
        new MdcapError(
          'MDCAP_ERR_UNKNOWN_SYMBOL',
          `replay: expected a symbol of the capture (${this.reader.manifest.symbols.join(', ')}), found ${describeValue(symbol)}`,
          { details: { symbol } },
        ),
      );
    }
    const loaded = this.reader.loaded?.symbols;
    if (loaded !== undefined && loaded !== null && !loaded.includes(symbol)) {
      return Promise.reject(
        new MdcapError(
          'MDCAP_ERR_UNKNOWN_SYMBOL',
          `replay: expected a symbol of the columns loaded (${loaded.join(', ')}), found ${describeValue(symbol)} (load them with it)`,
          { details: { symbol } },
        ),
      );
    }
    this.subscribed.set(symbol, new Set(kinds));
    return Promise.resolve();
  }

  ready(): void {
    // One pump per connection; a pump of an earlier connection ends on its own (it checks).
    if (this.sink === null || this.pumpingFor === this.connection) return;
    const connection = this.connection;
    this.pumpingFor = connection;
    void this.pump(connection, this.sink).finally(() => {
      if (this.pumpingFor === connection) this.pumpingFor = null;
    });
  }

  disconnect(): Promise<void> {
    this.connection++;
    this.sink = null;
    this.gate.resume();
    this.wake();
    return Promise.resolve();
  }

  /** `await using` support: disconnects at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  /** Holds delivery (and the clock's timers); a paced replay resumes without a burst. */
  pause(): void {
    if (!this.gate.paused) this.pausedAt = this.wall.now();
    this.gate.pause();
    this.wake();
  }

  resume(): void {
    if (this.pausedAt !== null) {
      this.w0 += this.wall.now() - this.pausedAt; // the pause does not count as replay time
      this.pausedAt = null;
    }
    this.gate.resume();
  }

  /** Changes the speed, from now on (a wait in progress is recomputed). */
  setSpeed(speed: ReplaySpeed): void {
    this.speed = speed === 'max' ? 'max' : parseSpeed(speed);
    this.paced = false;
    this.wake();
  }

  /**
   * Skips ahead: events before `t` are not delivered. A `gap` status marks the jump, so books
   * and bars reset as they would after lost data. Backwards is not possible (the engine's state
   * cannot be rewound): start a new replay instead.
   */
  seek(t: bigint): void {
    const now = this.clock.now();
    if (t < now) {
      throw new MdcapError(
        'MDCAP_ERR_REPLAY_RANGE',
        `seek: expected a time at or after the replay's ${nsToIso(now)}, found ${nsToIso(t)} (start a new replay to go back)`,
      );
    }
    this.seekTo = t;
    this.wake();
  }

  stats(): ReplayStats {
    const s = [...this.pacingErrors].sort((a, b) => a - b);
    const q = (p: number): number => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(p * s.length))]!);
    return { events: this.events, marks: this.marks, pacing: { samples: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? 0 } };
  }

  /** Per symbol code of a batch: 1 if its rows are subscribed (statuses of `*` always are). */
  private acceptMask(b: DecodedBatch): Uint8Array {
    const type = TYPE_OF_KIND[b.kind];
    const mask = new Uint8Array(b.symbols.length);
    b.symbols.forEach((symbol, code) => {
      const kinds = this.subscribed.get(symbol);
      const ok = type === 'status' ? symbol === ALL_SYMBOLS || kinds !== undefined : kinds !== undefined && kinds.has(type);
      mask[code] = ok ? 1 : 0;
    });
    return mask;
  }

  private rebase(): void {
    this.v0 = this.clock.now();
    this.w0 = this.wall.now();
    this.paced = true;
  }

  /** Ends a paced wait now (stop, seek, pause, new speed): the waiting loop looks again. */
  private wake(): void {
    if (this.waitTimer !== null) this.wall.clearTimer(this.waitTimer);
    this.waitTimer = null;
    const resolve = this.wakeWait;
    this.wakeWait = null;
    resolve?.();
  }

  /**
   * Waits until the wall time at which virtual time `v` is due, holding while paused. Returns
   * early (without reaching it) when the replay stops or a seek arrives; the caller checks.
   */
  private async paceTo(v: bigint, live: () => boolean): Promise<void> {
    for (;;) {
      if (!live() || this.seekTo !== null) return;
      if (this.gate.paused) {
        await this.gate.open();
        continue;
      }
      const speed = this.speed;
      if (speed === 'max') return;
      if (!this.paced) this.rebase();
      const target = this.w0 + BigInt(Math.round(Number(v - this.v0) / speed));
      const left = target - this.wall.now();
      if (left <= 0n) {
        if (this.pacingErrors.length < 1_000_000) this.pacingErrors.push(Number(-left));
        return;
      }
      if (left > SPIN_NS) {
        await new Promise<void>((resolve) => {
          this.wakeWait = resolve;
          this.waitTimer = this.wall.setTimer(target - SPIN_NS, () => {
            this.waitTimer = null;
            this.wakeWait = null;
            resolve();
          });
        });
      } else {
        await nextTurn();
      }
    }
  }

  /** Paced: fire the clock's timers due before `v` at their own wall times (not while paused). */
  private async timersBefore(v: bigint, live: () => boolean): Promise<void> {
    for (;;) {
      const due = this.clock.nextDue();
      if (due === null || due >= v || !live() || this.seekTo !== null) return;
      if (due > this.clock.now()) {
        await this.paceTo(due, live);
        if (!live() || this.seekTo !== null) return;
      }
      if (this.gate.paused) {
        await this.gate.open();
        continue;
      }
      this.clock.runDue(due);
    }
  }

  private sessionGap(prevEnd: bigint, next: bigint, id: number): MarketEvent {
    return createStatus({
      venue: this.venue,
      symbol: ALL_SYMBOLS,
      tsEvent: prevEnd,
      tsRecv: prevEnd,
      kind: 'gap',
      detail: `recording session ${id} ended at ${nsToIso(prevEnd)}; the next one starts at ${nsToIso(next)}`,
    });
  }

  private async pump(connection: number, sink: EventSink): Promise<void> {
    const live = (): boolean => this.connection === connection;
    await nextTurn(); // let the caller of start() attach its consumers first
    const sessions = this.reader.manifest.sessions;
    const ends = sessions.map((s) => (s.end === null ? null : BigInt(s.end)));
    const lastEnd = ends.reduce<bigint | null>((acc, e) => (e === null ? acc : acc === null || e > acc ? e : acc), null);
    const starts = sessions.map((s) => Number(s.firstRecvSeq));
    const filter: ReadFilter = {
      ...(this.from === undefined ? {} : { from: this.from }),
      ...(this.to === undefined ? {} : { to: this.to }),
      symbols: new Set(this.subscribed.keys()),
      batchSize: this.batchSize,
      ...(this.verifyHashes ? {} : { verifyHashes: false }),
      ...(this.skipDamaged ? { skipDamaged: true } : {}),
      decodeAhead: this.decodeAhead,
    };
    const masks = new WeakMap<DecodedBatch, Uint8Array>();
    let lastBatch: DecodedBatch | null = null;
    let lastMask: Uint8Array | undefined;
    const to = this.to;
    const from = this.from;
    let session = 0;
    let nextStart = starts.length > 1 ? starts[1]! : Infinity;
    let sinceTurn = 0;
    const firstStart = sessions[0] === undefined ? null : BigInt(sessions[0].start);
    let startMark = from !== undefined && firstStart !== null && from > firstStart ? from : null;
    const groups = this.reader
      .groups()
      .map((g) => g.files.filter((f) => !this.skipFiles.has(f.path) && this.reader.mayMatch(f, filter)))
      .filter((files) => files.length > 0);
    // The latest receive time each group may hold (its row groups' statistics; a segment's is unknown).
    const groupEnds = groups.map((files) => {
      let end: bigint | null = null;
      for (const f of files) {
        if (f.entry === null) return null;
        for (const rg of f.entry.rowGroups) {
          const t = BigInt(rg.tsRecvMax);
          if (end === null || t > end) end = t;
        }
      }
      return end;
    });
    /** A seek pending past the end of group g: its rows need not be read at all. */
    const seekPast = (g: number): boolean => {
      const end = groupEnds[g];
      return this.seekTo !== null && end !== null && end !== undefined && end < this.seekTo;
    };
    const openGroup = (g: number): { g: number; merger: GroupMerger; started: Promise<void> } => {
      // A seek pending: the row groups before its target are not read either.
      const seekTo = this.seekTo;
      const f = seekTo !== null && (filter.from === undefined || filter.from < seekTo) ? { ...filter, from: seekTo } : filter;
      const merger = new GroupMerger(this.reader, groups[g]!, f);
      const started = merger.start();
      started.catch(() => undefined); // awaited where it is used
      return { g, merger, started };
    };
    const closeGroup = async (x: { merger: GroupMerger; started: Promise<void> }): Promise<void> => {
      x.merger.stopReading(); // now, not once its first batches are decoded
      await x.started.catch(() => undefined);
      await x.merger.close();
    };
    /** The next rotation group, opened while this one is dispatched (its first batches decode meanwhile). */
    let ahead: { g: number; merger: GroupMerger; started: Promise<void> } | null = null;
    try {
      groups: for (let g = 0; g < groups.length; g++) {
        if (seekPast(g)) continue; // skipped whole: nothing of it is read
        if (ahead !== null && (ahead.g !== g || this.seekTo !== null)) {
          void closeGroup(ahead); // opened before a seek (its first batches may still be decoding): open again from the target
          ahead = null;
        }
        const { merger, started } = ahead ?? openGroup(g);
        ahead = null;
        try {
          await started;
          if (this.decodeAhead && g + 1 < groups.length) ahead = openGroup(g + 1);
          for (;;) {
            if (!live()) return;
            if (seekPast(g)) continue groups; // a seek beyond this group: leave it now
            // Awaited per run even when the run is at hand: a strategy's promise continuations
            // (an order sent after an `await` in a callback) run before the next run, as they
            // always have; taking runs without it would change an async strategy's fills.
            const b = await merger.takeRun();
            if (b === null) break;
            let mask = b === lastBatch ? lastMask : masks.get(b);
            if (mask === undefined) masks.set(b, (mask = this.acceptMask(b)));
            lastBatch = b;
            lastMask = mask;
            const codes = b.symbolCodes;
            const tsRecv = b.tsRecv;
            const end = merger.runEnd;
            let i = merger.runStart;
            if (
              this.speed === 'max' &&
              startMark === null &&
              this.seekTo === null &&
              i < end &&
              b.recvSeqNumber(end - 1) < nextStart &&
              (to === undefined || tsRecv[end - 1]! < to) &&
              (from === undefined || tsRecv[i]! >= from)
            ) {
              i = this.dispatchRun(b, mask, i, end, sink, connection);
            }
            for (; i < end; i++) {
              if (mask[codes[i]!] === 0) continue;
              const ts = tsRecv[i]!;
              if (to !== undefined && ts >= to) break groups;
              if (from !== undefined && ts < from) continue;
              if (b.recvSeqNumber(i) >= nextStart) {
                // Crossing into the next recording session: the clock first reaches the end of
                // the previous one (its bars close as they did), and a gap marks the hole.
                const rs = b.recvSeqNumber(i);
                while (session + 1 < sessions.length && rs >= starts[session + 1]!) session++;
                nextStart = session + 1 < starts.length ? starts[session + 1]! : Infinity;
                const prevEnd = ends[session - 1] ?? null;
                // (Not when the replay starts after that end: the hole is before `from`.)
                // (Nor when a seek passes it: the seek's own gap covers what it skips, whether its
                // rows were passed one by one or whole groups were left unread.)
                const sought = this.seekTo;
                if (
                  prevEnd !== null &&
                  prevEnd <= ts &&
                  prevEnd >= this.clock.now() &&
                  (from === undefined || prevEnd >= from) &&
                  (sought === null || prevEnd >= sought)
                ) {
                  if (this.speed !== 'max') await this.timersBefore(prevEnd + 1n, live);
                  this.clock.runDue(prevEnd);
                  this.push(sink, this.sessionGap(prevEnd, ts, sessions[session - 1]!.id));
                  this.marks++;
                }
              }
              if (this.seekTo !== null) {
                if (ts < this.seekTo) continue;
                this.push(sink, this.jumpTo(this.seekTo));
                this.marks++;
              }
              if (startMark !== null) {
                // Starting after the recording began: what came before is missing for this run.
                this.push(sink, this.gapMark(startMark, `replay starts at ${nsToIso(startMark)}: earlier events are not replayed`));
                this.marks++;
                startMark = null;
              }
              if (this.speed !== 'max') {
                await this.timersBefore(ts, live);
                await this.paceTo(ts, live);
                if (!live()) return;
                if (this.seekTo !== null) {
                  // A seek arrived while this row waited.
                  if (ts < this.seekTo) continue;
                  this.push(sink, this.jumpTo(this.seekTo));
                  this.marks++;
                }
              }
              if (this.gate.paused) await this.gate.open();
              if (!live()) return;
              sink.push(b.event(i));
              this.events++;
            }
            // Let the event loop breathe now and then (timers, I/O, a pause request).
            sinceTurn += end - merger.runStart;
            if (sinceTurn >= RUN) {
              sinceTurn = 0;
              await nextTurn();
            }
          }
        } finally {
          await merger.close();
        }
      }
      if (!live()) return;
      // A last session without an end was interrupted (and not repaired yet) or is still
      // recording: say that the data may stop short, rather than end silently.
      const last = sessions[sessions.length - 1];
      if (last !== undefined && last.end === null && (this.to === undefined || this.to > this.clock.now())) {
        const t = this.clock.now();
        this.push(
          sink,
          createStatus({
            venue: this.venue,
            symbol: ALL_SYMBOLS,
            tsEvent: t,
            tsRecv: t,
            kind: 'gap',
            detail: `recording session ${last.id} has no end: it was interrupted (mdcap verify --repair records the loss) or is still recording; events after ${nsToIso(t)} may be missing`,
          }),
        );
        this.marks++;
      }
      // The end of the recording: move the clock where the recorder stopped, so timers due
      // before it (bar closes) fire as they did live; then the data ends.
      let end = lastEnd;
      if (this.to !== undefined && (end === null || this.to < end)) end = this.to;
      if (end !== null && end > this.clock.now()) {
        if (this.speed !== 'max') await this.timersBefore(end + 1n, live);
        if (live()) this.clock.runDue(end);
      }
      if (live()) sink.end();
    } catch (error) {
      if (live()) sink.end(error);
    } finally {
      if (ahead !== null) await closeGroup(ahead);
    }
  }

  /**
   * The common case at max speed, a run with no boundary in it (no session change, no seek, no
   * `from`/`to` cut): rows go out with nothing checked per row but the symbol mask and whether
   * a callback paused, sought, stopped or changed the speed (then the row-by-row loop takes over
   * at the row returned).
   */
  private dispatchRun(b: DecodedBatch, mask: Uint8Array, start: number, end: number, sink: EventSink, connection: number): number {
    const gate = this.gate;
    if (b.trades !== undefined && sink.pushTrades !== undefined && allAccepted(mask)) {
      // Trades as columns: the engine dispatches them without an object per row, and stops
      // after the row whose callback paused, sought, stopped or changed the speed.
      if (gate.paused || this.seekTo !== null || this.connection !== connection) return start;
      const more = (): boolean => !gate.paused && this.seekTo === null && this.connection === connection && this.speed === 'max';
      const reached = sink.pushTrades(this.tradeView.set(b.trades, start, end), more);
      this.events += reached - start;
      return reached;
    }
    const codes = b.symbolCodes;
    let i = start;
    let n = 0;
    for (; i < end; i++) {
      if (mask[codes[i]!] === 0) continue;
      if (gate.paused || this.seekTo !== null || this.connection !== connection || this.speed !== 'max') break;
      sink.push(b.event(i));
      n++;
    }
    this.events += n;
    return i;
  }

  private push(sink: EventSink, e: MarketEvent): void {
    sink.push(e);
    this.events++;
  }

  private gapMark(t: bigint, detail: string): MarketEvent {
    return createStatus({ venue: this.venue, symbol: ALL_SYMBOLS, tsEvent: t, tsRecv: t, kind: 'gap', detail });
  }

  /** Carries out a seek: moves the clock and marks the jump with a gap. */
  private jumpTo(t: bigint): MarketEvent {
    this.seekTo = null;
    this.clock.runDue(t);
    this.paced = false;
    return createStatus({
      venue: this.venue,
      symbol: ALL_SYMBOLS,
      tsEvent: t,
      tsRecv: t,
      kind: 'gap',
      detail: `replay skipped ahead to ${nsToIso(t)}`,
    });
  }
}
