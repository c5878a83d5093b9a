import { ConfigError, describeValue } from '@mdcap/core';
import type { EventType, MarketEvent, TimerScheduler } from '@mdcap/core';

/**
 * Consumers that take events out of the synchronous dispatch: the async iterator
 * (`engine.events()`) and batch callbacks (`engine.onBatch()`). Both are bounded and declare what
 * happens when they fall behind the feed: `block` pauses the provider until they catch up
 * (nothing is lost), `drop` loses events and counts them.
 */

/** Something the engine pushes every dispatched event into. */
export interface EventConsumer {
  accepts(type: EventType): boolean;
  push(e: MarketEvent): void;
  /** The engine is finishing: deliver what is pending, then end. */
  finish(): Promise<void>;
  readonly dropped: number;
}

/** Pauses the provider while any consumer holds it. */
export interface Backpressure {
  hold(): void;
  release(): void;
}

export type SlowConsumerPolicy = 'block' | 'drop';

function kindFilter(kinds: readonly EventType[] | undefined): ReadonlySet<EventType> | null {
  return kinds === undefined ? null : new Set(kinds);
}

function positiveInt(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${name}: expected a positive integer, found ${describeValue(v)}`);
  }
  return v;
}

function policy(name: string, v: unknown): SlowConsumerPolicy {
  if (v === undefined) return 'block';
  if (v !== 'block' && v !== 'drop') {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${name}: expected block or drop, found ${describeValue(v)}`);
  }
  return v;
}

export interface EventStreamOptions {
  /** Only these event types (default: all, bars and statuses included). */
  readonly kinds?: readonly EventType[];
  /** Events buffered before the policy applies (default 10,000). */
  readonly highWaterMark?: number;
  /** `block` (default): pause the provider at the high-water mark. `drop`: drop the oldest buffered events and count them. */
  readonly overflow?: SlowConsumerPolicy;
}

/** Unbounded FIFO with amortized O(1) shift (used under `block`, where the provider is paused). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const x = this.items[this.head]!;
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** `engine.events()`: an async iterator over dispatched events. */
export class EventIterator implements AsyncIterableIterator<MarketEvent>, EventConsumer {
  private readonly filter: ReadonlySet<EventType> | null;
  private readonly hwm: number;
  private readonly policy: SlowConsumerPolicy;
  private readonly queue = new Fifo<MarketEvent>();
  private droppedEvents = 0;
  private waiter: ((r: IteratorResult<MarketEvent>) => void) | null = null;
  private ended = false;
  private holding = false;

  constructor(
    options: EventStreamOptions,
    private readonly backpressure: Backpressure,
    private readonly detach: (c: EventIterator) => void,
  ) {
    this.filter = kindFilter(options.kinds);
    this.hwm = positiveInt('events().highWaterMark', options.highWaterMark, 10_000);
    this.policy = policy('events().overflow', options.overflow);
  }

  get dropped(): number {
    return this.droppedEvents;
  }

  accepts(type: EventType): boolean {
    return this.filter === null || this.filter.has(type);
  }

  push(e: MarketEvent): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w({ value: e, done: false });
      return;
    }
    const q = this.queue;
    if (this.policy === 'drop' && q.length >= this.hwm) {
      q.shift(); // keep the newest highWaterMark events
      this.droppedEvents++;
    }
    q.push(e);
    if (this.policy === 'block' && !this.holding && q.length >= this.hwm) {
      this.holding = true;
      this.backpressure.hold();
    }
  }

  next(): Promise<IteratorResult<MarketEvent>> {
    const e = this.queue.shift();
    if (e !== undefined) {
      if (this.holding && this.queue.length <= this.hwm >>> 1) {
        this.holding = false;
        this.backpressure.release();
      }
      return Promise.resolve({ value: e, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<MarketEvent>> {
    void this.finish();
    this.detach(this);
    this.queue.clear();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<MarketEvent> {
    return this;
  }

  finish(): Promise<void> {
    this.ended = true;
    const w = this.waiter;
    this.waiter = null;
    w?.({ value: undefined, done: true });
    if (this.holding) {
      this.holding = false;
      this.backpressure.release();
    }
    return Promise.resolve();
  }
}

export interface BatchOptions {
  /** Deliver when this many events are waiting (default 1,000). */
  readonly maxEvents?: number;
  /** Deliver at most this long after the first waiting event, on the engine clock (default 100 ms). */
  readonly maxDelayMs?: number;
  /** Only these event types (default: all). */
  readonly kinds?: readonly EventType[];
  /** Batches waiting while the callback is busy (default 16). */
  readonly maxPending?: number;
  /** When `maxPending` batches wait: `block` (default) pauses the provider; `drop` drops the new batch and counts its events. */
  readonly overflow?: SlowConsumerPolicy;
  /**
   * Under `drop`, called with each batch dropped, so the consumer can say downstream what it
   * lost (a sink writes a gap status for it). Never called under `block`.
   */
  readonly onDrop?: (events: readonly MarketEvent[]) => void;
}

export type BatchCallback = (events: MarketEvent[]) => void | Promise<void>;

/** `engine.onBatch()`: collects events into arrays and hands them over one at a time. */
export class Batcher implements EventConsumer {
  private readonly filter: ReadonlySet<EventType> | null;
  private readonly maxEvents: number;
  private readonly maxDelayNs: bigint;
  private readonly maxPending: number;
  private readonly policy: SlowConsumerPolicy;
  private readonly onDrop: ((events: readonly MarketEvent[]) => void) | null;
  private current: MarketEvent[] = [];
  private timer: number | null = null;
  private readonly waiting: MarketEvent[][] = [];
  private busy: Promise<void> | null = null;
  private holding = false;
  private droppedEvents = 0;
  private deliveredBatches = 0;

  constructor(
    private readonly callback: BatchCallback,
    options: BatchOptions,
    private readonly clock: TimerScheduler,
    private readonly backpressure: Backpressure,
    private readonly onError: (error: unknown, batchSize: number) => void,
  ) {
    if (typeof callback !== 'function') {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `onBatch: expected a callback function, found ${describeValue(callback)}`);
    }
    this.filter = kindFilter(options.kinds);
    this.maxEvents = positiveInt('onBatch maxEvents', options.maxEvents, 1_000);
    this.maxDelayNs = BigInt(positiveInt('onBatch maxDelayMs', options.maxDelayMs, 100)) * 1_000_000n;
    this.maxPending = positiveInt('onBatch maxPending', options.maxPending, 16);
    this.policy = policy('onBatch overflow', options.overflow);
    this.onDrop = options.onDrop ?? null;
  }

  get dropped(): number {
    return this.droppedEvents;
  }

  get delivered(): number {
    return this.deliveredBatches;
  }

  accepts(type: EventType): boolean {
    return this.filter === null || this.filter.has(type);
  }

  push(e: MarketEvent): void {
    const cur = this.current;
    cur.push(e);
    if (cur.length >= this.maxEvents) this.cut();
    else if (cur.length === 1) this.timer = this.clock.setTimer(e.tsRecv + this.maxDelayNs, () => this.cut());
  }

  /** Closes the current batch and queues it for delivery. */
  private cut(): void {
    if (this.timer !== null) {
      this.clock.clearTimer(this.timer);
      this.timer = null;
    }
    const batch = this.current;
    if (batch.length === 0) return;
    this.current = [];
    if (this.busy === null) {
      this.deliver(batch);
      return;
    }
    if (this.waiting.length >= this.maxPending && this.policy === 'drop') {
      this.droppedEvents += batch.length;
      if (this.onDrop !== null) {
        try {
          this.onDrop(batch);
        } catch (error) {
          this.onError(error, batch.length);
        }
      }
      return;
    }
    this.waiting.push(batch);
    if (this.policy === 'block' && !this.holding && this.waiting.length >= this.maxPending) {
      this.holding = true;
      this.backpressure.hold();
    }
  }

  private deliver(batch: MarketEvent[]): void {
    this.deliveredBatches++;
    let result: void | Promise<void>;
    try {
      result = this.callback(batch);
    } catch (error) {
      this.onError(error, batch.length);
      this.next();
      return;
    }
    if (
      result instanceof Promise ||
      (typeof result === 'object' && result !== null && typeof (result as { then?: unknown }).then === 'function')
    ) {
      this.busy = Promise.resolve(result).then(
        () => this.next(),
        (error: unknown) => {
          this.onError(error, batch.length);
          this.next();
        },
      );
    } else {
      this.next();
    }
  }

  private next(): void {
    this.busy = null;
    const batch = this.waiting.shift();
    if (this.holding && this.waiting.length <= this.maxPending >>> 1) {
      this.holding = false;
      this.backpressure.release();
    }
    if (batch !== undefined) this.deliver(batch);
  }

  async finish(): Promise<void> {
    this.cut();
    while (this.busy !== null) await this.busy;
    if (this.holding) {
      this.holding = false;
      this.backpressure.release();
    }
  }
}
