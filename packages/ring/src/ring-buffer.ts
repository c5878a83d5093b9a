import { checkCapacity, checkPolicy, DEFAULT_CAPACITY } from './options.js';
import type { OverflowPolicy, RingStats } from './options.js';

export interface RingBufferOptions {
  /** Slots, a power of two (default 65,536). */
  readonly capacity?: number;
  /** Default `block`. */
  readonly overflow?: OverflowPolicy;
}

/**
 * Single-producer single-consumer ring of references, for a producer and consumer on the same
 * thread (a socket callback and the engine, say). All slots are allocated up front; `push` and
 * `shift` allocate nothing. Under `block` a full ring refuses the record (`push` returns false)
 * and {@link whenWritable} tells the producer when to try again.
 */
export class RingBuffer<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  private readonly mask: number;
  private readonly slots: (T | undefined)[];
  private head = 0; // next slot to read (counts up forever; 2^53 is out of reach)
  private tail = 0; // next slot to write
  private highWaterMark = 0;
  private dropCount = 0;
  private popCount = 0;
  private writable: Array<() => void> = [];

  constructor(options: RingBufferOptions = {}) {
    this.capacity = checkCapacity(options.capacity ?? DEFAULT_CAPACITY);
    this.overflow = checkPolicy(options.overflow ?? 'block');
    this.mask = this.capacity - 1;
    this.slots = new Array<T | undefined>(this.capacity).fill(undefined);
  }

  /** Records waiting. */
  get length(): number {
    return this.tail - this.head;
  }

  get full(): boolean {
    return this.tail - this.head === this.capacity;
  }

  /**
   * Adds a record. Returns false if the record was not added: under `block` because the ring is
   * full (retry after {@link whenWritable}), under `drop-newest` because it was dropped (counted).
   * Under `drop-oldest` it always returns true; the oldest record is dropped (counted) if needed.
   */
  push(item: T): boolean {
    let depth = this.tail - this.head;
    if (depth === this.capacity) {
      if (this.overflow === 'drop-oldest') {
        this.slots[this.head & this.mask] = undefined;
        this.head++;
        this.dropCount++;
        depth--;
      } else {
        if (this.overflow === 'drop-newest') this.dropCount++;
        return false;
      }
    }
    this.slots[this.tail & this.mask] = item;
    this.tail++;
    if (depth + 1 > this.highWaterMark) this.highWaterMark = depth + 1;
    return true;
  }

  /** Removes and returns the oldest record, or undefined when empty. */
  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const i = this.head & this.mask;
    const item = this.slots[i];
    this.slots[i] = undefined;
    this.head++;
    this.popCount++;
    if (this.writable.length > 0) this.notifyWritable();
    return item;
  }

  /** The oldest record without removing it. */
  peek(): T | undefined {
    return this.head === this.tail ? undefined : this.slots[this.head & this.mask];
  }

  /** Hands up to `max` records to `fn` in order, removing them; returns how many. */
  drain(fn: (item: T) => void, max: number = Infinity): number {
    let n = 0;
    while (this.head !== this.tail && n < max) {
      const i = this.head & this.mask;
      const item = this.slots[i] as T;
      this.slots[i] = undefined;
      this.head++;
      this.popCount++;
      n++;
      fn(item);
    }
    if (n > 0 && this.writable.length > 0) this.notifyWritable();
    return n;
  }

  /** Resolves once a slot is free (at once if one is). */
  whenWritable(): Promise<void> {
    if (this.tail - this.head < this.capacity) return Promise.resolve();
    return new Promise((resolve) => this.writable.push(resolve));
  }

  /** Drops every waiting record (not counted as overflow drops). */
  clear(): void {
    while (this.head !== this.tail) this.slots[this.head++ & this.mask] = undefined;
    if (this.writable.length > 0) this.notifyWritable();
  }

  stats(): RingStats {
    return {
      capacity: this.capacity,
      depth: this.tail - this.head,
      highWater: this.highWaterMark,
      pushed: this.tail,
      popped: this.popCount,
      drops: this.dropCount,
    };
  }

  private notifyWritable(): void {
    const waiters = this.writable;
    this.writable = [];
    for (const w of waiters) w();
  }
}
