import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { checkScale, describeValue, LiveClock, MdcapError, nextTurn, RingError } from '@mdcap/core';
import type { DataProvider, EventSink, Instrument, SequenceRule, SubscriptionKind } from '@mdcap/core';
import { createSharedRing, errorFromWire, EVENT_RECORD_BYTES, EventRecordReader } from '@mdcap/ring';
import type { EventRecordHandler, RingStats, WireError } from '@mdcap/ring';
import { BLOOMBERG_DEFAULTS } from './session.js';
import type { BloombergOptions, BloombergStats } from './session.js';
import type { BloombergRequest, BloombergWorkerData } from './worker.js';

export { loadBlpapi, checkBinding } from './binding.js';
export type { BlpapiModule, BlpSession, BlpEvent, BlpMessage, BlpDatetime, BlpElement } from './binding.js';
export { BloombergSession, floatToMantissa, datetimeToNs, DEFAULT_FIELDS, BLOOMBERG_DEFAULTS } from './session.js';
export type { BloombergOptions, BloombergStats } from './session.js';

const BUSY = 0;
const MAIN_WAITING = 1;
const COMMANDS = 2;
const SLICE = 4096;
const POLL_WAIT_MS = 2000;

export interface BloombergFeedOptions extends BloombergOptions {
  /** The engine's clock; the handler thread reads the very same time (default: a new LiveClock). */
  readonly clock?: LiveClock;
  /** Ring slots between the handler thread and the engine, a power of two (default 65,536). */
  readonly capacity?: number;
  /** `block` (default) or `drop-newest`. */
  readonly overflow?: 'block' | 'drop-newest';
}

interface Reply {
  readonly id?: number;
  readonly op?: 'failure' | 'stats';
  readonly symbol?: string;
  readonly error?: WireError;
  readonly stats: BloombergStats | null;
}

function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../../dist/bloomberg/worker.js', here) : new URL('./worker.js', here);
}

const EMPTY_STATS: BloombergStats = {
  sessions: 0,
  events: 0,
  messages: 0,
  trades: 0,
  quotes: 0,
  refused: 0,
  subscriptionFailures: 0,
  dataLoss: 0,
  slowConsumerWarnings: 0,
};

/**
 * Bloomberg real-time market data (`//blp/mktdata`) through BLPAPI's synchronous Session API.
 * The binding (an optional dependency, `blpapi` by default, or any module given by `module`) is
 * loaded only on the feed's worker thread, when the engine connects; its blocking `nextEvent`
 * loop runs there, and the events cross to the engine through a shared ring of event records,
 * as for the venue handlers of {@link WorkerFeed}. See docs/feeds.md (Bloomberg).
 */
export class BloombergFeed implements DataProvider {
  readonly venue: string;
  readonly clock: LiveClock;
  readonly kinds: readonly SubscriptionKind[] = ['trade', 'quote'];
  readonly sequencing: SequenceRule = 'contiguous'; // no sequence numbers (seq is null)
  readonly validatesEvents = true;
  /** `host:port` of the Terminal, SAPI or B-PIPE. */
  readonly endpoint: string;
  private lastStats: BloombergStats = EMPTY_STATS;
  private readonly failures = new Map<string, MdcapError>();
  private readonly symbols = new Set<string>();
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private reader: EventRecordReader | null = null;
  private control = new Int32Array(new SharedArrayBuffer(12));
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

  constructor(private readonly options: BloombergFeedOptions = {}) {
    this.venue = options.venue ?? BLOOMBERG_DEFAULTS.venue;
    const host = options.host ?? BLOOMBERG_DEFAULTS.host;
    const port = options.port ?? BLOOMBERG_DEFAULTS.port;
    if (typeof host !== 'string' || host === '') {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `bloomberg host: expected a host name, found ${describeValue(host)}`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `bloomberg port: expected an integer from 1 to 65535, found ${describeValue(port)}`);
    }
    const module = options.module ?? 'blpapi';
    if (typeof module !== 'string' || module === '') {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `bloomberg module: expected a package name or path, found ${describeValue(module)}`);
    }
    checkScale(options.priceScale ?? BLOOMBERG_DEFAULTS.priceScale, 'bloomberg priceScale');
    checkScale(options.sizeScale ?? BLOOMBERG_DEFAULTS.sizeScale, 'bloomberg sizeScale');
    this.endpoint = `${host}:${port}`;
    this.clock = options.clock ?? new LiveClock();
    if (!(this.clock instanceof LiveClock)) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'bloomberg feed clock: expected a LiveClock (the handler thread shares its time)');
    }
    const overflow: unknown = options.overflow ?? 'block';
    if (overflow !== 'block' && overflow !== 'drop-newest') {
      throw new RingError(
        'MDCAP_ERR_RING_POLICY',
        `bloomberg feed overflow: expected block or drop-newest (an event may span several ring records, which drop-oldest would tear), found ${describeValue(overflow)}`,
      );
    }
  }

  /** The handler's counters, as of its last report (at least every 100 ms while a session is up). */
  get stats(): BloombergStats {
    return this.lastStats;
  }

  /** The subscriptions Bloomberg refused (`MDCAP_ERR_UNKNOWN_SYMBOL`, with the SDK's reason), by symbol. */
  subscriptionErrors(): ReadonlyMap<string, MdcapError> {
    return this.failures;
  }

  /** The subscribed securities with their scales (from the options: Bloomberg does not send them). */
  instruments(): Iterable<Instrument> {
    return [...this.symbols].map((symbol) => ({
      venue: this.venue,
      symbol,
      ...(this.options.scales?.get(symbol) ?? {
        priceScale: this.options.priceScale ?? BLOOMBERG_DEFAULTS.priceScale,
        sizeScale: this.options.sizeScale ?? BLOOMBERG_DEFAULTS.sizeScale,
      }),
    }));
  }

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

  connect(sink: EventSink): Promise<void> {
    this.sink = sink;
    return this.request({ op: 'connect', id: this.nextId++ });
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    this.symbols.add(symbol);
    this.failures.delete(symbol);
    return this.request({ op: 'subscribe', id: this.nextId++, symbol, kinds });
  }

  unsubscribe(symbol: string): Promise<void> {
    this.symbols.delete(symbol);
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
    if (this.reading || this.sink === null || this.reader === null) return;
    const control = this.control;
    const deadline = this.clock.now() + BigInt(POLL_WAIT_MS) * 1_000_000n;
    for (;;) {
      this.read(before, Infinity);
      if (this.reader === null || this.reader.stoppedAt) return;
      if (Atomics.load(control, BUSY) === 0) {
        this.read(before, Infinity);
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

  private send(m: BloombergRequest): void {
    this.ensureWorker();
    this.port!.postMessage(m);
    Atomics.add(this.control, COMMANDS, 1);
    Atomics.notify(this.control, COMMANDS);
  }

  private request(m: BloombergRequest & { id: number }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.set(m.id, { resolve, reject });
      this.send(m);
    });
  }

  private ensureWorker(): void {
    if (this.worker !== null) return;
    const ring = createSharedRing({
      recordBytes: EVENT_RECORD_BYTES,
      capacity: this.options.capacity ?? 65_536,
      overflow: this.options.overflow ?? 'block',
    });
    const control = new SharedArrayBuffer(12);
    this.control = new Int32Array(control);
    this.reader = new EventRecordReader(ring);
    const { port1, port2 } = new MessageChannel();
    const { clock: _clock, capacity: _capacity, overflow: _overflow, ...options } = this.options;
    const workerData: BloombergWorkerData = { options, anchor: this.clock.anchor, ring, control, port: port2 };
    const w = new Worker(workerUrl(), { workerData, transferList: [port2] });
    this.worker = w;
    this.port = port1;
    port1.on('message', (m: Reply) => {
      if (m.stats !== null) this.lastStats = m.stats;
      if (m.op === 'failure') {
        if (m.symbol !== undefined && m.error !== undefined) this.failures.set(m.symbol, errorFromWire(m.error) as MdcapError);
        return;
      }
      if (m.op === 'stats') return;
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id!);
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
    void this.pump(w);
  }

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
    this.port?.close();
    this.port = null;
    this.wake?.();
  }

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

/** A Bloomberg feed: `new RealtimeEngine(bloombergFeed({ host, port }))`. */
export function bloombergFeed(options: BloombergFeedOptions = {}): BloombergFeed {
  return new BloombergFeed(options);
}
