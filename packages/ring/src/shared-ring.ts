import { ConfigError, RingError, describeValue } from '@mdcap/core';
import { checkCapacity, checkPolicy, DEFAULT_CAPACITY, OVERFLOW_POLICIES } from './options.js';
import type { OverflowPolicy, RingStats } from './options.js';

/**
 * A single-producer single-consumer ring of fixed-size binary records in a SharedArrayBuffer,
 * for a producer and a consumer on different threads (a feed handler in a worker_thread and the
 * engine on the main thread). The buffer carries its own layout, so each side attaches to the
 * same `SharedArrayBuffer` with `new SharedRingProducer(sab)` / `new SharedRingConsumer(sab)`.
 *
 * Records are written and read in place through typed-array views over the whole buffer
 * ({@link RecordViews}); a record starts at a byte offset that is a multiple of 8.
 *
 * Layout (bytes): 0–511 header, 512… records. Header Int32 slots: 0 magic, 1 version,
 * 2 capacity, 3 record size, 4 policy, 5 closed flag; the tail (producer), head (consumer) and
 * the two "waiting" flags each sit on a cache line of their own; 64-bit statistics follow.
 * Head and tail are 32-bit counters that wrap; differences are taken modulo 2^32, which is
 * exact because the capacity is at most 2^30.
 */

const MAGIC = 0x4d444352; // "MDCR"
const VERSION = 1;
const I_MAGIC = 0;
const I_VERSION = 1;
const I_CAPACITY = 2;
const I_RECORD = 3;
const I_POLICY = 4;
const I_CLOSED = 5;
const I_TAIL = 16; // byte 64
const I_HEAD = 32; // byte 128
const I_PRODUCER_WAITING = 48; // byte 192
const I_CONSUMER_WAITING = 64; // byte 256
const I_WRITING = 17; // drop-oldest: the position the producer is writing (on the tail's line: both producer-owned)
const I_FENCE = 104; // byte 416 (the consumer's line), scratch word for a full memory fence
// Float64 statistics: producer-owned on one line, consumer-owned on another.
const F_PUSHED = 40; // byte 320
const F_DROPS_NEWEST = 41;
const F_POPPED = 48; // byte 384
const F_DROPS_OLDEST = 49;
const F_HIGH_WATER = 50;
/** Byte offset of the first record. */
export const SHARED_RING_HEADER_BYTES = 512;
/** Re-checks before a waiting side goes to sleep: the other side is usually mid-batch. */
const SPINS = 1024;
/** Longest single sleep (ms): a close() or notify that races a sleeper is seen this late at worst. */
const MAX_SLEEP_MS = 50;

export interface SharedRingOptions {
  /** Record size in bytes, a positive multiple of 8. */
  readonly recordBytes: number;
  /** Slots, a power of two (default 65,536). */
  readonly capacity?: number;
  /** Default `block`. */
  readonly overflow?: OverflowPolicy;
}

/** Views over the whole shared buffer; a record at byte offset `o` spans `[o, o + recordBytes)`. */
export interface RecordViews {
  readonly f64: Float64Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly u8: Uint8Array;
  readonly dv: DataView;
}

/** Allocates and initializes the shared buffer of a ring. Pass it to a worker with `workerData` or `postMessage`. */
export function createSharedRing(options: SharedRingOptions): SharedArrayBuffer {
  const capacity = checkCapacity(options.capacity ?? DEFAULT_CAPACITY);
  const policy = checkPolicy(options.overflow ?? 'block');
  const rb = options.recordBytes;
  if (!Number.isInteger(rb) || rb <= 0 || rb % 8 !== 0 || rb > 65_536) {
    throw new RingError(
      'MDCAP_ERR_RING_RECORD_SIZE',
      `shared ring recordBytes: expected a positive multiple of 8 up to 65536, found ${describeValue(rb)}`,
    );
  }
  const bytes = SHARED_RING_HEADER_BYTES + capacity * rb;
  if (!Number.isSafeInteger(bytes) || bytes > 2 ** 32) {
    throw new RingError('MDCAP_ERR_RING_CAPACITY', `shared ring: capacity ${capacity} × ${rb} bytes is ${bytes} bytes; the limit is 4 GiB`);
  }
  const sab = new SharedArrayBuffer(bytes);
  const ctrl = new Int32Array(sab, 0, SHARED_RING_HEADER_BYTES / 4);
  ctrl[I_MAGIC] = MAGIC;
  ctrl[I_VERSION] = VERSION;
  ctrl[I_CAPACITY] = capacity;
  ctrl[I_RECORD] = rb;
  ctrl[I_POLICY] = OVERFLOW_POLICIES.indexOf(policy);
  ctrl[I_WRITING] = -1; // nothing written yet
  return sab;
}

/** Views over a whole buffer (shared, or a private one a record is copied into). */
export function makeViews(sab: ArrayBufferLike): RecordViews {
  return {
    f64: new Float64Array(sab),
    i64: new BigInt64Array(sab),
    u64: new BigUint64Array(sab),
    i32: new Int32Array(sab),
    u32: new Uint32Array(sab),
    u8: new Uint8Array(sab),
    dv: new DataView(sab),
  };
}

class SharedRingBase {
  readonly capacity: number;
  readonly recordBytes: number;
  readonly overflow: OverflowPolicy;
  /** Views over the whole buffer; records live at the offsets `claim`/`poll` give. */
  readonly views: RecordViews;
  protected readonly ctrl: Int32Array;
  protected readonly stat: Float64Array;
  protected readonly mask: number;
  /** A blocked producer sleeps until the ring is at most this full (hysteresis: fewer wake-ups). */
  protected readonly wakeDepth: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < SHARED_RING_HEADER_BYTES) {
      throw new RingError(
        'MDCAP_ERR_RING_BUFFER',
        `shared ring: expected the SharedArrayBuffer made by createSharedRing, found ${describeValue(buffer)}`,
      );
    }
    this.ctrl = new Int32Array(buffer, 0, SHARED_RING_HEADER_BYTES / 4);
    this.stat = new Float64Array(buffer, 0, SHARED_RING_HEADER_BYTES / 8);
    if (this.ctrl[I_MAGIC] !== MAGIC || this.ctrl[I_VERSION] !== VERSION) {
      throw new RingError(
        'MDCAP_ERR_RING_BUFFER',
        `shared ring: expected header magic 0x${MAGIC.toString(16)} version ${VERSION}, found 0x${(this.ctrl[I_MAGIC]! >>> 0).toString(16)} version ${this.ctrl[I_VERSION]}`,
      );
    }
    this.capacity = this.ctrl[I_CAPACITY]!;
    this.recordBytes = this.ctrl[I_RECORD]!;
    this.overflow = OVERFLOW_POLICIES[this.ctrl[I_POLICY]!]!;
    if (buffer.byteLength !== SHARED_RING_HEADER_BYTES + this.capacity * this.recordBytes || this.overflow === undefined) {
      throw new RingError(
        'MDCAP_ERR_RING_BUFFER',
        `shared ring: header says ${this.capacity} × ${this.recordBytes} bytes, but the buffer has ${buffer.byteLength} bytes`,
      );
    }
    this.mask = this.capacity - 1;
    this.wakeDepth = this.capacity - Math.max(1, this.capacity >> 2);
    this.views = makeViews(buffer);
  }

  /** True once the producer has called `close()`. */
  get closed(): boolean {
    return Atomics.load(this.ctrl, I_CLOSED) !== 0;
  }

  /** Statistics as seen from this side (exact once both sides are idle). */
  stats(): RingStats {
    const tail = Atomics.load(this.ctrl, I_TAIL);
    const head = Atomics.load(this.ctrl, I_HEAD);
    return {
      capacity: this.capacity,
      depth: Math.min((tail - head) | 0, this.capacity),
      highWater: this.stat[F_HIGH_WATER]!,
      pushed: this.stat[F_PUSHED]!,
      popped: this.stat[F_POPPED]!,
      drops: this.stat[F_DROPS_NEWEST]! + this.stat[F_DROPS_OLDEST]!,
    };
  }

  protected offsetOf(position: number): number {
    return SHARED_RING_HEADER_BYTES + (position & this.mask) * this.recordBytes;
  }
}

export interface SharedRingProducerOptions {
  /**
   * Publish the tail every `batch` commits instead of every commit (default 1). Larger batches
   * are faster; call {@link SharedRingProducer.flush} when a burst ends so the consumer sees it.
   * Ignored (always 1) under `drop-oldest`, where the consumer relies on an exact tail.
   */
  readonly batch?: number;
}

/**
 * The writing side. Per record: `const o = p.claim()`; if `o >= 0`, write the record at byte
 * offset `o` through `p.views`, then `p.commit()`. Under `block`, `claim()` waits with
 * `Atomics.wait` while the ring is full: use it on a thread whose consumer runs elsewhere, or
 * use `tryClaim()` and `await waitForSpace()`.
 */
export class SharedRingProducer extends SharedRingBase {
  private tail: number;
  private cachedHead: number;
  private pending = 0;
  private readonly batch: number;
  private pushedTotal: number;
  private dropsNewest: number;
  private readonly policyCode: number;

  constructor(buffer: SharedArrayBuffer, options: SharedRingProducerOptions = {}) {
    super(buffer);
    const batch = options.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `shared ring producer batch: expected a positive integer, found ${describeValue(batch)}`,
      );
    }
    this.batch = this.overflow === 'drop-oldest' ? 1 : Math.min(batch, this.capacity);
    this.tail = Atomics.load(this.ctrl, I_TAIL);
    this.cachedHead = Atomics.load(this.ctrl, I_HEAD);
    this.pushedTotal = this.stat[F_PUSHED]!;
    this.dropsNewest = this.stat[F_DROPS_NEWEST]!;
    this.policyCode = OVERFLOW_POLICIES.indexOf(this.overflow);
  }

  /**
   * Byte offset of the next free record, or -1 if the record must be dropped (`drop-newest` and
   * full; the drop is counted). Under `block` it waits for space; under `drop-oldest` it never waits.
   */
  claim(): number {
    const t = this.tail;
    if (this.policyCode === 2) {
      // drop-oldest: say which slot is being overwritten, so the consumer skips exactly that one
      Atomics.store(this.ctrl, I_WRITING, t);
      return this.offsetOf(t);
    }
    if (((t - this.cachedHead) | 0) >= this.capacity) {
      this.cachedHead = Atomics.load(this.ctrl, I_HEAD);
      if (((t - this.cachedHead) | 0) >= this.capacity) {
        if (this.policyCode === 1) {
          this.stat[F_DROPS_NEWEST] = ++this.dropsNewest;
          return -1;
        }
        this.flush();
        this.waitSync();
      }
    }
    return this.offsetOf(t);
  }

  /** Like `claim()` but never waits: -1 when full under `block` too (nothing is counted then). */
  tryClaim(): number {
    if (this.policyCode === 2) return this.claim();
    const t = this.tail;
    if (((t - this.cachedHead) | 0) >= this.capacity) {
      this.cachedHead = Atomics.load(this.ctrl, I_HEAD);
      if (((t - this.cachedHead) | 0) >= this.capacity) {
        if (this.policyCode === 1) {
          this.stat[F_DROPS_NEWEST] = ++this.dropsNewest;
        } else {
          this.flush();
        }
        return -1;
      }
    }
    return this.offsetOf(t);
  }

  /**
   * Makes sure the next `count` records fit (for a value that spans several records, written
   * whole or not at all). Under `block`, or with `wait`, it waits for the space; otherwise it
   * returns false when the ring lacks it, counting one drop (the value). `drop-oldest` has no
   * use for it: it overwrites instead.
   */
  reserve(count: number, wait: boolean = this.policyCode === 0): boolean {
    if (this.policyCode === 2) {
      throw new RingError('MDCAP_ERR_RING_POLICY', 'shared ring reserve(): expected a block or drop-newest ring, found drop-oldest');
    }
    if (!Number.isInteger(count) || count < 1 || count > this.capacity) {
      throw new RingError(
        'MDCAP_ERR_RING_RECORD_SIZE',
        `shared ring reserve(): expected 1 to ${this.capacity} records, found ${describeValue(count)}`,
      );
    }
    const room = (): boolean => ((this.tail - this.cachedHead) | 0) + count <= this.capacity;
    if (room()) return true;
    this.cachedHead = Atomics.load(this.ctrl, I_HEAD);
    if (room()) return true;
    if (!wait) {
      this.stat[F_DROPS_NEWEST] = ++this.dropsNewest;
      return false;
    }
    this.flush();
    Atomics.store(this.ctrl, I_PRODUCER_WAITING, 1);
    for (;;) {
      const h = Atomics.load(this.ctrl, I_HEAD);
      this.cachedHead = h;
      if (room()) break;
      Atomics.wait(this.ctrl, I_HEAD, h, 10); // woken by the consumer at wakeDepth; the timeout covers larger counts
    }
    Atomics.store(this.ctrl, I_PRODUCER_WAITING, 0);
    return true;
  }

  /** Marks the claimed record as written. */
  commit(): void {
    this.tail = (this.tail + 1) | 0;
    this.pushedTotal++;
    if (++this.pending >= this.batch) this.flush();
  }

  /** Publishes committed records to the consumer now. */
  flush(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.stat[F_PUSHED] = this.pushedTotal;
    Atomics.store(this.ctrl, I_TAIL, this.tail);
    if (Atomics.load(this.ctrl, I_CONSUMER_WAITING) !== 0) Atomics.notify(this.ctrl, I_TAIL);
  }

  /** Resolves when the ring has a free slot (for producers that must not block their thread). */
  async waitForSpace(): Promise<void> {
    for (;;) {
      Atomics.store(this.ctrl, I_PRODUCER_WAITING, 1);
      const h = Atomics.load(this.ctrl, I_HEAD);
      if (((this.tail - h) | 0) <= this.wakeDepth) break;
      const r = Atomics.waitAsync(this.ctrl, I_HEAD, h, 10);
      if (r.async) await r.value;
    }
    Atomics.store(this.ctrl, I_PRODUCER_WAITING, 0);
    this.cachedHead = Atomics.load(this.ctrl, I_HEAD);
  }

  /** Flushes and marks the end of the stream: the consumer's `done` turns true once it has read everything. */
  close(): void {
    this.pending = Math.max(this.pending, 1);
    this.flush();
    Atomics.store(this.ctrl, I_CLOSED, 1);
    Atomics.notify(this.ctrl, I_TAIL);
  }

  private waitSync(): void {
    for (let spin = 0; spin < SPINS; spin++) {
      const h = Atomics.load(this.ctrl, I_HEAD);
      if (((this.tail - h) | 0) < this.capacity) {
        this.cachedHead = h;
        return;
      }
    }
    for (;;) {
      Atomics.store(this.ctrl, I_PRODUCER_WAITING, 1);
      const h = Atomics.load(this.ctrl, I_HEAD);
      if (((this.tail - h) | 0) <= this.wakeDepth) {
        this.cachedHead = h;
        break;
      }
      // The consumer wakes us once the ring is down to wakeDepth; the timeout is a safety net.
      Atomics.wait(this.ctrl, I_HEAD, h, 10);
    }
    Atomics.store(this.ctrl, I_PRODUCER_WAITING, 0);
  }
}

/** Called for each record: read it through `views` at byte offset `offset`, before returning. */
export type RecordHandler = (views: RecordViews, offset: number) => void;

/**
 * The reading side. `poll(handler)` hands every available record to `handler` in order and
 * returns how many; `waitForData()` (async) or `waitSync()` (blocking, for workers) wait for more.
 * Under `drop-oldest` each record is first copied to private memory and checked against the
 * tail, so a record the producer overwrote meanwhile is counted as dropped, never seen torn.
 */
export class SharedRingConsumer extends SharedRingBase {
  private head: number;
  private popped: number;
  private dropsOldest: number;
  private highWater: number;
  private readonly scratch: RecordViews;
  private readonly scratchI32: Int32Array;
  private readonly words32: number;

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.head = Atomics.load(this.ctrl, I_HEAD);
    this.popped = this.stat[F_POPPED]!;
    this.dropsOldest = this.stat[F_DROPS_OLDEST]!;
    this.highWater = this.stat[F_HIGH_WATER]!;
    this.scratch = makeViews(new SharedArrayBuffer(this.recordBytes));
    this.scratchI32 = this.scratch.i32;
    this.words32 = this.recordBytes / 4;
  }

  /** True once the producer closed the ring and every record has been read. */
  get done(): boolean {
    return this.closed && Atomics.load(this.ctrl, I_TAIL) === this.head;
  }

  /** Records available now. */
  available(): number {
    return Math.min((Atomics.load(this.ctrl, I_TAIL) - this.head) | 0, this.capacity);
  }

  /** Hands up to `max` available records to `handler`, in order; returns how many it handed over. */
  poll(handler: RecordHandler, max: number = Infinity): number {
    const t = Atomics.load(this.ctrl, I_TAIL);
    const avail = (t - this.head) | 0;
    if (avail <= 0) return 0;
    if (avail > this.highWater) this.stat[F_HIGH_WATER] = this.highWater = Math.min(avail, this.capacity);
    if (this.overflow === 'drop-oldest') return this.pollCopying(t, handler, max);
    const n = avail < max ? avail : max;
    const views = this.views;
    let h = this.head;
    let i = 0;
    try {
      for (; i < n; i++) {
        const o = SHARED_RING_HEADER_BYTES + (h & this.mask) * this.recordBytes;
        h = (h + 1) | 0;
        handler(views, o);
      }
    } finally {
      this.release(h, i === n ? n : i + 1);
    }
    return n;
  }

  /**
   * Like {@link poll}, but hands records over only while `handler` returns true: the record it
   * returns false for stays in the ring, first in line for the next call. Not for `drop-oldest`
   * rings, whose records are copied before they are looked at.
   */
  pollWhile(handler: (views: RecordViews, offset: number) => boolean, max: number = Infinity): number {
    if (this.overflow === 'drop-oldest') {
      throw new RingError('MDCAP_ERR_RING_POLICY', 'shared ring pollWhile(): expected a block or drop-newest ring, found drop-oldest');
    }
    const t = Atomics.load(this.ctrl, I_TAIL);
    const avail = (t - this.head) | 0;
    if (avail <= 0) return 0;
    if (avail > this.highWater) this.stat[F_HIGH_WATER] = this.highWater = Math.min(avail, this.capacity);
    const n = avail < max ? avail : max;
    const views = this.views;
    let h = this.head;
    let i = 0;
    try {
      for (; i < n; i++) {
        if (!handler(views, SHARED_RING_HEADER_BYTES + (h & this.mask) * this.recordBytes)) break;
        h = (h + 1) | 0;
      }
    } catch (error) {
      h = (h + 1) | 0; // a record whose handler threw counts as read, as in poll()
      i++;
      this.release(h, i);
      throw error;
    }
    this.release(h, i);
    return i;
  }

  /**
   * drop-oldest: the producer never waits and overwrites the oldest records. It publishes the
   * position it is writing (WRITING) before it writes; the slot of position `p` is overwritten
   * only while the producer writes `p + capacity`. So a record is copied out first (as 32-bit
   * words: the exact bits), then kept only if the producer had not reached `p + capacity`
   * meanwhile; otherwise it is counted as dropped. Every skipped position is counted exactly.
   * (Positions are 32-bit and wrap: a consumer must poll at least once every 2^31 records.)
   */
  private pollCopying(tail: number, handler: RecordHandler, max: number): number {
    const cap = this.capacity;
    const src = this.views.i32;
    const dst = this.scratchI32;
    const words = this.words32;
    let h = this.head;
    let t = tail;
    let n = 0;
    try {
      let w = Atomics.load(this.ctrl, I_WRITING);
      if (((w - h) | 0) >= cap) {
        const oldest = (w - cap + 1) | 0;
        this.dropsOldest += (oldest - h) | 0;
        h = oldest;
        t = Atomics.load(this.ctrl, I_TAIL); // every position below the tail is committed
      }
      while (((t - h) | 0) > 0 && n < max) {
        const base = (SHARED_RING_HEADER_BYTES + (h & this.mask) * this.recordBytes) >> 2;
        for (let k = 0; k < words; k++) dst[k] = src[base + k]!;
        Atomics.add(this.ctrl, I_FENCE, 0); // a full fence: the copy is done before WRITING is read again
        w = Atomics.load(this.ctrl, I_WRITING);
        if (((w - h) | 0) >= cap) {
          // Overwritten while we copied (or before): skip to the oldest record still intact.
          const oldest = (w - cap + 1) | 0;
          this.dropsOldest += (oldest - h) | 0;
          h = oldest;
          t = Atomics.load(this.ctrl, I_TAIL);
          continue;
        }
        h = (h + 1) | 0;
        n++;
        handler(this.scratch, 0);
      }
    } finally {
      this.stat[F_DROPS_OLDEST] = this.dropsOldest;
      this.release(h, n);
    }
    return n;
  }

  private release(head: number, count: number): void {
    this.head = head;
    this.popped += count;
    this.stat[F_POPPED] = this.popped;
    Atomics.store(this.ctrl, I_HEAD, head);
    if (Atomics.load(this.ctrl, I_PRODUCER_WAITING) !== 0 && ((Atomics.load(this.ctrl, I_TAIL) - head) | 0) <= this.wakeDepth) {
      Atomics.notify(this.ctrl, I_HEAD);
    }
  }

  /**
   * Resolves true when records are available (or the ring is closed), false after `timeoutMs`.
   * Does not block the thread (uses `Atomics.waitAsync`).
   */
  async waitForData(timeoutMs: number = Infinity): Promise<boolean> {
    let left = timeoutMs;
    Atomics.store(this.ctrl, I_CONSUMER_WAITING, 1);
    try {
      for (;;) {
        const t = Atomics.load(this.ctrl, I_TAIL);
        if (t !== this.head || this.closed) return true;
        if (left <= 0) return false;
        // Sleep in short slices: close() does not move the tail, so a close racing this wait
        // would otherwise go unnoticed until the timeout.
        const slice = Math.min(left, MAX_SLEEP_MS);
        const r = Atomics.waitAsync(this.ctrl, I_TAIL, t, slice);
        if (r.async) await r.value;
        left -= slice;
      }
    } finally {
      Atomics.store(this.ctrl, I_CONSUMER_WAITING, 0);
    }
  }

  /** Blocking form of {@link waitForData}, for a consumer on a worker thread. */
  waitSync(timeoutMs: number = Infinity): boolean {
    for (let spin = 0; spin < SPINS; spin++) if (Atomics.load(this.ctrl, I_TAIL) !== this.head) return true;
    let left = timeoutMs;
    Atomics.store(this.ctrl, I_CONSUMER_WAITING, 1);
    try {
      for (;;) {
        const t = Atomics.load(this.ctrl, I_TAIL);
        if (t !== this.head || this.closed) return true;
        if (left <= 0) return false;
        const slice = Math.min(left, MAX_SLEEP_MS);
        Atomics.wait(this.ctrl, I_TAIL, t, slice);
        left -= slice;
      }
    } finally {
      Atomics.store(this.ctrl, I_CONSUMER_WAITING, 0);
    }
  }

  /**
   * Reads until the producer closes the ring: polls, waits without blocking the thread when
   * empty, and resolves with the number of records read.
   */
  async consume(handler: RecordHandler): Promise<number> {
    let total = 0;
    for (;;) {
      const n = this.poll(handler);
      total += n;
      if (n === 0) {
        if (this.done) return total;
        await this.waitForData(100);
      }
    }
  }
}
