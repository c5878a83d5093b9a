import { CaptureSet, captureSpan, readManifest } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { ConfigError, describeValue, isoToNs, MdcapError, nsToIso } from '@mdcap/core';
import type { Clock } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { openFeeds } from '@mdcap/pipeline';
import type { FeedManager, FeedSpec } from '@mdcap/pipeline';
import { parseSpeed, ReplayProvider } from '@mdcap/replay';
import type { ReplaySpeed } from '@mdcap/replay';
import type { BacktestRun, InstrumentRef, SessionState, ViewLimits } from '@mdcap/view-app';
import { Collector, DEFAULT_VIEW_LIMITS } from './collector.js';

/** How the engine of a session builds bars (as `mdcap replay --bars` does). */
export interface BarOptions {
  /** Bar intervals in seconds (default 60). */
  readonly intervals?: readonly number[];
  /** How long a bucket stays open for late trades (default 250 ms). */
  readonly graceMs?: number;
  /** Bucket trades by this timestamp (default tsEvent for a replay, tsRecv for a live feed). */
  readonly barTimestamp?: 'tsEvent' | 'tsRecv';
}

/** One engine session the viewer shows: a replayed capture or live feeds. */
export interface ViewSession extends AsyncDisposable {
  readonly mode: 'replay' | 'live';
  /** The capture directories, or the feeds. */
  readonly source: string;
  readonly intervals: readonly number[];
  /** The capture's first and last tsRecv, null for live feeds. */
  readonly start: bigint | null;
  readonly end: bigint | null;
  readonly limits: ViewLimits;
  /** A backtest run over the capture, shown with it (fills on the chart, the equity curve), or null. */
  readonly backtest: BacktestRun | null;
  /** What the engine has delivered (replaced when a seek back starts the replay again). */
  readonly collector: Collector;
  /** Counts up at every new start of the replay. */
  readonly run: number;
  readonly state: SessionState;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly speed: string;
  /** The engine clock (ns). */
  now(): bigint;
  /** Events the engine has dispatched in this run. */
  events(): number;
  /** Called when the replay starts again (a seek back): everything shown so far is replaced. */
  onRestart(cb: () => void): void;
  play(): void;
  pause(): void;
  setSpeed(speed: string): void;
  seek(to: string): Promise<void>;
  close(): Promise<void>;
}

function engineEvents(engine: RealtimeEngine): number {
  let n = 0;
  for (const v of Object.values(engine.stats().events)) n += v;
  return n;
}

function errorOf(e: unknown): { code: string; message: string } {
  return e instanceof MdcapError ? { code: e.code, message: e.message } : { code: 'MDCAP_ERR_IO', message: (e as Error).message };
}

/** A time of a seek: ISO 8601 or integer nanoseconds. */
export function parseSeekTime(text: unknown): bigint {
  if (typeof text === 'string' && /^\d{1,20}$/.test(text.trim())) return BigInt(text.trim());
  if (typeof text === 'string') {
    try {
      return isoToNs(text.trim());
    } catch {
      // below
    }
  }
  throw new ConfigError(
    'MDCAP_ERR_INVALID_OPTION',
    `seek: expected a time as ISO 8601 (2024-01-02T14:31:00Z) or integer nanoseconds, found ${describeValue(text)}`,
  );
}

/**
 * The instruments of a capture, for the picker before the replay starts: its manifest's, and for
 * a symbol it has none of (a capture written without instrument definitions), the venue its
 * data-quality records name, else its feed's name.
 */
function captureInstruments(manifest: Manifest, symbols: readonly string[]): InstrumentRef[] {
  const out = manifest.instruments.filter((i) => symbols.includes(i.symbol)).map((i) => ({ venue: i.venue, symbol: i.symbol }));
  for (const symbol of symbols) {
    if (out.some((i) => i.symbol === symbol)) continue;
    const venue =
      manifest.gaps.find((g) => g.symbol === symbol)?.venue ??
      manifest.sessions.find((x) => x.symbols.includes(symbol))?.feed ??
      manifest.feed;
    out.push({ venue, symbol });
  }
  return out.sort((a, b) => a.symbol.localeCompare(b.symbol) || a.venue.localeCompare(b.venue));
}

export interface ReplayViewOptions extends BarOptions {
  /** Capture directories: one, or several whose times follow one another (replayed as one capture). */
  readonly dirs: readonly string[];
  /** Symbols to replay (default all of the capture). */
  readonly symbols?: readonly string[];
  /** Starting speed (default max; the page changes it). */
  readonly speed?: ReplaySpeed;
  readonly limits?: ViewLimits;
  /** A backtest run over this capture (read with `readBacktestRun` of @mdcap/analytics). */
  readonly backtest?: BacktestRun;
}

/**
 * A capture replayed for the viewer. It waits for `play`; `pause`, `setSpeed` and a seek forward
 * act on the running replay (`ReplayProvider`); a seek back starts a new replay from that time
 * (`run` counts up, and the page is told to start over).
 */
export class ReplayViewSession implements ViewSession {
  readonly mode = 'replay';
  readonly source: string;
  readonly intervals: readonly number[];
  readonly start: bigint | null;
  readonly end: bigint | null;
  readonly limits: ViewLimits;
  readonly backtest: BacktestRun | null;
  private readonly capture: string | CaptureSet;
  private readonly symbols: readonly string[];
  private readonly instruments: InstrumentRef[];
  private provider!: ReplayProvider;
  private engine!: RealtimeEngine;
  private current!: Collector;
  private running: Promise<void> | null = null;
  private restartListeners: (() => void)[] = [];
  private speedValue: ReplaySpeed;
  private stateValue: SessionState = 'ready';
  private errorValue: { code: string; message: string } | null = null;
  private runValue = 0;
  private closed = false;
  /** What the page last asked for (Play or Pause): a restart keeps it, whatever happened meanwhile. */
  private wantPlaying = false;

  constructor(private readonly options: ReplayViewOptions) {
    if (options.dirs.length === 0) throw new ConfigError('MDCAP_ERR_INVALID_OPTION', 'view: expected a capture directory, found none');
    this.capture = options.dirs.length === 1 ? options.dirs[0]! : CaptureSet.open(options.dirs);
    const manifest = typeof this.capture === 'string' ? readManifest(this.capture) : this.capture.manifest;
    ({ start: this.start, end: this.end } = captureSpan(manifest));
    this.source = options.dirs.join(' ');
    this.intervals = [...(options.intervals ?? [60])];
    this.limits = options.limits ?? DEFAULT_VIEW_LIMITS;
    this.speedValue = options.speed ?? 'max';
    this.backtest = options.backtest ?? null;
    const wanted = options.symbols ?? manifest.symbols;
    const unknown = wanted.filter((s) => !manifest.symbols.includes(s));
    if (unknown.length > 0) {
      throw new MdcapError(
        'MDCAP_ERR_UNKNOWN_SYMBOL',
        `--symbols: expected symbols of the capture (${manifest.symbols.join(', ')}), found ${unknown.join(', ')}`,
      );
    }
    this.symbols = wanted;
    this.instruments = captureInstruments(manifest, wanted);
    this.open(undefined);
  }

  private open(from: bigint | undefined): void {
    this.provider = ReplayProvider.open(this.capture, { speed: this.speedValue, ...(from === undefined ? {} : { from }) });
    const grace = this.options.graceMs ?? 250;
    this.engine = new RealtimeEngine(this.provider, { barGraceMs: grace, barTimestamp: this.options.barTimestamp ?? 'tsEvent' });
    if (this.intervals.length > 0) this.engine.setBarInterval(...this.intervals);
    this.engine.onError((e) => {
      if (this.errorValue === null && (e.code.startsWith('MDCAP_ERR_CAPTURE') || e.code === 'MDCAP_ERR_IO')) this.errorValue = errorOf(e);
    });
    this.current = new Collector(this.engine, this.limits, this.instruments);
    this.running = null;
    this.stateValue = 'ready';
    this.errorValue = null;
  }

  get collector(): Collector {
    return this.current;
  }
  get run(): number {
    return this.runValue;
  }
  get state(): SessionState {
    return this.stateValue;
  }
  get error(): { code: string; message: string } | null {
    return this.errorValue;
  }
  get speed(): string {
    return String(this.speedValue);
  }
  now(): bigint {
    return this.provider.clock.now();
  }
  events(): number {
    return engineEvents(this.engine);
  }
  onRestart(cb: () => void): void {
    this.restartListeners.push(cb);
  }

  play(): void {
    this.wantPlaying = true;
    if (this.closed || this.stateValue === 'ended' || this.stateValue === 'failed') return;
    if (this.running === null) {
      const engine = this.engine;
      this.stateValue = 'playing';
      this.running = engine.run(this.symbols).then(
        () => {
          if (engine !== this.engine) return; // a restart replaced it
          const failed = engine.stats().state === 'failed';
          this.stateValue = failed ? 'failed' : 'ended';
          if (failed && this.errorValue === null)
            this.errorValue = { code: 'MDCAP_ERR_IO', message: `the replay of ${this.source} failed` };
        },
        (e: unknown) => {
          if (engine !== this.engine) return;
          this.stateValue = 'failed';
          this.errorValue = errorOf(e);
        },
      );
      return;
    }
    if (this.stateValue === 'paused') {
      this.engine.resume();
      this.stateValue = 'playing';
    }
  }

  pause(): void {
    this.wantPlaying = false;
    if (this.stateValue !== 'playing') return;
    this.engine.pause();
    this.stateValue = 'paused';
  }

  setSpeed(speed: string): void {
    const s = parseSpeed(speed);
    this.speedValue = s;
    this.provider.setSpeed(s);
  }

  async seek(to: string): Promise<void> {
    const t = parseSeekTime(to);
    if ((this.start !== null && t < this.start) || (this.end !== null && t > this.end)) {
      throw new MdcapError(
        'MDCAP_ERR_REPLAY_RANGE',
        `seek: expected a time within the capture (${this.start === null ? '?' : nsToIso(this.start)} to ${this.end === null ? '?' : nsToIso(this.end)}), found ${nsToIso(t)}`,
      );
    }
    // Forward in a running replay: the provider skips there (and marks the skip with a gap).
    if (this.running !== null && (this.stateValue === 'playing' || this.stateValue === 'paused') && t >= this.now()) {
      this.provider.seek(t);
      return;
    }
    // Back in time, before the start, or after the end: a new replay from there.
    const old = this.engine;
    const oldRun = this.running;
    this.runValue++;
    this.open(t);
    if (oldRun !== null) {
      await old.stop();
      await oldRun;
    }
    if (this.wantPlaying) this.play();
    for (const cb of this.restartListeners) cb();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.running !== null) {
      await this.engine.stop();
      await this.running;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

export interface EngineViewOptions {
  /** A running engine (its bar intervals set): the viewer adds its callbacks and owns nothing of it. */
  readonly engine: RealtimeEngine;
  readonly clock: Clock;
  /** What to call it on the page. */
  readonly source: string;
  /** The bar intervals the engine builds. */
  readonly intervals: readonly number[];
  readonly limits?: ViewLimits;
}

/**
 * A live engine someone else runs (the feed of `mdcap serve`), shown as it goes: play, pause,
 * speed and seek do not apply, and closing the session leaves the engine running.
 */
export class EngineViewSession implements ViewSession {
  readonly mode = 'live';
  readonly source: string;
  readonly intervals: readonly number[];
  readonly start = null;
  readonly end = null;
  readonly limits: ViewLimits;
  readonly run = 0;
  readonly speed = 'live';
  readonly backtest = null;
  readonly collector: Collector;
  protected readonly engine: RealtimeEngine;
  private readonly clock: Clock;
  protected stateValue: SessionState = 'playing';
  protected errorValue: { code: string; message: string } | null = null;

  constructor(options: EngineViewOptions) {
    this.engine = options.engine;
    this.clock = options.clock;
    this.source = options.source;
    this.intervals = [...options.intervals];
    this.limits = options.limits ?? DEFAULT_VIEW_LIMITS;
    // Instruments are learnt from their events (a feed names its venue on them).
    this.collector = new Collector(this.engine, this.limits, []);
  }

  get state(): SessionState {
    return this.stateValue;
  }
  get error(): { code: string; message: string } | null {
    return this.errorValue;
  }
  now(): bigint {
    return this.clock.now();
  }
  events(): number {
    return engineEvents(this.engine);
  }
  onRestart(): void {
    // a live session never starts over
  }
  private refuse(what: string): never {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${what}: expected a replayed capture, found live feeds (${this.source})`);
  }
  play(): void {
    this.refuse('play');
  }
  pause(): void {
    this.refuse('pause');
  }
  setSpeed(): void {
    this.refuse('speed');
  }
  seek(): Promise<void> {
    this.refuse('seek');
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** How the page names a feed: `demo`, `kraken@ws://127.0.0.1:9000`. */
export function feedSource(f: { readonly feed: string; readonly url?: string }): string {
  return f.url === undefined ? f.feed : `${f.feed}@${f.url}`;
}

export interface LiveViewOptions extends BarOptions {
  readonly feeds: readonly FeedSpec[];
  readonly limits?: ViewLimits;
}

/** Live feeds for the viewer, opened and run by the session itself: one engine over them, started at once. */
export class LiveViewSession extends EngineViewSession {
  private readonly manager: FeedManager;
  private readonly running: Promise<void>;

  constructor(options: LiveViewOptions) {
    const manager = openFeeds(options.feeds);
    const intervals = [...(options.intervals ?? [60])];
    const engine = new RealtimeEngine(manager.provider, {
      barGraceMs: options.graceMs ?? 250,
      barTimestamp: options.barTimestamp ?? 'tsRecv',
    });
    if (intervals.length > 0) engine.setBarInterval(...intervals);
    super({
      engine,
      clock: manager.clock,
      source: options.feeds.map(feedSource).join(' '),
      intervals,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
    this.manager = manager;
    this.running = engine.run(manager.symbols).then(
      () => {
        this.stateValue = engine.stats().state === 'failed' ? 'failed' : 'ended';
      },
      (e: unknown) => {
        this.stateValue = 'failed';
        this.errorValue = errorOf(e);
      },
    );
  }

  override async close(): Promise<void> {
    await this.engine.stop();
    await this.running;
    await this.manager.close();
  }
}
