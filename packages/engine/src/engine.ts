import {
  ALL_SYMBOLS,
  isWellFormed,
  printError,
  CallbackError,
  ConfigError,
  createStatus,
  EngineStateError,
  formatDecimal,
  InstrumentRegistry,
  MdcapError,
  ProviderError,
  describeValue,
  toDataProvider,
  validateEvent,
} from '@mdcap/core';
import type {
  Bar,
  BookUpdate,
  Clock,
  DataProvider,
  EventSink,
  EventType,
  Instrument,
  MarketEvent,
  OrderUpdate,
  Quote,
  Status,
  StatusKind,
  SubscriptionKind,
  TimerScheduler,
  Trade,
} from '@mdcap/core';
import { BarAggregator } from './bars.js';
import type { BarSeries, BarStats, BarTimestamp, EmptyBarPolicy } from './bars.js';
import { OrderBook } from './book.js';
import type { BookView } from './book.js';
import { Batcher, EventIterator } from './consumers.js';
import type { BatchCallback, BatchOptions, EventConsumer, EventStreamOptions } from './consumers.js';
import { checkReconnectPolicy, reconnectDelayMs } from './reconnect.js';
import type { ReconnectPolicy } from './reconnect.js';

export interface EngineOptions {
  /** Timestamp that buckets trades into bars (default `tsEvent`). */
  readonly barTimestamp?: BarTimestamp;
  /** How long after a bucket's end it stays open for late trades, in ms (default 250). */
  readonly barGraceMs?: number;
  /** Buckets without trades: `skip` (default) or `emit` (volume 0, OHLC at the previous close). */
  readonly emptyBars?: EmptyBarPolicy;
  /** Keep order books (default true). */
  readonly books?: boolean;
  /** Reconnect policy for live providers (default 1, 2, 4, …, 32 s, then 60 s; give up after 10). */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** Kinds to subscribe each symbol to (default: everything the provider offers). */
  readonly kinds?: readonly SubscriptionKind[];
  /**
   * Check every provider event against the event model (default: true, unless the provider
   * declares `validatesEvents`). Bad events are reported through `onError` with their
   * `MDCAP_ERR_*` code and not dispatched. Order and subscriptions are checked either way.
   */
  readonly validate?: boolean;
  /** Instruments to register up front, in addition to those the provider reports. */
  readonly instruments?: Iterable<Instrument>;
}

export type EngineState = 'idle' | 'starting' | 'running' | 'reconnecting' | 'stopping' | 'stopped' | 'ended' | 'failed';

export interface EngineStats {
  readonly state: EngineState;
  /** Events dispatched, by type (provider events plus the engine's own bars and statuses). */
  readonly events: Readonly<Record<EventType, number>>;
  /** Provider events refused by validation (each reported through onError). */
  readonly rejected: number;
  /** Callbacks that threw (each reported through onError). */
  readonly callbackErrors: number;
  /** Errors reported in all. */
  readonly errors: number;
  readonly bars: BarStats;
  readonly reconnects: { readonly attempts: number; readonly succeeded: number; readonly gaveUp: number };
  /** Events dropped by slow `events()` iterators and `onBatch` consumers under the `drop` policy. */
  readonly consumerDrops: number;
  /** Number of order books. */
  readonly books: number;
  /**
   * Clock time at which the run finished (stop, end of data, give-up), or null while it runs:
   * bars still open then were flushed at this time. A recording keeps it as its end time.
   */
  readonly finishedAt: bigint | null;
}

type Listener<A extends unknown[]> = (...args: A) => void;
type Unsubscribe = () => void;

interface Listeners {
  trade: Listener<[Trade]>[];
  quote: Listener<[Quote]>[];
  book: Listener<[BookUpdate, BookView]>[];
  order: Listener<[OrderUpdate, BookView]>[];
  bar: Listener<[Bar]>[];
  status: Listener<[Status]>[];
  gap: Listener<[Status]>[];
  reconnect: Listener<[Status]>[];
  error: Listener<[MdcapError]>[];
  event: Listener<[MarketEvent]>[];
}

const CALLBACK_NAMES: Readonly<Record<keyof Listeners, string>> = {
  trade: 'onTrade',
  quote: 'onQuote',
  book: 'onBookUpdate',
  order: 'onOrderUpdate',
  bar: 'onBar',
  status: 'onStatus',
  gap: 'onGap',
  reconnect: 'onReconnect',
  error: 'onError',
  event: 'onEvent',
};

// 'reconnected' does not invalidate: books were cleared at 'disconnected', and a provider may
// already have sent the fresh snapshot by the time the engine reports the reconnect.
/** Per venue and symbol state, looked up once per event and shared by validation, bars and books. */
interface Slot {
  readonly venue: string;
  readonly symbol: string;
  readonly subscribed: boolean;
  book: OrderBook | null;
  series: BarSeries | null;
  /** The next slot with the same symbol on another venue. */
  next: Slot | null;
}

/** Thrown inside a connect attempt that a newer attempt, a timeout or a stop has superseded. */
const SUPERSEDED = new Error('superseded connection attempt');

const INVALIDATING: ReadonlySet<StatusKind> = new Set(['disconnected', 'gap', 'resync']);
const MIN_TS = -(2n ** 63n);
const MAX_CONSOLE_ERRORS = 10;

/**
 * Runs a strategy's callbacks over a {@link DataProvider}: live venue feeds, the simulator, or a
 * replay. Same provider events in, same callbacks out, whether the clock is wall time or virtual:
 * bars close on clock timers that the engine runs before each event stamped at or after their
 * due time (see docs/engine.md).
 *
 * Dispatch order for one provider event: due timers (bar closes) first; then `onEvent`; then
 * the kind's callbacks in registration order (a book or order update is applied to its book
 * first, a status takes effect on books and bars first); then `events()` iterators and
 * `onBatch` consumers. A callback that throws is reported through `onError` and the others still run.
 */
export class RealtimeEngine {
  readonly provider: DataProvider;
  readonly clock: Clock;
  readonly instruments: InstrumentRegistry;
  private readonly options: {
    readonly books: boolean;
    readonly validate: boolean;
    readonly reconnect: ReconnectPolicy;
    readonly kinds: readonly SubscriptionKind[] | undefined;
  };
  private readonly bars: BarAggregator;
  /** Slots by symbol (a chain per symbol across venues). */
  private slots = new Map<string, Slot>();
  /** Books handed out by book(symbol) before any venue sent a book update for the symbol. */
  private pendingBooks = new Map<string, OrderBook>();
  private readonly validating: boolean;
  private l: Listeners = { trade: [], quote: [], book: [], order: [], bar: [], status: [], gap: [], reconnect: [], error: [], event: [] };
  private consumers: EventConsumer[] = [];
  private state: EngineState = 'idle';
  private symbols: readonly string[] = [];
  private symbolSet: ReadonlySet<string> = new Set();
  /** tsRecv of the last event, in a typed array (see the note in bars.ts on write barriers). */
  private readonly last = BigInt64Array.of(MIN_TS);
  private generation = 0;
  /** Incremented by every start(): work of an earlier run must not touch a later one. */
  private runId = 0;
  /** A connection lost while start() was still subscribing: handled once start() is done. */
  private lostWhileStarting: unknown = null;
  private activeSink: EventSink | null = null;
  private startPromise: Promise<void> | null = null;
  private stopPromise: Promise<void> | null = null;
  private finishPromise: Promise<void> | null = null;
  private donePromise: Promise<void>;
  private resolveDone!: () => void;
  private reconnectTimer: number | null = null;
  private attempt = 0;
  private attemptLost: unknown = null;
  private pauseHolds = 0;
  private counters = {
    trades: 0,
    quotes: 0,
    bookUpdates: 0,
    orderUpdates: 0,
    bars: 0,
    statuses: 0,
    rejected: 0,
    callbackErrors: 0,
    errors: 0,
    reconnectAttempts: 0,
    reconnectSucceeded: 0,
    gaveUp: 0,
    consoleErrors: 0,
    retiredDrops: 0,
    finishedAt: null as bigint | null,
  };
  /**
   * The clock for bar and batch timers: before one runs, a buffering provider delivers what it
   * holds from before the timer's due time (`provider.poll`), as a replay would have.
   */
  private readonly timers: TimerScheduler = {
    setTimer: (at, callback) =>
      this.clock.setTimer(at, () => {
        if (this.activeSink !== null) this.provider.poll?.(at);
        callback();
      }),
    clearTimer: (id) => this.clock.clearTimer(id),
  };
  private readonly backpressure = {
    hold: (): void => {
      if (this.pauseHolds++ === 0) this.provider.pause?.();
    },
    release: (): void => {
      if (this.pauseHolds > 0 && --this.pauseHolds === 0) this.provider.resume?.();
    },
  };

  /**
   * @param provider a {@link DataProvider}, or a plain event stream (an iterable or async iterable
   *   of events, or an object with `events()`), which is wrapped by `streamProvider` automatically.
   * @throws {ProviderError} `MDCAP_ERR_PROVIDER_CONTRACT` if `provider` is neither.
   * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` for bad options.
   */
  constructor(provider: unknown, options: EngineOptions = {}) {
    this.provider = toDataProvider(provider);
    this.clock = this.provider.clock;
    if (typeof this.clock?.now !== 'function' || typeof this.clock.setTimer !== 'function' || typeof this.clock.runDue !== 'function') {
      throw new ProviderError(
        'MDCAP_ERR_PROVIDER_CONTRACT',
        `provider.clock: expected a Clock (now, setTimer, clearTimer, runDue), found ${describeValue(this.clock)}`,
      );
    }
    const grace = options.barGraceMs ?? 250;
    if (!Number.isInteger(grace) || grace < 0) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `barGraceMs: expected an integer of 0 or more, found ${describeValue(grace)}`);
    }
    const timestamp = options.barTimestamp ?? 'tsEvent';
    if (timestamp !== 'tsEvent' && timestamp !== 'tsRecv') {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `barTimestamp: expected tsEvent or tsRecv, found ${describeValue(timestamp)}`);
    }
    const emptyBars = options.emptyBars ?? 'skip';
    if (emptyBars !== 'skip' && emptyBars !== 'emit') {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `emptyBars: expected skip or emit, found ${describeValue(emptyBars)}`);
    }
    if (options.kinds !== undefined && (!Array.isArray(options.kinds) || options.kinds.length === 0)) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `kinds: expected a non-empty array of trade, quote, book, order, bar, found ${describeValue(options.kinds)}`,
      );
    }
    this.options = {
      books: options.books ?? true,
      validate: options.validate ?? this.provider.validatesEvents !== true,
      reconnect: checkReconnectPolicy(options.reconnect),
      kinds: options.kinds,
    };
    this.validating = this.options.validate;
    this.instruments = new InstrumentRegistry(options.instruments);
    this.bars = new BarAggregator(this.timers, { timestamp, graceNs: BigInt(grace) * 1_000_000n, emptyBars }, (bar) =>
      this.dispatch(bar, null),
    );
    this.donePromise = new Promise((resolve) => (this.resolveDone = resolve));
  }

  // ---- registration -----------------------------------------------------------------------

  private add<K extends keyof Listeners>(kind: K, cb: Listeners[K][number]): Unsubscribe {
    if (typeof cb !== 'function') {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `${CALLBACK_NAMES[kind]}: expected a callback function, found ${describeValue(cb)}`,
      );
    }
    // Copy on write: a callback that registers or removes callbacks does not disturb the dispatch in progress.
    this.l = { ...this.l, [kind]: [...this.l[kind], cb] };
    return () => {
      const list = this.l[kind] as unknown[];
      const i = list.indexOf(cb);
      if (i >= 0) this.l = { ...this.l, [kind]: [...list.slice(0, i), ...list.slice(i + 1)] };
    };
  }

  /** Every trade. Returns a function that removes the callback. */
  onTrade(cb: (trade: Trade) => void): Unsubscribe {
    return this.add('trade', cb);
  }
  /** Every quote (top of book as the venue publishes it). */
  onQuote(cb: (quote: Quote) => void): Unsubscribe {
    return this.add('quote', cb);
  }
  /** Every L2 book update, after it is applied to `book`. */
  onBookUpdate(cb: (update: BookUpdate, book: BookView) => void): Unsubscribe {
    return this.add('book', cb);
  }
  /** Every L3 order update, after it is applied to `book`. */
  onOrderUpdate(cb: (update: OrderUpdate, book: BookView) => void): Unsubscribe {
    return this.add('order', cb);
  }
  /** Every bar: the engine's (see {@link setBarInterval}) and any a provider delivers. */
  onBar(cb: (bar: Bar) => void): Unsubscribe {
    return this.add('bar', cb);
  }
  /** Every status: connection changes, gaps, resyncs, checksum results, crossed books. */
  onStatus(cb: (status: Status) => void): Unsubscribe {
    return this.add('status', cb);
  }
  /** Sequence gaps (status kind `gap`), after `onStatus`. */
  onGap(cb: (status: Status) => void): Unsubscribe {
    return this.add('gap', cb);
  }
  /** Successful reconnects (status kind `reconnected`), after books were cleared and `onStatus` ran. */
  onReconnect(cb: (status: Status) => void): Unsubscribe {
    return this.add('reconnect', cb);
  }
  /** Errors: throwing callbacks, contract violations, failed reconnects. The engine keeps running. */
  onError(cb: (error: MdcapError) => void): Unsubscribe {
    return this.add('error', cb);
  }
  /**
   * Every event the provider delivers, plus the connection statuses the engine itself emits
   * (`disconnected`, `reconnected`), before any other callback: the stream `mdcap record`
   * captures. Derived events (bars, crossed-book statuses) are not included.
   */
  onEvent(cb: (event: MarketEvent) => void): Unsubscribe {
    return this.add('event', cb);
  }

  /** Batches of dispatched events, cut by count or time (see {@link BatchOptions}). */
  onBatch(cb: BatchCallback, options: BatchOptions = {}): Unsubscribe {
    this.requirePause(options.overflow, 'onBatch');
    const b = new Batcher(cb, options, this.timers, this.backpressure, (error, size) =>
      this.report(this.wrapCallbackError(error, `onBatch callback (batch of ${size})`)),
    );
    this.consumers = [...this.consumers, b];
    return () => this.removeConsumer(b);
  }

  /**
   * An async iterator over dispatched events (bars and statuses included unless `kinds` says
   * otherwise), for strategy tests: `for await (const e of engine.events()) …`. It ends when the
   * engine stops or the data ends; leaving the loop detaches it. Create it before `start()` to
   * see the first events.
   */
  events(options: EventStreamOptions = {}): AsyncIterableIterator<MarketEvent> {
    this.requirePause(options.overflow, 'events()');
    const it = new EventIterator(options, this.backpressure, (c) => this.removeConsumer(c));
    if (this.isFinished() || this.finishPromise !== null) void it.finish();
    else this.consumers = [...this.consumers, it];
    return it;
  }

  private requirePause(overflow: string | undefined, what: string): void {
    if ((overflow ?? 'block') === 'block' && (typeof this.provider.pause !== 'function' || typeof this.provider.resume !== 'function')) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `${what}: overflow 'block' needs a provider that can pause and resume, and ${this.provider.venue} cannot; use overflow 'drop'`,
      );
    }
  }

  private removeConsumer(c: EventConsumer): void {
    if (!this.consumers.includes(c)) return;
    this.counters.retiredDrops += c.dropped;
    this.consumers = this.consumers.filter((x) => x !== c);
  }

  /**
   * Turns on bars of these intervals (positive integer seconds), in addition to any set before.
   * @throws {ConfigError} `MDCAP_ERR_BAR_INTERVAL` for anything else.
   */
  setBarInterval(...seconds: number[]): this {
    if (seconds.length === 0) {
      throw new ConfigError('MDCAP_ERR_BAR_INTERVAL', 'setBarInterval: expected at least one interval in seconds, found none');
    }
    for (const s of seconds) {
      if (typeof s !== 'number' || !Number.isInteger(s) || s <= 0) {
        throw new ConfigError(
          'MDCAP_ERR_BAR_INTERVAL',
          `bar interval: expected a positive integer number of seconds, found ${describeValue(s)}`,
          {
            details: { interval: s },
          },
        );
      }
    }
    for (const s of seconds) this.bars.addInterval(s);
    return this;
  }

  /** Intervals turned on, in seconds. */
  get barIntervals(): number[] {
    return this.bars.intervalSeconds;
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * Connects, subscribes every symbol and starts delivery. Calling it again while running with
   * the same symbols returns the same promise.
   * @throws {ProviderError} `MDCAP_ERR_CONNECT_FAILED` (or the provider's own `MDCAP_ERR_*`, such
   *   as `MDCAP_ERR_UNKNOWN_SYMBOL`) if the provider cannot connect or subscribe.
   * @throws {EngineStateError} `MDCAP_ERR_ENGINE_STATE` if running with other symbols, or stopping.
   */
  start(symbols: readonly string[]): Promise<void> {
    const list = checkSymbols(symbols);
    if (this.state === 'starting' || this.state === 'running' || this.state === 'reconnecting') {
      if (sameSymbols(list, this.symbols) && this.startPromise !== null) return this.startPromise;
      return Promise.reject(
        new EngineStateError(
          'MDCAP_ERR_ENGINE_STATE',
          `start: the engine is ${this.state} with symbols ${this.symbols.join(',')}; found a call with ${list.join(',')} (stop() first)`,
        ),
      );
    }
    if (this.state === 'stopping') {
      return Promise.reject(
        new EngineStateError('MDCAP_ERR_ENGINE_STATE', 'start: the engine is stopping; await stop() before starting again'),
      );
    }
    if (this.state !== 'idle') this.resetRun();
    this.runId++;
    this.lostWhileStarting = null;
    this.symbols = list;
    this.symbolSet = new Set(list);
    this.state = 'starting';
    this.startPromise = this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    try {
      for (const def of this.provider.instruments?.() ?? []) this.instruments.add(def);
      await this.connectAndSubscribe();
    } catch (error) {
      this.activeSink = null;
      await this.provider.disconnect().catch(() => undefined);
      await this.finish('stopped');
      throw toMdcapError(error, 'MDCAP_ERR_CONNECT_FAILED', `could not start ${this.provider.venue}`);
    }
    if (this.state !== 'starting') return; // stop() was called meanwhile
    this.state = 'running';
    if (this.lostWhileStarting !== null) {
      const error = this.lostWhileStarting;
      this.lostWhileStarting = null;
      this.onLost(error);
      return;
    }
    this.provider.ready?.();
  }

  /**
   * Connects with a fresh sink and subscribes every symbol. If a newer attempt, a timeout or a
   * stop supersedes it while it waits, it throws {@link SUPERSEDED}; a connection that came up
   * after its run was stopped is closed again.
   */
  private async connectAndSubscribe(): Promise<void> {
    const gen = ++this.generation;
    const run = this.runId;
    const sink = this.makeSink(gen);
    this.activeSink = sink;
    const check = async (): Promise<void> => {
      if (this.generation === gen && this.activeSink === sink) return;
      if (this.runId === run && (this.state === 'stopping' || this.isFinished())) await this.provider.disconnect().catch(() => undefined);
      throw SUPERSEDED;
    };
    await this.provider.connect(sink);
    await check();
    if (this.pauseHolds > 0) this.provider.pause?.(); // backpressure survives a reconnect
    const kinds = this.options.kinds ?? this.provider.kinds;
    for (const s of this.symbols) {
      await this.provider.subscribe(s, kinds);
      await check();
    }
  }

  /**
   * Stops delivery, disconnects the provider, emits the bars still open (those whose end is
   * still ahead flagged `Partial`), delivers pending batches, and ends iterators. Idempotent:
   * later calls return the same promise.
   */
  stop(): Promise<void> {
    if (this.stopPromise !== null) return this.stopPromise;
    if (this.finishPromise !== null) return this.finishPromise;
    if (this.state === 'idle' || this.isFinished()) return Promise.resolve();
    this.stopPromise = (async () => {
      const wasStarting = this.state === 'starting';
      this.state = 'stopping';
      this.cancelReconnect();
      if (wasStarting) await this.startPromise?.catch(() => undefined);
      this.activeSink = null;
      try {
        await this.provider.disconnect();
      } catch (error) {
        this.report(toMdcapError(error, 'MDCAP_ERR_PROVIDER_CONTRACT', `${this.provider.venue}: disconnect failed`));
      }
      await this.finish('stopped');
    })();
    return this.stopPromise;
  }

  /**
   * Holds delivery until {@link resume}: the provider is asked to pause (a replay waits, the
   * simulated venue stops; a live feed applies its own policy). For a slow consumer outside the
   * engine, such as an output stream that is full. Holds nest: every `pause` needs a `resume`.
   */
  pause(): void {
    this.backpressure.hold();
  }

  /** Ends one {@link pause}. */
  resume(): void {
    this.backpressure.release();
  }

  /** Resolves when the engine has stopped, the data has ended, or reconnecting gave up. */
  done(): Promise<void> {
    return this.donePromise;
  }

  /** `start(symbols)`, then wait for the data to end (or `stop()`): the whole run of a finite provider. */
  async run(symbols: readonly string[]): Promise<void> {
    await this.start(symbols);
    await this.done();
  }

  get status(): EngineState {
    return this.state;
  }

  private isFinished(): boolean {
    return this.state === 'stopped' || this.state === 'ended' || this.state === 'failed';
  }

  private finish(state: 'stopped' | 'ended' | 'failed'): Promise<void> {
    this.finishPromise ??= this.doFinish(state);
    return this.finishPromise;
  }

  private async doFinish(state: 'stopped' | 'ended' | 'failed'): Promise<void> {
    this.state = 'stopping'; // from here no reconnect attempt may come back to life
    this.cancelReconnect();
    this.activeSink = null;
    const now = this.clock.now();
    this.counters.finishedAt = now;
    try {
      // Timers already due (a live host timer running late) close their bars at their own time,
      // as a replay that advances to `now` would.
      this.clock.runDue(now);
      this.bars.flush(now);
    } catch (error) {
      this.report(toMdcapError(error, 'MDCAP_ERR_PROVIDER_CONTRACT', 'flushing bars failed'));
    }
    const consumers = this.consumers;
    await Promise.all(consumers.map((c) => c.finish()));
    // Iterators are over (also any created while finishing); batch callbacks stay registered for a later start().
    for (const c of this.consumers) {
      if (c instanceof Batcher) continue;
      void c.finish();
      this.removeConsumer(c);
    }
    this.state = state;
    this.resolveDone();
  }

  private resetRun(): void {
    this.bars.reset();
    this.slots = new Map();
    this.pendingBooks = new Map();
    this.last[0] = MIN_TS;
    this.startPromise = null;
    this.stopPromise = null;
    this.finishPromise = null;
    this.counters.finishedAt = null;
    this.attempt = 0;
    this.donePromise = new Promise((resolve) => (this.resolveDone = resolve));
  }

  // ---- the provider's sink ------------------------------------------------------------------

  private makeSink(gen: number): EventSink {
    const live = (): boolean => this.activeSink === sink && this.generation === gen;
    const sink: EventSink = {
      push: (e: MarketEvent) => {
        if (this.activeSink === sink) this.ingest(e);
        else this.contractError(`push after disconnect: ${this.provider.venue} delivered an event after its connection was closed`);
      },
      lost: (error: unknown) => {
        if (live()) this.onLost(error);
      },
      end: (error?: unknown) => {
        if (!live()) return;
        if (error !== undefined) {
          this.report(toMdcapError(error, 'MDCAP_ERR_PROVIDER_CONTRACT', `${this.provider.venue}: the event stream failed`));
        }
        this.activeSink = null;
        void this.provider.disconnect().catch(() => undefined);
        void this.finish(error === undefined ? 'ended' : 'failed');
      },
    };
    return sink;
  }

  /**
   * The slot of a venue and symbol, created on first use. One Map lookup: a last-hit cache was
   * measured to cost more (a string compare and a store per event) than it saves.
   */
  private slot(venue: string, symbol: string): Slot {
    const head = this.slots.get(symbol) ?? null;
    for (let x = head; x !== null; x = x.next) {
      if (x.venue === venue) return x;
    }
    const created: Slot = { venue, symbol, subscribed: this.symbolSet.has(symbol), book: null, series: null, next: head };
    this.slots.set(symbol, created);
    return created;
  }

  /** Entry point of provider events: validate, run due timers, dispatch. Kept small: it runs for every event. */
  private ingest(e: MarketEvent): void {
    if (this.validating && !isWellFormed(e)) return this.rejectMalformed(e);
    const recv = e.tsRecv;
    if (recv < this.last[0]!) return this.rejectOutOfOrder(e);
    let slot: Slot | null = null;
    if (e.type !== 'status' || e.symbol !== ALL_SYMBOLS) {
      slot = this.slot(e.venue, e.symbol);
      if (!slot.subscribed) return this.rejectUnsubscribed(e);
    }
    this.last[0] = recv;
    this.clock.runDue(recv);
    // Callbacks and consumers registered while this event is dispatched start with the next one.
    const l = this.l;
    const consumers = this.consumers;
    if (l.event.length > 0) this.callEach(l.event, e, 'event');
    if (e.type === 'trade') this.dispatchTrade(e, slot!, l, consumers);
    else this.dispatch(e, slot, l, consumers);
  }

  private rejectMalformed(e: MarketEvent): void {
    this.counters.rejected++;
    try {
      validateEvent(e);
      this.report(new ProviderError('MDCAP_ERR_PROVIDER_CONTRACT', `${describeValue(e)}: not an event the engine accepts`));
    } catch (error) {
      this.report(error);
    }
  }

  private rejectOutOfOrder(e: MarketEvent): void {
    this.counters.rejected++;
    this.report(
      new ProviderError(
        'MDCAP_ERR_OUT_OF_ORDER',
        `${e.type} ${e.venue}:${e.symbol}: expected tsRecv at or after ${this.last[0]}, found ${e.tsRecv} (${this.last[0]! - e.tsRecv} ns earlier); events must arrive in tsRecv order`,
      ),
    );
  }

  private rejectUnsubscribed(e: MarketEvent): void {
    this.counters.rejected++;
    this.contractError(`${e.type} for ${e.venue}:${e.symbol}, a symbol that was not subscribed (subscribed: ${this.symbols.join(', ')})`);
  }

  /** Calls each listener with `e`; one that throws is reported and the rest still run. */
  private callEach<A>(list: readonly Listener<[A]>[], e: A, kind: keyof Listeners): void {
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(e);
      } catch (error) {
        this.callbackFailed(error, kind, i);
      }
    }
  }

  /** The hot path: one trade into bars, callbacks and consumers. */
  private dispatchTrade(e: Trade, slot: Slot, l: Listeners, consumers: readonly EventConsumer[]): void {
    this.counters.trades++;
    if (this.bars.active) {
      try {
        this.bars.addTrade((slot.series ??= this.bars.series(e.venue, e.symbol)), e);
      } catch (error) {
        this.report(error);
      }
    }
    const list = l.trade;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(e);
      } catch (error) {
        this.callbackFailed(error, 'trade', i);
      }
    }
    if (consumers.length > 0) toConsumers(consumers, e);
  }

  /** Every other kind, and the engine's own events (bars, statuses). */
  private dispatch(e: MarketEvent, slot: Slot | null, l: Listeners = this.l, consumers: readonly EventConsumer[] = this.consumers): void {
    switch (e.type) {
      case 'trade':
        this.dispatchTrade(e, slot ?? this.slot(e.venue, e.symbol), l, consumers);
        return;
      case 'quote':
        this.counters.quotes++;
        this.callEach(l.quote, e, 'quote');
        break;
      case 'book':
      case 'order': {
        const sl = slot ?? this.slot(e.venue, e.symbol);
        const book = (sl.book ??= this.newBook(e.venue, e.symbol));
        let crossed = false;
        if (e.type === 'book') this.counters.bookUpdates++;
        else this.counters.orderUpdates++;
        if (this.options.books) {
          try {
            crossed = e.type === 'book' ? book.applyBookUpdate(e) : book.applyOrderUpdate(e);
          } catch (error) {
            this.report(error);
          }
        }
        const list = (e.type === 'book' ? l.book : l.order) as Listener<[BookUpdate | OrderUpdate, BookView]>[];
        for (let i = 0; i < list.length; i++) {
          try {
            list[i]!(e, book);
          } catch (error) {
            this.callbackFailed(error, e.type, i);
          }
        }
        if (consumers.length > 0) toConsumers(consumers, e);
        if (crossed) this.dispatch(crossedStatus(e, book), sl);
        return;
      }
      case 'bar':
        this.counters.bars++;
        this.callEach(l.bar, e, 'bar');
        break;
      case 'status':
        this.counters.statuses++;
        this.applyStatus(e);
        this.callEach(l.status, e, 'status');
        if (e.kind === 'gap') this.callEach(l.gap, e, 'gap');
        else if (e.kind === 'reconnected') this.callEach(l.reconnect, e, 'reconnect');
        break;
    }
    if (consumers.length > 0) toConsumers(consumers, e);
  }

  /** A book for a venue and symbol: the one book(symbol) already handed out, if any. */
  private newBook(venue: string, symbol: string): OrderBook {
    const pending = this.pendingBooks.get(symbol);
    if (pending === undefined) return new OrderBook(venue, symbol);
    this.pendingBooks.delete(symbol);
    pending.bindVenue(venue);
    return pending;
  }

  private applyStatus(s: Status): void {
    if (this.bars.active) this.bars.onStatus(s);
    if (!INVALIDATING.has(s.kind) && !(s.kind === 'checksum' && s.ok === false)) return;
    if (s.symbol === ALL_SYMBOLS) {
      for (const head of this.slots.values()) {
        for (let x: Slot | null = head; x !== null; x = x.next) if (x.venue === s.venue) x.book?.invalidate();
      }
    } else {
      this.slot(s.venue, s.symbol).book?.invalidate();
    }
  }

  /**
   * The order book of a subscribed symbol. `venue` may be left out when only one venue has (or
   * will have) a book for the symbol.
   * @throws {MdcapError} `MDCAP_ERR_UNKNOWN_SYMBOL` for a symbol that was not subscribed,
   *   `MDCAP_ERR_INVALID_OPTION` when the venue is ambiguous or books are off.
   */
  book(symbol: string, venue?: string): BookView {
    if (!this.options.books) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', 'book: order books are turned off (options.books is false)');
    }
    if (!this.symbolSet.has(symbol)) {
      throw new MdcapError(
        'MDCAP_ERR_UNKNOWN_SYMBOL',
        `book: expected a subscribed symbol (${this.symbols.join(', ') || 'none yet'}), found ${describeValue(symbol)}`,
        { details: { symbol } },
      );
    }
    if (venue !== undefined) {
      const sl = this.slot(venue, symbol);
      return (sl.book ??= this.newBook(venue, symbol));
    }
    const candidates: OrderBook[] = [];
    for (let x = this.slots.get(symbol) ?? null; x !== null; x = x.next) if (x.book !== null) candidates.push(x.book);
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length === 0) {
      // No venue has sent a book update yet: hand out a book that the first venue to send one adopts.
      let pending = this.pendingBooks.get(symbol);
      if (pending === undefined) {
        pending = new OrderBook(this.provider.venue, symbol);
        this.pendingBooks.set(symbol, pending);
      }
      return pending;
    }
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `book: ${symbol} has books on ${candidates.map((b) => b.venue).join(' and ')}; expected a venue argument, found none`,
    );
  }

  // ---- reconnect ----------------------------------------------------------------------------

  private onLost(error: unknown): void {
    if (this.state === 'reconnecting') {
      this.attemptLost = error ?? new Error('connection lost');
      return;
    }
    if (this.state === 'starting') {
      this.lostWhileStarting = error ?? new Error('connection lost');
      return;
    }
    if (this.state !== 'running') return;
    this.activeSink = null; // the connection is gone: anything it still pushes is a contract error
    this.state = 'reconnecting';
    this.emitConnectionStatus('disconnected', `connection lost: ${errorText(error)}`);
    this.attempt = 0;
    this.scheduleReconnect();
  }

  private emitConnectionStatus(kind: 'disconnected' | 'reconnected', detail: string): void {
    // A buffering provider first delivers what the new connection already sent (its own
    // `connected` status, a snapshot): those came before this moment.
    if (kind === 'reconnected' && this.activeSink !== null) this.provider.poll?.(this.clock.now() + 1n);
    let now = this.clock.now();
    if (now < this.last[0]!) now = this.last[0]!;
    this.last[0] = now;
    this.clock.runDue(now);
    const status = createStatus({ venue: this.provider.venue, symbol: ALL_SYMBOLS, tsEvent: now, tsRecv: now, kind, detail });
    const l = this.l;
    const consumers = this.consumers;
    if (l.event.length > 0) this.callEach(l.event, status, 'event');
    this.dispatch(status, null, l, consumers);
  }

  private scheduleReconnect(): void {
    this.attempt++;
    const at = this.clock.now() + BigInt(reconnectDelayMs(this.options.reconnect, this.attempt)) * 1_000_000n;
    this.reconnectTimer = this.clock.setTimer(at, () => {
      this.reconnectTimer = null;
      void this.tryReconnect();
    });
  }

  private cancelReconnect(): void {
    if (this.reconnectTimer !== null) {
      this.clock.clearTimer(this.reconnectTimer);
      this.reconnectTimer = null;
    }
  }

  private async tryReconnect(): Promise<void> {
    if (this.state !== 'reconnecting') return;
    const run = this.runId;
    this.counters.reconnectAttempts++;
    this.attemptLost = null;
    const policy = this.options.reconnect;
    let failure: unknown = null;
    let timer: number | null = null;
    const attempt = this.connectAndSubscribe();
    attempt.catch(() => undefined); // after a timeout nobody awaits it; it ends as superseded
    try {
      await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          timer = this.clock.setTimer(this.clock.now() + BigInt(policy.connectTimeoutMs) * 1_000_000n, () =>
            reject(
              new ProviderError(
                'MDCAP_ERR_CONNECT_TIMEOUT',
                `${this.provider.venue}: expected to connect within ${policy.connectTimeoutMs} ms, found no connection after that`,
              ),
            ),
          );
        }),
      ]);
      if (this.attemptLost !== null) failure = this.attemptLost;
    } catch (error) {
      failure = error;
    } finally {
      if (timer !== null) this.clock.clearTimer(timer);
    }
    if (this.runId !== run || this.state !== 'reconnecting') return; // stopped (or restarted) meanwhile
    if (failure === null) {
      this.state = 'running';
      this.counters.reconnectSucceeded++;
      const attempts = this.attempt;
      this.attempt = 0;
      this.emitConnectionStatus('reconnected', `reconnected after ${attempts} attempt${attempts === 1 ? '' : 's'}`);
      this.provider.ready?.();
      return;
    }
    this.activeSink = null;
    await this.provider.disconnect().catch(() => undefined);
    if (this.runId !== run || this.state !== 'reconnecting') return;
    if (this.attempt >= policy.maxAttempts) {
      this.counters.gaveUp++;
      this.report(
        new ProviderError(
          'MDCAP_ERR_RECONNECT_GAVE_UP',
          `${this.provider.venue}: expected a connection within ${policy.maxAttempts} attempts, found ${policy.maxAttempts} consecutive failures; last: ${errorText(failure)}`,
          { cause: failure },
        ),
      );
      await this.finish('failed');
      return;
    }
    this.scheduleReconnect();
  }

  // ---- errors -------------------------------------------------------------------------------

  private wrapCallbackError(error: unknown, what: string): CallbackError {
    return new CallbackError('MDCAP_ERR_CALLBACK', `${what} threw: ${errorText(error)}`, { cause: error, details: { callback: what } });
  }

  private callbackFailed(error: unknown, kind: keyof Listeners, index: number): void {
    this.counters.callbackErrors++;
    this.report(this.wrapCallbackError(error, `${CALLBACK_NAMES[kind]} callback #${index + 1}`));
  }

  private contractError(message: string): void {
    this.report(new ProviderError('MDCAP_ERR_PROVIDER_CONTRACT', message));
  }

  private report(error: unknown): void {
    const e = toMdcapError(error, 'MDCAP_ERR_PROVIDER_CONTRACT', 'unexpected error');
    this.counters.errors++;
    const list = this.l.error;
    if (list.length === 0) {
      // Never silent: without an onError callback, errors go to stderr (the first few).
      if (this.counters.consoleErrors++ < MAX_CONSOLE_ERRORS) {
        printError(
          `mdcap engine: ${e.toString()}${this.counters.consoleErrors === MAX_CONSOLE_ERRORS ? ' (further errors are counted in stats().errors only)' : ''}`,
        );
      }
      return;
    }
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(e);
      } catch {
        // An onError callback that throws has nowhere left to report to; it is counted.
        this.counters.callbackErrors++;
      }
    }
  }

  stats(): EngineStats {
    let books = 0;
    if (this.options.books) {
      for (const head of this.slots.values()) for (let x: Slot | null = head; x !== null; x = x.next) if (x.book !== null) books++;
    }
    const c = this.counters;
    return {
      state: this.state,
      events: { trade: c.trades, quote: c.quotes, book: c.bookUpdates, order: c.orderUpdates, bar: c.bars, status: c.statuses },
      rejected: this.counters.rejected,
      callbackErrors: this.counters.callbackErrors,
      errors: this.counters.errors,
      bars: this.bars.stats(),
      reconnects: { attempts: this.counters.reconnectAttempts, succeeded: this.counters.reconnectSucceeded, gaveUp: this.counters.gaveUp },
      consumerDrops: this.consumers.reduce((n, c) => n + c.dropped, this.counters.retiredDrops),
      books,
      finishedAt: this.counters.finishedAt,
    };
  }
}

function toConsumers(consumers: readonly EventConsumer[], e: MarketEvent): void {
  for (let i = 0; i < consumers.length; i++) {
    const c = consumers[i]!;
    if (c.accepts(e.type)) c.push(e);
  }
}

function checkSymbols(input: readonly string[]): string[] {
  const symbols: unknown = input;
  if (!isList(symbols) || symbols.length === 0) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `start: expected a non-empty array of symbols, found ${describeValue(symbols)}`);
  }
  const seen = new Set<string>();
  for (const s of symbols) {
    if (typeof s !== 'string' || s === '' || s === ALL_SYMBOLS) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `start: expected symbols to be non-empty strings other than "*", found ${describeValue(s)}`,
      );
    }
    if (seen.has(s)) throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `start: expected distinct symbols, found ${describeValue(s)} twice`);
    seen.add(s);
  }
  return symbols as string[];
}

function isList(x: unknown): x is readonly unknown[] {
  return Array.isArray(x);
}

function sameSymbols(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(b);
  return a.length === b.length && a.every((s) => set.has(s));
}

function errorText(error: unknown): string {
  if (error instanceof MdcapError) return error.toString();
  if (error instanceof Error) return error.message;
  return describeValue(error);
}

function toMdcapError(error: unknown, code: MdcapError['code'], context: string): MdcapError {
  if (error instanceof MdcapError) return error;
  return new ProviderError(code, `${context}: ${errorText(error)}`, { cause: error });
}

function crossedStatus(e: BookUpdate | OrderUpdate, book: BookView): Status {
  const bid = book.bestBidPrice()!;
  const ask = book.bestAskPrice()!;
  const fmt = (p: bigint): string => formatDecimal(p, book.priceScale);
  return createStatus({
    venue: e.venue,
    symbol: e.symbol,
    tsEvent: e.tsEvent,
    tsRecv: e.tsRecv,
    seq: e.seq,
    kind: 'crossed',
    detail: `best bid ${fmt(bid)} ${bid === ask ? '=' : '>'} best ask ${fmt(ask)} (${bid === ask ? 'locked' : 'crossed'} book)`,
  });
}
