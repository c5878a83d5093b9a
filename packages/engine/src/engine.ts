import { ALL_SYMBOLS, ConfigError, EngineStateError, InstrumentRegistry, ProviderError, describeValue, toDataProvider } from '@mdcap/core';
import type {
  Bar,
  TradeBatch,
  Broker,
  Fill,
  OrderState,
  BookUpdate,
  Clock,
  DataProvider,
  EventSink,
  MarketEvent,
  OrderUpdate,
  Quote,
  Status,
  TimerId,
  TimerScheduler,
  Trade,
  MdcapError,
} from '@mdcap/core';
import type { BookView } from './book.js';
import { Batcher, EventIterator } from './consumers.js';
import type { BatchCallback, BatchOptions, EventStreamOptions } from './consumers.js';
import { Dispatcher, errorText, toMdcapError } from './dispatch.js';
import type { Unsubscribe } from './dispatch.js';
import { resolveOptions } from './options.js';
import type { EngineOptions, EngineState, EngineStats, ResolvedOptions } from './options.js';
import { reconnectDelayMs } from './reconnect.js';

/** Thrown inside a connect attempt that a newer attempt, a timeout or a stop has superseded. */
const SUPERSEDED = new Error('superseded connection attempt');

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
  private readonly options: ResolvedOptions;
  /** Callbacks, consumers, slots, bars and books: everything per event (dispatch.ts). */
  private readonly d: Dispatcher;
  private state: EngineState = 'idle';
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
  private broker: Broker | null = null;
  private counters = { reconnectAttempts: 0, reconnectSucceeded: 0, gaveUp: 0, finishedAt: null as bigint | null };
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
    const o = resolveOptions(options, this.provider);
    this.options = o;
    this.instruments = new InstrumentRegistry(options.instruments);
    this.d = new Dispatcher(this.clock, this.timers, {
      books: this.options.books,
      validate: this.options.validate,
      venue: this.provider.venue,
      bars: o.bars,
      reuseEvents: o.reuseEvents,
    });
    this.donePromise = new Promise((resolve) => (this.resolveDone = resolve));
  }

  // ---- registration -----------------------------------------------------------------------

  /** Every trade. Returns a function that removes the callback. */
  onTrade(cb: (trade: Trade) => void): Unsubscribe {
    return this.d.add('trade', cb);
  }
  /** Every quote (top of book as the venue publishes it). */
  /**
   * Trades in batches of typed columns, for vectorised strategies: rows `start` to `end` of the
   * batch's arrays, each batch cut at the engine's timers (a bar closes between two batches,
   * never inside one). A batch comes after the per-trade callbacks of its rows. Providers that
   * deliver columns (a replay) send them as they are, with no object per trade; others' trades
   * come one row at a time. The batch is a view, valid during the call only (see
   * {@link TradeBatch}). Returns a function that removes the callback.
   */
  onTrades(cb: (batch: TradeBatch) => void): Unsubscribe {
    return this.d.add('trades', cb);
  }

  onQuote(cb: (quote: Quote) => void): Unsubscribe {
    return this.d.add('quote', cb);
  }
  /** Every L2 book update, after it is applied to `book`. */
  onBookUpdate(cb: (update: BookUpdate, book: BookView) => void): Unsubscribe {
    return this.d.add('book', cb);
  }
  /** Every L3 order update, after it is applied to `book`. */
  onOrderUpdate(cb: (update: OrderUpdate, book: BookView) => void): Unsubscribe {
    return this.d.add('order', cb);
  }
  /** Every bar: the engine's (see {@link setBarInterval}) and any a provider delivers. */
  onBar(cb: (bar: Bar) => void): Unsubscribe {
    return this.d.add('bar', cb);
  }
  /** Every status: connection changes, gaps, resyncs, checksum results, crossed books. */
  onStatus(cb: (status: Status) => void): Unsubscribe {
    return this.d.add('status', cb);
  }
  /** Sequence gaps (status kind `gap`), after `onStatus`. */
  onGap(cb: (status: Status) => void): Unsubscribe {
    return this.d.add('gap', cb);
  }
  /** Successful reconnects (status kind `reconnected`), after books were cleared and `onStatus` ran. */
  onReconnect(cb: (status: Status) => void): Unsubscribe {
    return this.d.add('reconnect', cb);
  }
  /** Errors: throwing callbacks, contract violations, failed reconnects. The engine keeps running. */
  onError(cb: (error: MdcapError) => void): Unsubscribe {
    return this.d.add('error', cb);
  }
  /**
   * Every event the provider delivers, plus the connection statuses the engine itself emits
   * (`disconnected`, `reconnected`), before any other callback: the stream `mdcap record`
   * captures. Derived events (bars, crossed-book statuses) are not included.
   */
  onEvent(cb: (event: MarketEvent) => void): Unsubscribe {
    return this.d.add('event', cb);
  }

  // ---- orders (a broker attached by @mdcap/backtest) ----------------------------------------

  /**
   * The broker a backtest or paper session attached (`attachBroker` of `@mdcap/backtest`): submit,
   * cancel, replace, open orders, positions, PnL.
   * @throws {EngineStateError} `MDCAP_ERR_NO_BROKER` when none is attached.
   */
  get orders(): Broker {
    if (this.broker === null) {
      throw new EngineStateError(
        'MDCAP_ERR_NO_BROKER',
        'engine.orders: expected a broker attached to this engine (attachBroker from @mdcap/backtest), found none',
      );
    }
    return this.broker;
  }

  /**
   * Runs `callback` at clock time `at`, as the engine runs its bar timers: in a replay before the
   * first event stamped at or after `at`; a buffering provider first delivers what it holds from
   * before `at`. For brokers (order latency) and strategies (timed decisions).
   */
  setTimer(at: bigint, callback: () => void): TimerId {
    return this.timers.setTimer(at, callback);
  }

  clearTimer(id: TimerId): void {
    this.timers.clearTimer(id);
  }

  /** True when a broker is attached. */
  get hasBroker(): boolean {
    return this.broker !== null;
  }

  /**
   * Attaches the broker that `orders`, `onFill` and `onOrder` use; `attachBroker` calls it.
   * @throws {EngineStateError} `MDCAP_ERR_ENGINE_STATE` if another one is attached.
   */
  attachBroker(broker: Broker): void {
    if (this.broker !== null && this.broker !== broker) {
      throw new EngineStateError('MDCAP_ERR_ENGINE_STATE', 'attachBroker: expected an engine without a broker, found one attached');
    }
    this.broker = broker;
  }

  /** Every fill of the strategy's own orders, when the strategy learns of it (see `engine.orders`). */
  onFill(cb: (fill: Fill) => void): Unsubscribe {
    return this.orders.onFill(cb);
  }

  /** Every change of the strategy's own orders: acknowledged, filled, cancelled, rejected. */
  onOrder(cb: (order: OrderState) => void): Unsubscribe {
    return this.orders.onOrder(cb);
  }

  /** Batches of dispatched events, cut by count or time (see {@link BatchOptions}). */
  onBatch(cb: BatchCallback, options: BatchOptions = {}): Unsubscribe {
    this.requirePause(options.overflow, 'onBatch');
    const b = new Batcher(cb, options, this.timers, this.backpressure, (error, size) =>
      this.d.report(this.d.wrapCallbackError(error, `onBatch callback (batch of ${size})`)),
    );
    this.d.consumers = [...this.d.consumers, b];
    return () => this.d.removeConsumer(b);
  }

  /**
   * An async iterator over dispatched events (bars and statuses included unless `kinds` says
   * otherwise), for strategy tests: `for await (const e of engine.events()) …`. It ends when the
   * engine stops or the data ends; leaving the loop detaches it. Create it before `start()` to
   * see the first events.
   */
  events(options: EventStreamOptions = {}): AsyncIterableIterator<MarketEvent> {
    this.requirePause(options.overflow, 'events()');
    const it = new EventIterator(options, this.backpressure, (c) => this.d.removeConsumer(c));
    if (this.isFinished() || this.finishPromise !== null) void it.finish();
    else this.d.consumers = [...this.d.consumers, it];
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
    for (const s of seconds) this.d.bars.addInterval(s);
    return this;
  }

  /** Intervals turned on, in seconds. */
  get barIntervals(): number[] {
    return this.d.bars.intervalSeconds;
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
      if (sameSymbols(list, this.d.symbols) && this.startPromise !== null) return this.startPromise;
      return Promise.reject(
        new EngineStateError(
          'MDCAP_ERR_ENGINE_STATE',
          `start: the engine is ${this.state} with symbols ${this.d.symbols.join(',')}; found a call with ${list.join(',')} (stop() first)`,
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
    this.d.setSymbols(list);
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
    for (const s of this.d.symbols) {
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
        this.d.report(toMdcapError(error, 'MDCAP_ERR_PROVIDER_CONTRACT', `${this.provider.venue}: disconnect failed`));
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
      this.d.bars.flush(now);
    } catch (error) {
      this.d.report(toMdcapError(error, 'MDCAP_ERR_PROVIDER_CONTRACT', 'flushing bars failed'));
    }
    const consumers = this.d.consumers;
    await Promise.all(consumers.map((c) => c.finish()));
    // Iterators are over (also any created while finishing); batch callbacks stay registered for a later start().
    for (const c of this.d.consumers) {
      if (c instanceof Batcher) continue;
      void c.finish();
      this.d.removeConsumer(c);
    }
    this.state = state;
    this.resolveDone();
  }

  private resetRun(): void {
    this.d.reset();
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
        if (this.activeSink === sink) this.d.ingest(e);
        else this.d.contractError(`push after disconnect: ${this.provider.venue} delivered an event after its connection was closed`);
      },
      pushTrades: (b: TradeBatch, more?: () => boolean): number => {
        if (this.activeSink !== sink) {
          this.d.contractError(`push after disconnect: ${this.provider.venue} delivered trades after its connection was closed`);
          return b.start;
        }
        return this.d.ingestTrades(b, more === undefined ? live : () => live() && more());
      },
      lost: (error: unknown) => {
        if (live()) this.onLost(error);
      },
      end: (error?: unknown) => {
        if (!live()) return;
        if (error !== undefined) {
          this.d.report(toMdcapError(error, 'MDCAP_ERR_PROVIDER_CONTRACT', `${this.provider.venue}: the event stream failed`));
        }
        this.activeSink = null;
        void this.provider.disconnect().catch(() => undefined);
        void this.finish(error === undefined ? 'ended' : 'failed');
      },
    };
    return sink;
  }

  /**
   * The order book of a subscribed symbol. `venue` may be left out when only one venue has (or
   * will have) a book for the symbol.
   * @throws {MdcapError} `MDCAP_ERR_UNKNOWN_SYMBOL` for a symbol that was not subscribed,
   *   `MDCAP_ERR_INVALID_OPTION` when the venue is ambiguous or books are off.
   */
  book(symbol: string, venue?: string): BookView {
    return this.d.book(symbol, venue);
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
    this.d.emitStatus(this.provider.venue, kind, detail);
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
      this.d.report(
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

  stats(): EngineStats {
    const c = this.d.counters;
    return {
      state: this.state,
      events: this.d.eventCounts(),
      rejected: c.rejected,
      callbackErrors: c.callbackErrors,
      errors: c.errors,
      bars: this.d.bars.stats(),
      reconnects: { attempts: this.counters.reconnectAttempts, succeeded: this.counters.reconnectSucceeded, gaveUp: this.counters.gaveUp },
      consumerDrops: this.d.consumers.reduce((n, x) => n + x.dropped, c.retiredDrops),
      books: this.d.bookCount(),
      finishedAt: this.counters.finishedAt,
    };
  }

  /** `await using engine = new RealtimeEngine(…)`: stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
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
