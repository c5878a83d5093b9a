import { ALL_SYMBOLS, createStatus, nextTurn } from '@mdcap/core';
import type { Clock, DataProvider, EventSink, Instrument, MarketEvent, SequenceRule, SubscriptionKind } from '@mdcap/core';
import { DEFAULT_CAPACITY } from './options.js';
import type { OverflowPolicy, RingStats } from './options.js';
import { RingBuffer } from './ring-buffer.js';

export interface RingProviderOptions {
  /** Slots (default 65,536). */
  readonly capacity?: number;
  /**
   * When the consumer falls a whole ring behind (default `block`): `block` delivers the backlog
   * at once to make room (the producer waits, nothing is lost); `drop-newest` / `drop-oldest`
   * lose events, counted, and a `gap` status marks where.
   */
  readonly overflow?: OverflowPolicy;
}

export interface RingedProvider extends DataProvider {
  ringStats(): RingStats;
  /** The provider behind the ring (its own counters, its instruments). */
  readonly inner: DataProvider;
}

/**
 * Puts a ring between a provider and its consumer (the engine): the provider's events wait in a
 * {@link RingBuffer} and are delivered on a later turn of the event loop, so the network side
 * never waits for strategy code. Timers stay exact: the engine calls `poll(before)` before each
 * of its timers, and the ring first delivers what it holds from before that time. Events lost to
 * a drop policy become a `gap` status in the stream, never a silent hole.
 */
export function ringProvider(inner: DataProvider, options: RingProviderOptions = {}): RingedProvider {
  return new RingProvider(inner, options);
}

class RingProvider implements RingedProvider {
  readonly venue: string;
  readonly clock: Clock;
  readonly kinds: readonly SubscriptionKind[];
  readonly validatesEvents: boolean;
  readonly sequencing: SequenceRule;
  private readonly ring: RingBuffer<MarketEvent>;
  private sink: EventSink | null = null;
  private scheduled = false;
  private droppedSinceDrain = 0;
  private lastDelivered: MarketEvent | null = null;
  /** True while `drain` delivers: a nested drain would hand later events over before the current one. */
  private draining = false;
  /**
   * Under `block`, events the producer pushes into a full ring while the ring is being drained
   * (the producer runs inside a consumer callback, e.g. on a shared clock's timer): they cannot
   * wait and must not overtake, so they queue here, after the ring's contents.
   */
  private spill: MarketEvent[] = [];
  private spillHead = 0;
  /** End or loss of the connection, reported during a drain: it waits until the events before it are delivered. */
  private pendingEnd: (() => void)[] = [];

  constructor(
    readonly inner: DataProvider,
    options: RingProviderOptions,
  ) {
    this.venue = inner.venue;
    this.clock = inner.clock;
    this.kinds = inner.kinds;
    this.validatesEvents = inner.validatesEvents === true;
    this.sequencing = inner.sequencing ?? 'contiguous';
    this.ring = new RingBuffer({ capacity: options.capacity ?? DEFAULT_CAPACITY, overflow: options.overflow ?? 'block' });
  }

  instruments(): Iterable<Instrument> {
    return this.inner.instruments?.() ?? [];
  }

  ringStats(): RingStats {
    return this.ring.stats();
  }

  connect(sink: EventSink): Promise<void> {
    this.sink = sink;
    const into: EventSink = {
      push: (e) => this.enqueue(e),
      lost: (error) => this.afterDelivery(() => sink.lost(error)),
      end: (error) => this.afterDelivery(() => (error === undefined ? sink.end() : sink.end(error))),
    };
    return this.inner.connect(into);
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    return this.inner.subscribe(symbol, kinds);
  }

  unsubscribe(symbol: string): Promise<void> {
    return this.inner.unsubscribe?.(symbol) ?? Promise.resolve();
  }

  ready(): void {
    this.inner.ready?.();
  }

  disconnect(): Promise<void> {
    this.sink = null;
    this.ring.clear();
    this.spill = [];
    this.spillHead = 0;
    this.pendingEnd = [];
    return this.inner.disconnect();
  }

  /** `await using` support: disconnects at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  pause(): void {
    this.inner.pause?.();
  }

  resume(): void {
    this.inner.resume?.();
  }

  poll(before: bigint): void {
    this.drain(before);
    this.inner.poll?.(before);
  }

  private enqueue(e: MarketEvent): void {
    const ring = this.ring;
    if (ring.overflow === 'block' && (this.spill.length > 0 || (ring.full && this.draining))) {
      this.spill.push(e); // behind the ring's contents (see `spill`)
    } else {
      if (ring.full) {
        if (ring.overflow === 'block')
          this.drain(null); // the producer does the consumer's work: nothing is lost
        else this.droppedSinceDrain++;
      }
      ring.push(e); // cannot fail under block after a drain
    }
    if (!this.scheduled) {
      this.scheduled = true;
      void nextTurn().then(() => {
        this.scheduled = false;
        this.drain(null);
      });
    }
  }

  /** Runs `report` (end or loss of the connection) after every event buffered before it. */
  private afterDelivery(report: () => void): void {
    if (this.draining) {
      this.pendingEnd.push(report);
      return;
    }
    this.drain(null);
    report();
  }

  /** Delivers buffered events (those stamped before `before`, or all). */
  private drain(before: bigint | null): void {
    const sink = this.sink;
    // Nested (a consumer callback ran a timer that polls): the outer drain goes on in order.
    if (sink === null || this.draining) return;
    this.draining = true;
    try {
      const ring = this.ring;
      const dropOldest = ring.overflow === 'drop-oldest';
      if (this.droppedSinceDrain > 0 && dropOldest) this.markLoss(sink, ring.peek() ?? this.lastDelivered);
      for (;;) {
        let e = ring.peek();
        if (e === undefined) {
          e = this.spill[this.spillHead];
          if (e === undefined || (before !== null && e.tsRecv >= before)) break;
          if (++this.spillHead === this.spill.length) {
            this.spill = [];
            this.spillHead = 0;
          }
        } else {
          if (before !== null && e.tsRecv >= before) break;
          ring.shift();
        }
        this.lastDelivered = e;
        sink.push(e);
        if (this.sink !== sink) return; // disconnected by a callback
      }
      if (this.droppedSinceDrain > 0 && ring.length === 0) this.markLoss(sink, this.lastDelivered);
    } finally {
      this.draining = false;
    }
    if (this.pendingEnd.length > 0) {
      const reports = this.pendingEnd;
      this.pendingEnd = [];
      this.drain(null);
      for (const report of reports) report();
    }
  }

  /** A gap status where events were lost to the drop policy. */
  private markLoss(sink: EventSink, near: MarketEvent | null): void {
    const n = this.droppedSinceDrain;
    this.droppedSinceDrain = 0;
    const ts = near?.tsRecv ?? this.clock.now();
    sink.push(
      createStatus({
        venue: this.venue,
        symbol: ALL_SYMBOLS,
        tsEvent: ts,
        tsRecv: ts,
        kind: 'gap',
        detail: `${n} event${n === 1 ? '' : 's'} dropped by the ring (${this.ring.overflow}, capacity ${this.ring.capacity})`,
      }),
    );
  }
}
