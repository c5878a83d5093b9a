import type { TradeBatch } from './columns.js';
import type { Clock } from './clock.js';
import { VirtualClock } from './clock.js';
import { nextTurn } from './host.js';
import { PauseGate } from './pause-gate.js';
import { ProviderError, describeValue } from './errors.js';
import type { EventType, MarketEvent } from './events.js';
import { ALL_SYMBOLS } from './events.js';
import type { Instrument } from './instruments.js';

/**
 * The contract between a source of market data (a venue feed, a replay, the simulator) and
 * the engine. See docs/provider-contract.md for the rules in full; in short:
 *
 * 1. The engine calls `connect(sink)`, then `subscribe(symbol, kinds)` for each symbol, then
 *    `ready()`. From `ready()` on (live providers: from `connect`), the provider calls
 *    `sink.push(event)` for each event.
 * 2. Events are delivered in non-decreasing `tsRecv`, stamped from `provider.clock`, which is
 *    the engine's clock too. Delivered events are never mutated afterwards.
 * 3. A dropped connection is reported once with `sink.lost(error)`; the engine then runs its
 *    reconnect policy (calling `connect`, `subscribe`… again). A finite source calls `sink.end()`
 *    when it has no more data, or `sink.end(error)` when it cannot go on.
 * 4. `disconnect()` stops delivery; nothing is pushed after it resolves.
 */

/**
 * What a venue's `seq` promises, which is what `mdcap verify` checks a capture against (a
 * recorder keeps each provider's rule in the capture's manifest):
 * - `contiguous`: one counter per symbol across every kind, +1 per message (the demo venue,
 *   LOBSTER rows): a jump is lost data;
 * - `monotonic-per-kind`: per symbol and kind the ids only grow, by any step (Binance depth and
 *   bookTicker `u`, aggregate trade ids; Coinbase sequences; Databento, whose records are
 *   numbered by their channel's packets): only order and repeats can be checked, and the feed
 *   itself records a gap status for every break it can see.
 * Venues without sequence numbers (Kraken v1) send `seq` null; nothing to check.
 */
export type SequenceRule = 'contiguous' | 'monotonic-per-kind';

/** What a symbol can be subscribed to. Status events are always delivered. */
export type SubscriptionKind = Exclude<EventType, 'status'>;

export const SUBSCRIPTION_KINDS: readonly SubscriptionKind[] = ['trade', 'quote', 'book', 'order', 'bar'];

export interface EventSink {
  /** Delivers one event. */
  push(event: MarketEvent): void;
  /**
   * Delivers consecutive trades at once, as columns (what `push` would do for each row, in
   * order); the batch is read during the call only. `more` is asked after each row a callback
   * saw: false (a callback paused or sought) stops there. Returns the index of the first row not
   * delivered (`batch.end` when all were): the provider goes on from it. Optional: a provider
   * checks that it is there.
   */
  pushTrades?(batch: TradeBatch, more?: () => boolean): number;
  /** The connection dropped; the engine will reconnect on its policy. */
  lost(error: unknown): void;
  /** No more data will come (a finished replay), or, with an error, none can. */
  end(error?: unknown): void;
}

export interface DataProvider {
  /** The venue this provider speaks for (`coinbase`, `demo`, …), or a name for a multi-venue source. */
  readonly venue: string;
  /** The clock the provider stamps `tsRecv` with; the engine runs on it too. */
  readonly clock: Clock;
  /** The kinds this provider can deliver. */
  readonly kinds: readonly SubscriptionKind[];
  /**
   * True if every event this provider delivers is already known to be well formed (built with
   * the `create*` factories, which validate, or decoded from typed columns). The engine then
   * skips its per-event validation; it still checks order and subscriptions.
   */
  readonly validatesEvents?: boolean;
  /** How the venue numbers its messages (default `contiguous`); a recorder keeps it in the capture. */
  readonly sequencing?: SequenceRule;
  /** A multi-venue source: each venue's sequencing rule (then `sequencing` is not read). */
  readonly venueSequencing?: Readonly<Record<string, SequenceRule>>;
  /** Instrument definitions the provider knows (scales, tick sizes…). */
  instruments?(): Iterable<Instrument>;
  /** Opens the connection. Rejects if it cannot; the engine decides whether to retry. */
  connect(sink: EventSink): Promise<void>;
  /** Subscribes one symbol to some kinds. Rejects with `MDCAP_ERR_UNKNOWN_SYMBOL` for a symbol it does not have. */
  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void>;
  unsubscribe?(symbol: string): Promise<void>;
  /** All initial subscriptions are in: replays and simulations start delivering now. */
  ready?(): void;
  /** Closes the connection; idempotent. */
  disconnect(): Promise<void>;
  /** Flow control: stop delivering until `resume()` (backpressure from a slow consumer). */
  pause?(): void;
  resume?(): void;
  /**
   * Delivers, synchronously, every event already received and stamped before `before` but not
   * yet pushed (providers that buffer, such as a ring fed by a worker thread). The engine calls
   * it before each of its timers runs, so a timer due at `before` fires after those events, as
   * it would in a replay.
   */
  poll?(before: bigint): void;
}

/** A source that only yields one stream of events. The engine wraps it with {@link streamProvider}. */
export type EventSource = AsyncIterable<MarketEvent> | Iterable<MarketEvent>;

export interface EventStreamProvider {
  readonly venue?: string;
  readonly clock?: Clock;
  events(): EventSource;
  instruments?(): Iterable<Instrument>;
}

const REQUIRED: readonly (keyof DataProvider)[] = ['connect', 'subscribe', 'disconnect'];

/** True if `x` has the typed streaming interface (`connect`, `subscribe`, `disconnect` and a `clock`). */
export function isDataProvider(x: unknown): x is DataProvider {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return REQUIRED.every((k) => typeof o[k] === 'function') && typeof o['clock'] === 'object' && o['clock'] !== null;
}

function isIterable(x: unknown): x is EventSource {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<symbol, unknown>;
  return typeof o[Symbol.asyncIterator] === 'function' || typeof o[Symbol.iterator] === 'function';
}

/**
 * Returns `x` if it is a {@link DataProvider}; wraps an event stream (an iterable or async
 * iterable of events, or an object with `events()`) with {@link streamProvider}; anything else is
 * a contract error that says what is missing.
 */
export function toDataProvider(x: unknown): DataProvider {
  if (isDataProvider(x)) return x;
  if (isIterable(x)) return streamProvider({ events: () => x });
  if (typeof x === 'object' && x !== null && typeof (x as { events?: unknown }).events === 'function') {
    return streamProvider(x as EventStreamProvider);
  }
  let found = describeValue(x);
  if (typeof x === 'object' && x !== null) {
    const o = x as Record<string, unknown>;
    const missing = [...REQUIRED, 'clock'].filter((k) => o[k] === undefined || o[k] === null);
    found = `an object missing ${missing.join(', ')} and without events()`;
  }
  throw new ProviderError(
    'MDCAP_ERR_PROVIDER_CONTRACT',
    `expected a DataProvider (connect, subscribe, disconnect, clock) or an event stream (an iterable of events, or an object with events()), found ${found}`,
  );
}

export interface StreamProviderOptions {
  /** How many events to push between yields to the host event loop (default 1024). */
  readonly yieldEvery?: number;
  /**
   * When the stream ends, move a virtual clock to this time before ending (so timers due
   * before it, bar closes among them, fire): the time the recorded run stopped.
   */
  readonly endAt?: bigint;
}

/**
 * Adapts a plain stream of events to the {@link DataProvider} contract: subscriptions filter
 * the stream by symbol and kind (statuses for subscribed symbols and for `*` always pass), a
 * virtual clock (unless the source brings a clock) follows each event's `tsRecv`, and `pause`
 * holds the stream. Errors thrown by the stream end it with `sink.end(error)`; the stream is
 * never restarted, since that would deliver its events twice.
 */
export function streamProvider(source: EventStreamProvider, options: StreamProviderOptions = {}): DataProvider {
  return new StreamProvider(source, options.yieldEvery ?? 1024, options.endAt ?? null);
}

class StreamProvider implements DataProvider {
  readonly venue: string;
  readonly clock: Clock;
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS;
  private sink: EventSink | null = null;
  private readonly subscribed = new Map<string, ReadonlySet<string>>();
  /** Each connection gets its own pump; a pump whose connection is gone stops at its next step. */
  private connection = 0;
  private pumping = 0; // the connection whose pump runs, 0 for none
  private readonly gate = new PauseGate();

  constructor(
    private readonly source: EventStreamProvider,
    private readonly yieldEvery: number,
    private readonly endAt: bigint | null,
  ) {
    this.venue = source.venue ?? 'stream';
    this.clock = source.clock ?? new VirtualClock(0n);
  }

  instruments(): Iterable<Instrument> {
    return this.source.instruments?.() ?? [];
  }

  connect(sink: EventSink): Promise<void> {
    this.connection++;
    this.sink = sink;
    this.subscribed.clear();
    return Promise.resolve();
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    this.subscribed.set(symbol, new Set(kinds));
    return Promise.resolve();
  }

  unsubscribe(symbol: string): Promise<void> {
    this.subscribed.delete(symbol);
    return Promise.resolve();
  }

  ready(): void {
    if (this.sink === null || this.pumping === this.connection) return;
    this.pumping = this.connection;
    void this.pump(this.connection, this.sink);
  }

  disconnect(): Promise<void> {
    this.connection++; // ends the running pump
    this.sink = null;
    this.gate.resume();
    return Promise.resolve();
  }

  /** `await using` support: disconnects at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
  }

  private accepts(e: MarketEvent): boolean {
    if (e.type === 'status' && e.symbol === ALL_SYMBOLS) return true;
    const kinds = this.subscribed.get(e.symbol);
    return kinds !== undefined && (e.type === 'status' || kinds.has(e.type));
  }

  /**
   * Delivers the stream to `sink` while `connection` is current. Each run reads the source from
   * its start (`events()` is called again); a stream is never resumed where a previous run left it.
   */
  private async pump(connection: number, sink: EventSink): Promise<void> {
    const live = (): boolean => this.connection === connection;
    await nextTurn(); // let the caller of start() attach its consumers first
    let iterator: Iterator<MarketEvent> | AsyncIterator<MarketEvent> | undefined;
    try {
      const stream = this.source.events();
      iterator =
        typeof (stream as AsyncIterable<MarketEvent>)[Symbol.asyncIterator] === 'function'
          ? (stream as AsyncIterable<MarketEvent>)[Symbol.asyncIterator]()
          : (stream as Iterable<MarketEvent>)[Symbol.iterator]();
      let sinceYield = 0;
      for (;;) {
        await this.gate.open();
        if (!live()) break;
        const step = await iterator.next();
        if (step.done === true || !live()) break;
        const e = step.value;
        // The engine checks each event and moves a virtual clock to its tsRecv; a malformed or
        // out-of-order event must not move the clock first.
        if (this.accepts(e)) sink.push(e);
        if (++sinceYield >= this.yieldEvery) {
          sinceYield = 0;
          await nextTurn();
        }
      }
      if (live()) {
        if (this.endAt !== null && this.clock.kind === 'virtual' && this.endAt > this.clock.now()) this.clock.runDue(this.endAt);
        sink.end();
      }
    } catch (error) {
      if (live()) sink.end(error);
    } finally {
      if (this.pumping === connection) this.pumping = 0;
      if (!live()) await iterator?.return?.();
    }
  }
}
