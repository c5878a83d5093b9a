import type { Worker } from 'node:worker_threads';
import { describeValue, LiveClock, MdcapError, nextTurn, RingError } from '@mdcap/core';
import type { DataProvider, EventSink, SubscriptionKind } from '@mdcap/core';
import { createSharedRing, errorFromWire, EVENT_RECORD_BYTES, EventRecordReader } from '@mdcap/ring';
import type { EventRecordHandler, RingStats, WireError } from '@mdcap/ring';
import { BUSY, MAIN_WAITING } from './handler-thread.js';
import type { HandlerRequest, HandlerThreadData } from './handler-thread.js';

export interface HandlerThreadOptions {
  /** The engine's clock; the handler thread reads the very same time (default: a new LiveClock). */
  readonly clock?: LiveClock;
  /** Ring slots between the handler thread and the engine, a power of two (default 65,536 records of 128 bytes). */
  readonly capacity?: number;
  /** `block` (default: a full ring holds the socket back, nothing is lost) or `drop-newest` (a gap status counts the loss). */
  readonly overflow?: 'block' | 'drop-newest';
}

/** The options a handler thread gets: those of the ring and the clock stay on the main thread. */
export type HandlerOptions<Options extends HandlerThreadOptions> = Omit<Options, keyof HandlerThreadOptions>;

/** Events handed to the engine per turn of the event loop, so timers and I/O get their turns. */
const SLICE = 4096;
/** Longest wait in `poll(before)` for the handler thread to finish stamping (a stuck thread is not waited for longer). */
const POLL_WAIT_MS = 2000;
const DEFAULT_CAPACITY = 65_536;

/**
 * The worker script at `path` under the package's dist/ (`transport/feed-worker.js`): the built
 * one even when this module runs from its sources under test, as a worker cannot load TypeScript.
 */
export function handlerScript(path: string): URL {
  const here = new URL(import.meta.url);
  return new URL(here.pathname.endsWith('.ts') ? `../../dist/${path}` : `../${path}`, here);
}

/**
 * A feed whose handler runs on a worker thread, the engine's side of it: the events cross
 * through a shared ring of binary event records ({@link EventRecordReader}), with no structured
 * cloning, and the commands (connect, subscribe, ready, disconnect) go over as messages. A
 * subclass starts its thread (`spawn`), carries the messages (`post`) and settles the answers
 * (`answer`); this class reads the ring, keeps the timers exact, and turns a crashed thread into
 * a lost connection. {@link WorkerFeed} and {@link BloombergFeed} are the two.
 *
 * Timers stay exact (contract rule 2): before an engine timer due at `before` runs, `poll`
 * delivers every event the handler stamped before `before`, waiting for the handler thread to
 * finish an event it is stamping (see handler-thread.ts for the protocol).
 */
export abstract class HandlerThreadFeed<
  Options extends HandlerThreadOptions,
  Request extends { readonly op: string } = HandlerRequest,
> implements DataProvider {
  abstract readonly venue: string;
  abstract readonly kinds: readonly SubscriptionKind[];
  readonly clock: LiveClock;
  readonly validatesEvents = true;
  private worker: Worker | null = null;
  private reader: EventRecordReader | null = null;
  /** The current thread's control flags (see handler-thread.ts). */
  protected control: Int32Array;
  private retired = { pushed: 0, popped: 0, drops: 0, highWater: 0 };
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private sink: EventSink | null = null;
  private reading = false;
  private paused = false;
  private wake: (() => void) | null = null;
  private readonly handler: EventRecordHandler = {
    event: (e) => this.sink?.push(e),
    lost: (error) => this.sink?.lost(error),
    end: (error) => (error === undefined ? this.sink?.end() : this.sink?.end(error)),
  };

  /**
   * @param label Names the feed in the errors of the options (`worker feed`).
   * @param controlSlots Int32 slots of the control buffer: BUSY and MAIN_WAITING, and any the subclass adds.
   */
  protected constructor(
    protected readonly options: Options,
    label: string,
    private readonly controlSlots: number,
  ) {
    this.control = new Int32Array(new SharedArrayBuffer(4 * controlSlots));
    this.clock = options.clock ?? new LiveClock();
    if (!(this.clock instanceof LiveClock)) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `${label} clock: expected a LiveClock (the handler thread shares its time)`);
    }
    const overflow: unknown = options.overflow ?? 'block';
    if (overflow !== 'block' && overflow !== 'drop-newest') {
      throw new RingError(
        'MDCAP_ERR_RING_POLICY',
        `${label} overflow: expected block or drop-newest (an event may span several ring records, which drop-oldest would tear), found ${describeValue(overflow)}`,
      );
    }
  }

  /** Ring statistics, summed over the handler threads this feed has had. */
  ringStats(): RingStats {
    const s = this.reader?.consumer.stats();
    const r = this.retired;
    return {
      capacity: this.options.capacity ?? DEFAULT_CAPACITY,
      depth: s?.depth ?? 0,
      highWater: Math.max(r.highWater, s?.highWater ?? 0),
      pushed: r.pushed + (s?.pushed ?? 0),
      popped: r.popped + (s?.popped ?? 0),
      drops: r.drops + (s?.drops ?? 0),
    };
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

  /**
   * Starts a handler thread on `shared` (its ring, control flags and clock anchor) with the
   * handler's `options`, and listens to its answers. The thread's crash and exit are handled here.
   */
  protected abstract spawn(shared: HandlerThreadData, options: HandlerOptions<Options>): Worker;

  /** Hands `m` to the handler thread `worker` (the current one). */
  protected abstract post(worker: Worker, m: Request | HandlerRequest): void;

  /** Settles the request `id` with the handler thread's answer (`error`: it failed). */
  protected answer(id: number, error: WireError | undefined): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (error !== undefined) p.reject(errorFromWire(error));
    else p.resolve();
  }

  /** Sends `m` to the handler thread, starting one if there is none (at first, or after a crash). */
  protected send(m: Request | HandlerRequest): void {
    this.post(this.ensureWorker(), m);
  }

  /** Forgets the current thread and its ring (their statistics are kept). */
  protected retire(): void {
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

  private request(m: HandlerRequest & { id: number }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.set(m.id, { resolve, reject });
      this.send(m);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    const ring = createSharedRing({
      recordBytes: EVENT_RECORD_BYTES,
      capacity: this.options.capacity ?? DEFAULT_CAPACITY,
      overflow: this.options.overflow ?? 'block',
    });
    const control = new SharedArrayBuffer(4 * this.controlSlots);
    this.control = new Int32Array(control);
    this.reader = new EventRecordReader(ring);
    const { clock: _clock, capacity: _capacity, overflow: _overflow, ...options } = this.options;
    const w = this.spawn({ anchor: this.clock.anchor, ring, control }, options);
    this.worker = w;
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
    void this.pump(w);
    return w;
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
}
