import { Worker } from 'node:worker_threads';
import { describeValue, LiveClock, MdcapError, nextTurn, RingError } from '@mdcap/core';
import type { DataProvider, EventSink, Instrument, SequenceRule, SubscriptionKind } from '@mdcap/core';
import { createSharedRing, errorFromWire, EVENT_RECORD_BYTES, EventRecordReader } from '@mdcap/ring';
import type { EventRecordHandler, RingStats, WireError } from '@mdcap/ring';
import { venueSpec } from '../venues.js';
import type { VenueFeedOptions, VenueName } from '../venues.js';
import type { FeedWorkerData, FeedWorkerRequest } from './feed-worker.js';
import type { WsFeedStats } from './ws-feed.js';

const BUSY = 0;
const MAIN_WAITING = 1;
/** Events handed to the engine per turn of the event loop, so timers and I/O get their turns. */
const SLICE = 4096;
/** Longest wait in `poll(before)` for the handler thread to finish stamping (a stuck thread is not waited for longer). */
const POLL_WAIT_MS = 2000;

export interface WorkerFeedOptions extends VenueFeedOptions {
  /** The engine's clock; the handler thread reads the very same time (default: a new LiveClock). */
  readonly clock?: LiveClock;
  /** Ring slots between the handler thread and the engine, a power of two (default 65,536 records of 128 bytes). */
  readonly capacity?: number;
  /** `block` (default: a full ring holds the socket back, nothing is lost) or `drop-newest` (a gap status counts the loss). */
  readonly overflow?: 'block' | 'drop-newest';
}

interface Reply {
  readonly id: number;
  readonly error?: WireError;
  readonly instruments: Instrument[];
  readonly stats: WsFeedStats;
}

/** The built worker script (from sources under test, the compiled one in dist/). */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../../dist/transport/feed-worker.js', here) : new URL('./feed-worker.js', here);
}

/**
 * A venue feed whose handler runs on a worker thread: the socket, JSON parsing, book sync,
 * checksums and REST snapshots happen there, and the events cross to the engine through a
 * shared ring of binary event records ({@link EventRecordReader}), with no structured cloning.
 * Same events, same statuses, same order as the venue's {@link WsFeed} on the main thread.
 *
 * Timers stay exact (contract rule 2): before an engine timer due at `before` runs, `poll`
 * delivers every event the handler stamped before `before`, waiting for the handler thread to
 * finish a frame it is stamping (see feed-worker.ts for the protocol).
 */
export class WorkerFeed implements DataProvider {
  readonly venue: string;
  readonly clock: LiveClock;
  readonly kinds: readonly SubscriptionKind[];
  readonly sequencing: SequenceRule;
  readonly validatesEvents = true;
  /** The WebSocket URL the handler connects to. */
  readonly endpoint: string;
  private lastStats: WsFeedStats = { frames: 0, malformed: 0, venueErrors: 0, staleDetections: 0, connects: 0 };
  private known: Instrument[];
  private worker: Worker | null = null;
  private reader: EventRecordReader | null = null;
  private control = new Int32Array(new SharedArrayBuffer(8));
  private retired = { pushed: 0, popped: 0, drops: 0, highWater: 0 };
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private sink: EventSink | null = null;
  private reading = false;
  private paused = false;
  private wake: (() => void) | null = null;
  private raw: FeedWorkerRequest | null = null;
  private readonly handler: EventRecordHandler = {
    event: (e) => this.sink?.push(e),
    lost: (error) => this.sink?.lost(error),
    end: (error) => (error === undefined ? this.sink?.end() : this.sink?.end(error)),
  };

  constructor(
    private readonly name: VenueName,
    private readonly options: WorkerFeedOptions = {},
  ) {
    const spec = venueSpec(name, options); // validates the options here, on the caller's thread
    this.venue = spec.name;
    this.kinds = spec.kinds;
    this.sequencing = spec.sequencing ?? 'contiguous';
    this.endpoint = options.url ?? spec.url;
    this.clock = options.clock ?? new LiveClock();
    if (!(this.clock instanceof LiveClock)) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'worker feed clock: expected a LiveClock (the handler thread shares its time)');
    }
    const overflow: unknown = options.overflow ?? 'block';
    if (overflow !== 'block' && overflow !== 'drop-newest') {
      throw new RingError(
        'MDCAP_ERR_RING_POLICY',
        `worker feed overflow: expected block or drop-newest (an event may span several ring records, which drop-oldest would tear), found ${describeValue(overflow)}`,
      );
    }
    this.known = spec.instruments?.(spec.createParser()) ?? [];
  }

  /** The handler's counters as of its last answer (frames, malformed frames, venue errors, stale detections, connects). */
  get stats(): WsFeedStats {
    return this.lastStats;
  }

  instruments(): Iterable<Instrument> {
    return this.known;
  }

  /** Ring statistics, summed over the handler threads this feed has had. */
  ringStats(): RingStats {
    const s = this.reader?.consumer.stats();
    const r = this.retired;
    return {
      capacity: this.options.capacity ?? 65_536,
      depth: s?.depth ?? 0,
      highWater: Math.max(r.highWater, s?.highWater ?? 0),
      pushed: r.pushed + (s?.pushed ?? 0),
      popped: r.popped + (s?.popped ?? 0),
      drops: r.drops + (s?.drops ?? 0),
    };
  }

  /** Writes every frame and REST response to `root/raw/name` (see {@link RawTap}), from the handler thread. */
  tapRaw(root: string, name: string, flushMs: number): void {
    this.raw = { op: 'raw', root, name, flushMs };
    this.send(this.raw);
  }

  connect(sink: EventSink): Promise<void> {
    this.sink = sink;
    return this.request({ op: 'connect', id: this.nextId++ });
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    return this.request({ op: 'subscribe', id: this.nextId++, symbol, kinds });
  }

  unsubscribe(symbol: string): Promise<void> {
    return this.request({ op: 'unsubscribe', id: this.nextId++, symbol });
  }

  ready(): void {
    this.send({ op: 'ready' });
  }

  async disconnect(): Promise<void> {
    this.sink = null;
    const worker = this.worker;
    if (worker === null) return;
    try {
      await this.request({ op: 'disconnect', id: this.nextId++ });
    } finally {
      this.retire();
      await worker.terminate();
    }
  }

  /** `await using` support: disconnects at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  poll(before: bigint): void {
    // Nested (an engine timer ran while an event of this ring was dispatched): everything left
    // in the ring was stamped at or after that event, so at or after `before`.
    if (this.reading || this.sink === null || this.reader === null) return;
    const control = this.control;
    const deadline = this.clock.now() + BigInt(POLL_WAIT_MS) * 1_000_000n;
    for (;;) {
      this.read(before, Infinity);
      if (this.reader === null || this.reader.stoppedAt) return;
      if (Atomics.load(control, BUSY) === 0) {
        this.read(before, Infinity); // what the handler flushed before it went idle
        return;
      }
      if (this.clock.now() > deadline) return;
      Atomics.store(control, MAIN_WAITING, 1);
      Atomics.wait(control, BUSY, 1, 1);
      Atomics.store(control, MAIN_WAITING, 0);
    }
  }

  private read(before: bigint | null, max: number): number {
    const reader = this.reader;
    if (reader === null) return 0;
    this.reading = true;
    try {
      return reader.read(this.handler, before, max);
    } finally {
      this.reading = false;
    }
  }

  private send(m: FeedWorkerRequest): Worker {
    const w = this.ensureWorker();
    w.postMessage(m);
    return w;
  }

  private request(m: FeedWorkerRequest & { id: number }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.set(m.id, { resolve, reject });
      this.send(m);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    const ring = createSharedRing({
      recordBytes: EVENT_RECORD_BYTES,
      capacity: this.options.capacity ?? 65_536,
      overflow: this.options.overflow ?? 'block',
    });
    const control = new SharedArrayBuffer(8);
    this.control = new Int32Array(control);
    this.reader = new EventRecordReader(ring);
    const { clock: _clock, capacity: _capacity, overflow: _overflow, ...options } = this.options;
    const workerData: FeedWorkerData = { venue: this.name, options, anchor: this.clock.anchor, ring, control };
    const w = new Worker(workerUrl(), { workerData });
    this.worker = w;
    w.on('message', (m: Reply) => {
      this.lastStats = m.stats;
      this.noteInstruments(m.instruments);
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(errorFromWire(m.error));
      else p.resolve();
    });
    // The handler thread crashed or exited: what it wrote is delivered, then the connection
    // counts as lost (the engine reconnects, on a new thread).
    const failed = (why: string, cause?: Error): void => {
      if (this.worker !== w) return;
      const sink = this.sink;
      this.read(null, Infinity);
      this.retire();
      const lost = new MdcapError('MDCAP_ERR_CONNECT_FAILED', `${this.venue}: the feed handler thread ${why}`, {
        ...(cause === undefined ? {} : { cause }),
      });
      for (const p of this.pending.values()) p.reject(lost);
      this.pending.clear();
      sink?.lost(lost);
    };
    w.on('error', (error) => failed(`failed: ${error.message}`, error));
    w.on('exit', (code) => failed(`exited (code ${code})`));
    if (this.raw !== null) w.postMessage(this.raw); // a new thread after a crash goes on tapping
    void this.pump(w);
    return w;
  }

  /** Forgets the current thread and its ring (their statistics are kept). */
  private retire(): void {
    const s = this.reader?.consumer.stats();
    if (s !== undefined) {
      this.retired = {
        pushed: this.retired.pushed + s.pushed,
        popped: this.retired.popped + s.popped,
        drops: this.retired.drops + s.drops,
        highWater: Math.max(this.retired.highWater, s.highWater),
      };
    }
    this.worker = null;
    this.reader = null;
    this.wake?.();
  }

  /** Hands the ring's events to the engine as they come, a slice per turn of the event loop. */
  private async pump(worker: Worker): Promise<void> {
    while (this.worker === worker) {
      const reader = this.reader!;
      if (this.paused || this.sink === null) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 50).unref();
        });
        this.wake = null;
        if (this.sink === null && !this.paused) reader.discard();
        continue;
      }
      const n = this.read(null, SLICE);
      if (n >= SLICE) await nextTurn();
      else if (n === 0) await reader.consumer.waitForData(50);
    }
  }

  private noteInstruments(list: Instrument[]): void {
    if (list.length === 0) return;
    const bySymbol = new Map(this.known.map((i) => [i.symbol, i]));
    for (const i of list) bySymbol.set(i.symbol, i);
    this.known = [...bySymbol.values()];
  }
}

/** A venue feed whose handler runs on a worker thread: `new RealtimeEngine(workerFeed('kraken', { url }))`. */
export function workerFeed(name: VenueName, options: WorkerFeedOptions = {}): WorkerFeed {
  return new WorkerFeed(name, options);
}
