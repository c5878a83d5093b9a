import { ClockError, ConfigError, describeValue } from './errors.js';
import { hostClearTimeout, hostSetTimeout, monotonicNs, wallMs } from './host.js';

/**
 * Time in mdcap comes only from a {@link Clock}. Live runs use {@link LiveClock} (wall time),
 * replays and simulations use {@link VirtualClock}, which only moves when told to. Both run
 * timers in (due time, creation order) and both offer {@link Clock.runDue}, which the engine
 * calls before dispatching an event stamped `t`: timers due at or before `t` fire first. That
 * one rule makes bars close at the same point of the event stream live and in replay.
 */

export type TimerId = number;

/** The part of a clock that schedules: what bars and batches need. */
export type TimerScheduler = Pick<Clock, 'setTimer' | 'clearTimer'>;

export interface Clock {
  readonly kind: 'live' | 'virtual';
  /** Current time, ns since the Unix epoch. Never decreases. */
  now(): bigint;
  /** Runs `callback` once the clock reaches `at` (ns since the epoch). A time in the past fires at the next chance. */
  setTimer(at: bigint, callback: () => void): TimerId;
  /** Cancels a timer; unknown or already fired ids are ignored. */
  clearTimer(id: TimerId): void;
  /**
   * Runs every timer due at or before `t`, in order. A virtual clock that is behind `t` moves
   * to `t` (events drive virtual time); a live clock's time is not affected.
   */
  runDue(t: bigint): void;
  /** Due time of the earliest pending timer, or null. */
  nextDue(): bigint | null;
}

interface TimerEntry {
  at: bigint;
  id: number;
  callback: (() => void) | null; // null once cancelled
}

/** A binary min-heap of timers ordered by (at, id). Internal to clocks. */
class TimerQueue {
  private readonly heap: TimerEntry[] = [];
  private readonly byId = new Map<number, TimerEntry>();
  private nextId = 1;
  /**
   * Due time of the heap's top entry (possibly a cancelled one), or null when empty: a cheap
   * lower bound that lets `runDue` return at once when nothing can be due.
   */
  earliest: bigint | null = null;

  get size(): number {
    return this.byId.size;
  }

  add(at: bigint, callback: () => void): number {
    if (typeof at !== 'bigint') {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `setTimer: expected a bigint time in ns since the epoch, found ${describeValue(at)}`,
      );
    }
    if (typeof callback !== 'function') {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `setTimer: expected a callback function, found ${describeValue(callback)}`);
    }
    const entry: TimerEntry = { at, id: this.nextId++, callback };
    this.byId.set(entry.id, entry);
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(entry, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = entry;
    this.earliest = h[0]!.at;
    return entry.id;
  }

  cancel(id: number): void {
    const e = this.byId.get(id);
    if (e !== undefined) {
      e.callback = null;
      this.byId.delete(id);
    }
  }

  /** Earliest live entry's due time. */
  peek(): bigint | null {
    this.dropCancelled();
    const top = this.heap[0];
    return top === undefined ? null : top.at;
  }

  /** Id the next timer will get: timers with a smaller id already exist. */
  get nextTimerId(): number {
    return this.nextId;
  }

  /**
   * Removes and returns the earliest live entry if it is due at or before `t` (and, with
   * `beforeId`, was created before that id).
   */
  popDue(t: bigint, beforeId = Infinity): TimerEntry | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (top === undefined || top.at > t || top.id >= beforeId) return undefined;
    this.pop();
    this.byId.delete(top.id);
    return top;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.callback === null) this.pop();
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) {
      this.earliest = null;
      return;
    }
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(h[r]!, h[l]!) ? r : l;
      if (!less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    this.earliest = h[0]!.at;
  }
}

function less(a: TimerEntry, b: TimerEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

/**
 * A clock that moves only when told to: by {@link advanceTo}, {@link advanceBy}, or
 * {@link runDue} with a later time. Timers fire during those calls, in order, each seeing
 * `now()` equal to its own due time.
 */
export class VirtualClock implements Clock {
  readonly kind = 'virtual' as const;
  // In a typed array rather than a field: runDue stores a new bigint for every event, and a
  // typed-array store needs no GC write barrier.
  private readonly cur = new BigInt64Array(1);
  private readonly timers = new TimerQueue();

  constructor(startNs = 0n) {
    if (typeof startNs !== 'bigint') {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `VirtualClock: expected a bigint start time in ns, found ${describeValue(startNs)}`,
      );
    }
    this.cur[0] = startNs;
  }

  private get current(): bigint {
    return this.cur[0]!;
  }

  private set current(t: bigint) {
    this.cur[0] = t;
  }

  now(): bigint {
    return this.cur[0]!;
  }

  setTimer(at: bigint, callback: () => void): TimerId {
    return this.timers.add(at, callback);
  }

  clearTimer(id: TimerId): void {
    this.timers.cancel(id);
  }

  nextDue(): bigint | null {
    return this.timers.peek();
  }

  /** Number of pending timers. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves the clock to `t`, firing every timer due on the way.
   * @throws {ClockError} `MDCAP_ERR_CLOCK_BACKWARDS` if `t` is before `now()`.
   */
  advanceTo(t: bigint): void {
    if (typeof t !== 'bigint' || BigInt.asIntN(64, t) !== t) {
      throw new ClockError(
        'MDCAP_ERR_INVALID_TIMESTAMP',
        `advanceTo: expected a bigint time in ns within the signed 64-bit range, found ${describeValue(t)}`,
      );
    }
    if (t < this.current) {
      throw new ClockError(
        'MDCAP_ERR_CLOCK_BACKWARDS',
        `virtual clock: expected a time at or after ${this.current}, found ${t} (${this.current - t} ns earlier)`,
        { details: { now: `${this.current}`, requested: `${t}` } },
      );
    }
    this.fire(t);
    if (t > this.current) this.current = t;
  }

  /** Moves the clock forward by `ns`. */
  advanceBy(ns: bigint): void {
    this.advanceTo(this.current + ns);
  }

  runDue(t: bigint): void {
    const next = this.timers.earliest;
    if ((next === null || t < next) && BigInt.asIntN(64, t) === t) {
      // Nothing can be due: the common case, once per event. (A typed-array store would
      // silently wrap a time beyond int64, hence the range check; advanceTo reports it.)
      if (t > this.cur[0]!) this.cur[0] = t;
      return;
    }
    if (t > this.current) this.advanceTo(t);
    else this.fire(t);
  }

  // Re-entrant on purpose: a timer callback that delivers an event (a simulator, say) makes the
  // engine call runDue again, and timers due before that event must fire before it.
  private fire(t: bigint): void {
    let e: TimerEntry | undefined;
    while ((e = this.timers.popDue(t)) !== undefined) {
      if (e.at > this.current) this.current = e.at;
      e.callback!();
    }
  }
}

/** Where a {@link LiveClock} counts from: a wall-clock reading and the monotonic timer's reading at that moment. */
export interface LiveClockAnchor {
  readonly wallNs: bigint;
  readonly monoNs: bigint;
}

/**
 * Wall-clock time in ns: anchored to the system clock once, then advanced by the monotonic
 * high-resolution timer, so it never goes backwards within a run (even if NTP steps the system
 * clock). Timers are driven by one host `setTimeout` for the earliest due timer.
 */
export class LiveClock implements Clock {
  readonly kind = 'live' as const;
  private readonly mono: () => bigint;
  private readonly anchorWall: bigint;
  private readonly anchorMono: bigint;
  private readonly timers = new TimerQueue();
  private armedAt: bigint | null = null;
  private handle: unknown = null;

  /**
   * @param anchor Another LiveClock's {@link anchor}: this clock then reads exactly the same
   * time as that one (a feed handler on a worker thread stamping for the engine's clock; the
   * monotonic timer is the process's, shared by its threads).
   */
  constructor(anchor?: LiveClockAnchor) {
    this.mono = monotonicNs();
    if (anchor === undefined) {
      this.anchorMono = this.mono();
      this.anchorWall = BigInt(wallMs()) * 1_000_000n;
    } else {
      if (typeof anchor.wallNs !== 'bigint' || typeof anchor.monoNs !== 'bigint') {
        throw new ConfigError(
          'MDCAP_ERR_INVALID_OPTION',
          `LiveClock anchor: expected { wallNs, monoNs } as bigints, found ${describeValue(anchor)}`,
        );
      }
      this.anchorWall = anchor.wallNs;
      this.anchorMono = anchor.monoNs;
    }
  }

  /** The wall and monotonic readings this clock counts from (pass it to a LiveClock on another thread). */
  get anchor(): LiveClockAnchor {
    return { wallNs: this.anchorWall, monoNs: this.anchorMono };
  }

  now(): bigint {
    return this.anchorWall + (this.mono() - this.anchorMono);
  }

  setTimer(at: bigint, callback: () => void): TimerId {
    const id = this.timers.add(at, callback);
    this.arm();
    return id;
  }

  clearTimer(id: TimerId): void {
    this.timers.cancel(id);
    this.arm();
  }

  nextDue(): bigint | null {
    return this.timers.peek();
  }

  // Re-entrant, like VirtualClock's: see there. Unlike virtual time, wall time does not jump, so
  // a timer set during this pass for a time already past waits for the next host turn: a
  // callback that keeps re-arming itself in the past cannot spin here forever.
  runDue(t: bigint): void {
    const next = this.timers.earliest;
    if (next === null || t < next) return;
    const existing = this.timers.nextTimerId;
    try {
      let e: TimerEntry | undefined;
      while ((e = this.timers.popDue(t, existing)) !== undefined) e.callback!();
    } finally {
      this.arm();
    }
  }

  private arm(): void {
    const next = this.timers.peek();
    if (next === this.armedAt) return;
    if (this.handle !== null) {
      hostClearTimeout(this.handle);
      this.handle = null;
    }
    this.armedAt = next;
    if (next === null) return;
    const delayNs = next - this.now();
    const delayMs = delayNs <= 0n ? 0 : Number((delayNs + 999_999n) / 1_000_000n);
    this.handle = hostSetTimeout(() => this.onHostTimer(), Math.min(delayMs, 2_147_483_647));
  }

  private onHostTimer(): void {
    this.handle = null;
    this.armedAt = null;
    this.runDue(this.now());
    // Host timers may fire a little early (libuv rounds to ms): re-arm for whatever is left.
    this.arm();
  }
}
