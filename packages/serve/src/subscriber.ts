import { ALL_SYMBOLS } from '@mdcap/core';
import type { MarketEvent, Status } from '@mdcap/core';
import type { LatencyStages, Monotonic } from './metrics.js';
import { ProtoWriter, writeDropped, writeEvent } from './wire.js';

/** What a subscriber's full queue does (proto `QueuePolicy`). */
export type QueuePolicy = 'block' | 'drop-oldest' | 'disconnect';

/** The part of a gRPC server stream a subscriber writes to (grpc-js `ServerWritableStream`). */
export interface BatchSink {
  write(chunk: Buffer, callback: (error?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
  end(): void;
}

export interface SubscriberOptions {
  readonly policy: QueuePolicy;
  /** Batches held for the subscriber before its policy applies. */
  readonly queueBatches: number;
  /** A batch is closed when it holds this many events… */
  readonly batchEvents: number;
  /** …or when the turn of the event loop that opened it ends, after lingering this long (µs; 0: no linger). */
  readonly batchMicros: number;
  /**
   * With no linger, what "the turn ends" means: `task` closes the batch as soon as the task that
   * dispatched it returns (a live feed's drain, so its batch reaches gRPC in the same turn of the
   * event loop); `loop` (default) waits for the loop's next check phase, which lets a replay
   * that awaits between runs of events fill its batches.
   */
  readonly closeAt?: 'task' | 'loop';
}

/** How a subscriber reaches back to its source. */
export interface SubscriberHooks {
  /** The source's clock (a drop's gap status is stamped with it). */
  readonly now: () => bigint;
  readonly venue: string;
  /** `block` on a replay: hold the engine while the queue is full. */
  readonly pause?: () => void;
  readonly resume?: () => void;
  /** The queue overflowed under `disconnect`. */
  readonly overflow: () => void;
  /** Batches left the queue (written, or dropped): a replay worker may send as many more. */
  readonly taken?: (batches: number) => void;
  /** The subscription is over (its stream ended, or it was closed); called once. */
  readonly closed?: () => void;
}

/** Every SAMPLE-th event of a batch is timed (a power of two). */
const SAMPLE = 8;

/** Counters a server sums over every subscriber it ever had. */
export interface SendTotals {
  eventsSent: number;
  batchesSent: number;
  eventsDropped: number;
}

interface Queued {
  readonly buf: Buffer;
  readonly events: number;
  readonly encodedAt: number;
  /** ns from dispatch to `encodedAt` of the timed events (every SAMPLE-th); empty when untimed. */
  readonly latency: Float64Array;
}

const UNTIMED = new Float64Array(0);

/** Takes encoded events, one `EventBatch.events` entry at a time (a subscriber, or a worker's packer). */
export interface Appender {
  /** Appends an entry encoded elsewhere (`src[start, end)`). */
  append(src: Uint8Array, start: number, end: number): void;
  /** Encodes `e` straight into the open batch (no copy: for an event only this appender wants). */
  appendEvent(e: MarketEvent): void;
}

/**
 * A closed batch: the writer holds its bytes (take or copy them before returning), and
 * `latency[i]` is how long ago (ns) the i-th timed event was dispatched; it stands for events
 * i·SAMPLE … min((i+1)·SAMPLE, events) − 1.
 */
export type BatchHandler = (w: ProtoWriter, events: number, latency: Float64Array, timed: number, now: number) => void;

/** Records a batch's dispatch → encoded latencies, each timed event weighted by the events it stands for. */
export function recordDispatch(stages: LatencyStages, latency: Float64Array, timed: number, events: number): void {
  for (let i = 0; i < timed; i++) stages.record('dispatch_to_encoded', latency[i]!, Math.min(SAMPLE, events - i * SAMPLE));
}

/**
 * Packs encoded events into batches: a batch closes when it holds `batchEvents`, or when the
 * turn of the event loop that opened it ends (after lingering `batchMicros` µs, when set).
 * The engine's callback only copies bytes here.
 */
export class BatchBuilder implements Appender {
  private readonly w = new ProtoWriter();
  private inBatch = 0;
  private readonly dispatchedAt: Float64Array;
  private readonly latency: Float64Array;
  private flushPending = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly flushNow = (): void => {
    this.flushPending = false;
    this.lingerTimer = null;
    if (!this.closed) this.flush();
  };

  constructor(
    private readonly options: { readonly batchEvents: number; readonly batchMicros: number; readonly closeAt?: 'task' | 'loop' },
    private readonly mono: Monotonic,
    private readonly onBatch: BatchHandler,
  ) {
    this.dispatchedAt = new Float64Array(Math.ceil(options.batchEvents / SAMPLE));
    this.latency = new Float64Array(this.dispatchedAt.length);
  }

  get pending(): number {
    return this.inBatch;
  }

  append(src: Uint8Array, start: number, end: number): void {
    if (this.closed) return;
    this.timeEntry();
    this.w.bytes(src, start, end);
    this.commit();
  }

  appendEvent(e: MarketEvent): void {
    if (this.closed) return;
    this.timeEntry();
    const at = this.w.pos;
    try {
      writeEvent(this.w, e);
    } catch (error) {
      this.w.truncate(at); // the batch keeps only whole entries
      throw error;
    }
    this.commit();
  }

  /** Latency is timed on every SAMPLE-th entry, each standing for the entries up to the next. */
  private timeEntry(): void {
    if ((this.inBatch & (SAMPLE - 1)) === 0) this.dispatchedAt[this.inBatch / SAMPLE] = this.mono();
  }

  /** One more entry is in the batch: close it when full, or when the turn ends. */
  private commit(): void {
    this.inBatch++;
    if (this.inBatch >= this.options.batchEvents) this.flush();
    else if (!this.flushPending) {
      this.flushPending = true;
      if (this.options.batchMicros > 0) this.lingerTimer = setTimeout(this.flushNow, this.options.batchMicros / 1000);
      else if (this.options.closeAt === 'task') queueMicrotask(this.flushNow);
      else setImmediate(this.flushNow);
    }
  }

  /** Closes the open batch and hands it on. */
  flush(): void {
    const n = this.inBatch;
    if (n === 0) return;
    const now = this.mono();
    const timed = Math.ceil(n / SAMPLE);
    for (let i = 0; i < timed; i++) this.latency[i] = now - this.dispatchedAt[i]!;
    this.inBatch = 0;
    this.onBatch(this.w, n, this.latency, timed, now);
    this.w.reset();
  }

  close(): void {
    this.closed = true;
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
  }
}

/**
 * One subscription's outgoing side: events arrive already encoded (an `EventBatch.events` entry
 * each), are packed into batches, and wait in a bounded queue until gRPC can take them. Nothing
 * here waits on the socket: the engine's callback only copies bytes.
 */
export class Subscriber implements Appender {
  private readonly builder: BatchBuilder;
  private readonly queue: Queued[] = [];
  private head = 0;
  private writable = true;
  private paused = false;
  private ending = false;
  private finish: (() => void) | null = null;
  private droppedUnreported = 0;
  closed = false;
  eventsSent = 0;
  batchesSent = 0;
  eventsDropped = 0;

  constructor(
    private readonly sink: BatchSink,
    readonly options: SubscriberOptions,
    private readonly hooks: SubscriberHooks,
    private readonly stages: LatencyStages,
    private readonly mono: Monotonic,
    private readonly totals: SendTotals = { eventsSent: 0, batchesSent: 0, eventsDropped: 0 },
  ) {
    this.builder = new BatchBuilder(options, mono, (w, events, latency, timed, now) => {
      recordDispatch(stages, latency, timed, events);
      this.enqueue({ buf: w.take(), events, encodedAt: now, latency: latency.slice(0, timed) });
    });
  }

  get queuedBatches(): number {
    return this.queue.length - this.head;
  }

  /** Events in the queued batches. */
  get queuedEvents(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) n += this.queue[i]!.events;
    return n;
  }

  /** Appends one encoded `EventBatch.events` entry (`src[start, end)`). */
  append(src: Uint8Array, start: number, end: number): void {
    if (this.closed || this.ending) return;
    this.builder.append(src, start, end);
  }

  appendEvent(e: MarketEvent): void {
    if (this.closed || this.ending) return;
    this.builder.appendEvent(e);
  }

  /**
   * Queues a batch packed elsewhere (a replay on a worker thread): `events` entries in `buf`,
   * closed at `encodedAt` (this subscriber's monotonic ns), its timed events dispatched `latency[i]` ns before.
   */
  push(buf: Buffer, events: number, encodedAt: number = this.mono(), latency: Float64Array = UNTIMED): void {
    if (this.closed || this.ending) return;
    this.enqueue({ buf, events, encodedAt, latency });
  }

  /** Closes the open batch and queues it. */
  flush(): void {
    this.builder.flush();
  }

  private enqueue(item: Queued): void {
    const max = this.options.queueBatches;
    if (this.queuedBatches >= max) {
      if (this.options.policy === 'disconnect') {
        this.hooks.overflow();
        return;
      }
      if (this.options.policy === 'drop-oldest' || this.hooks.pause === undefined) {
        while (this.queuedBatches >= max) {
          const old = this.queue[this.head++]!;
          this.hooks.taken?.(1);
          this.droppedUnreported += old.events;
          this.eventsDropped += old.events;
          this.totals.eventsDropped += old.events;
        }
      }
      // block on a replay: the engine is paused below; what it dispatches in the meantime
      // (the rest of its turn) is held rather than lost.
    }
    this.queue.push(item);
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.options.policy === 'block' && !this.paused && this.hooks.pause !== undefined && this.queuedBatches >= max) {
      this.paused = true;
      this.hooks.pause();
    }
    this.pump();
  }

  /** A gap status saying what this subscriber lost, put before the next batch it receives. */
  private dropReport(buf: Buffer): Buffer {
    const now = this.hooks.now();
    const status: Status = {
      type: 'status',
      venue: this.hooks.venue,
      symbol: ALL_SYMBOLS,
      tsEvent: now,
      tsRecv: now,
      seq: null,
      kind: 'gap',
      fromSeq: null,
      toSeq: null,
      ok: null,
      detail: `subscriber queue full (policy ${this.options.policy}): ${this.droppedUnreported} events dropped before this batch`,
    };
    const w = new ProtoWriter(256);
    writeEvent(w, status);
    const head = w.take();
    w.reset();
    writeDropped(w, this.droppedUnreported);
    this.droppedUnreported = 0;
    return Buffer.concat([head, buf, w.take()]);
  }

  /** gRPC wrote the batch to the socket: its events' last two stages. */
  private written(item: Queued): void {
    const toSocket = this.mono() - item.encodedAt;
    this.stages.record('encoded_to_socket', toSocket, item.events);
    const lat = item.latency;
    for (let i = 0; i < lat.length; i++) {
      this.stages.record('dispatch_to_socket', lat[i]! + toSocket, Math.min(SAMPLE, item.events - i * SAMPLE));
    }
  }

  private readonly onDrain = (): void => {
    this.writable = true;
    this.pump();
  };

  private pump(): void {
    while (this.writable && !this.closed && this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Queued;
      const buf = this.droppedUnreported > 0 ? this.dropReport(item.buf) : item.buf;
      this.eventsSent += item.events;
      this.batchesSent++;
      this.totals.eventsSent += item.events;
      this.totals.batchesSent++;
      this.writable = this.sink.write(buf, () => this.written(item));
      if (!this.writable) this.sink.once('drain', this.onDrain);
      this.hooks.taken?.(1);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    if (this.paused && this.queuedBatches <= this.options.queueBatches >> 1) {
      this.paused = false;
      this.hooks.resume?.();
    }
    if (this.ending && !this.closed && this.queuedBatches === 0 && this.builder.pending === 0) {
      this.closed = true;
      if (this.finish === null) this.sink.end();
      else this.finish();
      this.hooks.closed?.();
    }
  }

  /**
   * The source has no more data: send what is queued, then end the stream — or, with `finish`,
   * call that instead (to end it with an error status once the client has what was queued).
   */
  end(finish?: () => void): void {
    if (this.closed || this.ending) return;
    this.flush();
    this.ending = true;
    this.finish = finish ?? null;
    this.pump();
  }

  /** Stops everything at once (the client went away, or the stream ended with an error). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hooks.closed?.();
    this.builder.close();
    this.queue.length = 0;
    this.head = 0;
    if (this.paused) {
      this.paused = false;
      this.hooks.resume?.();
    }
  }
}
