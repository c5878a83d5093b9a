import { ALL_SYMBOLS, ConfigError, LiveClock, MdcapError, createStatus, describeValue } from '@mdcap/core';
import type { Clock, EventType, MarketEvent, Status } from '@mdcap/core';
import type { RealtimeEngine } from '@mdcap/engine';

/**
 * A downstream system that takes the engine's events in batches: a database, a cache, a log.
 * The runner ({@link attachSink}) owns batching, the bounded queue, retries and metrics; a sink
 * only knows how to reach its server.
 */
export interface Sink {
  /** The sink's kind (`postgres`, `redis`, `nats`, `kafka`), for messages and metrics. */
  readonly kind: string;
  /** Where it writes, credentials left out (`postgres://127.0.0.1:5432/md`). */
  readonly target: string;
  /**
   * Connects and prepares the target (tables, streams). Called before the first write and
   * again before a retry after a failed one, so it must be safe to repeat.
   */
  open(): Promise<void>;
  /**
   * Writes one batch, whole. It must be idempotent: after a failure the runner sends the same
   * batch again, and nothing may then be written twice (a key, a message id).
   */
  write(batch: readonly MarketEvent[]): Promise<void>;
  /** Drops the connection after a failure, so the next `open()` starts clean. */
  reset(): Promise<void>;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

export interface SinkOptions {
  /** Write when this many events wait (default 5,000). */
  readonly maxEvents?: number;
  /** Write at most this long after the first waiting event, on the engine clock (default 100 ms). */
  readonly maxDelayMs?: number;
  /** Batches that may wait while a write is in flight or retried (default 64). */
  readonly maxPending?: number;
  /**
   * When `maxPending` batches wait: `drop` (default) drops the newest batch, counts it and writes
   * a `gap` status for it once the sink writes again, so a slow or failed server never holds up
   * the feed or the capture; `block` pauses the provider (replays, backfills).
   */
  readonly overflow?: 'block' | 'drop';
  /** Only these event types (default: all the engine dispatches). */
  readonly kinds?: readonly EventType[];
  /** Waits between attempts of a failed write, in ms; the last repeats (default 100, 200, 500, 1000, 2000, 5000). */
  readonly retryDelaysMs?: readonly number[];
  /**
   * Attempts of one batch while the sink is being closed, before what is left counts as dropped
   * (default 3): a server that is down when the recording ends cannot hold the recorder forever.
   */
  readonly closeAttempts?: number;
  /** The clock retry waits run on (default a LiveClock): injected, as all time in mdcap. */
  readonly clock?: Clock;
  /** Each failed write, with the attempt it was (1-based). The sink retries; this only reports. */
  readonly onError?: (error: MdcapError, attempt: number) => void;
}

/** What a sink has done, for `--json`, `/metrics` and tests. */
export interface SinkStats {
  readonly kind: string;
  readonly target: string;
  /** Events written (rows, messages). */
  readonly written: number;
  readonly batches: number;
  /** Failed write attempts (each retried). */
  readonly failures: number;
  /** Events dropped: batches that found the queue full, or that were given up at close. */
  readonly dropped: number;
  /** Gap statuses written for dropped events. */
  readonly gaps: number;
  /** Batches waiting (the one being written included). */
  readonly pending: number;
  /** Engine clock minus the receive time of the last event written (ns), or null before the first write. */
  readonly lagNs: bigint | null;
  readonly lastError: string | null;
}

/** A sink attached to an engine. `close()` (or `await using`) writes what waits, then closes. */
export interface SinkHandle extends AsyncDisposable {
  readonly sink: Sink;
  stats(): SinkStats;
  /** Detaches from the engine, writes what waits (retrying at most `closeAttempts` times a batch), closes the sink. */
  close(): Promise<SinkStats>;
}

/** Engine states in which it waits for its batches to be written, so retries must end. */
const ENDING: ReadonlySet<string> = new Set(['stopping', 'stopped', 'ended', 'failed']);

const DEFAULT_RETRY_MS: readonly number[] = [100, 200, 500, 1_000, 2_000, 5_000];

function positiveInt(what: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1)
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${what}: expected a positive integer, found ${describeValue(v)}`);
  return v;
}

interface Loss {
  count: number;
  fromTsRecv: bigint;
  toTsRecv: bigint;
  tsEvent: bigint;
}

/**
 * Hands what the engine dispatches to a sink, through `engine.onBatch()`: batches cut by count
 * or time on the engine clock, at most `maxPending` waiting, the declared overflow policy, a
 * failed write retried with back-off until it succeeds (the sink's writes are idempotent), and
 * every dropped event counted and written downstream as a `gap` status per venue. Attach before
 * `engine.start()`; close after `engine.done()` (or on the way out).
 */
export function attachSink(engine: RealtimeEngine, sink: Sink, options: SinkOptions = {}): SinkHandle {
  return new SinkRunner(engine, sink, options);
}

class SinkRunner implements SinkHandle {
  private readonly clock: Clock;
  private readonly retryMs: readonly number[];
  private readonly closeAttempts: number;
  private readonly detach: () => void;
  private written = 0;
  private batches = 0;
  private failures = 0;
  private dropped = 0;
  private gaps = 0;
  private pending = 0;
  private lastTsRecv: bigint | null = null;
  private lastError: string | null = null;
  private closing = false;
  private opened = false;
  /** Events lost per venue since the last write, said downstream by the next one. */
  private readonly losses = new Map<string, Loss>();
  private closed: Promise<SinkStats> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly engine: RealtimeEngine,
    readonly sink: Sink,
    private readonly options: SinkOptions,
  ) {
    this.clock = options.clock ?? new LiveClock();
    const retry = options.retryDelaysMs ?? DEFAULT_RETRY_MS;
    if (!Array.isArray(retry) || retry.length === 0 || !retry.every((x) => Number.isInteger(x) && x >= 0)) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `sink retryDelaysMs: expected a non-empty array of non-negative integers, found ${describeValue(retry)}`,
      );
    }
    this.retryMs = retry;
    this.closeAttempts = positiveInt('sink closeAttempts', options.closeAttempts, 3);
    this.detach = engine.onBatch((batch) => this.deliver(batch), {
      maxEvents: positiveInt('sink maxEvents', options.maxEvents, 5_000),
      maxDelayMs: positiveInt('sink maxDelayMs', options.maxDelayMs, 100),
      maxPending: positiveInt('sink maxPending', options.maxPending, 64),
      overflow: options.overflow ?? 'drop',
      ...(options.kinds === undefined ? {} : { kinds: options.kinds }),
      onDrop: (events) => this.lose(events),
    });
  }

  stats(): SinkStats {
    return {
      kind: this.sink.kind,
      target: this.sink.target,
      written: this.written,
      batches: this.batches,
      failures: this.failures,
      dropped: this.dropped,
      gaps: this.gaps,
      pending: this.pending,
      lagNs: this.lastTsRecv === null ? null : this.engine.clock.now() - this.lastTsRecv,
      lastError: this.lastError,
    };
  }

  private lose(events: readonly MarketEvent[]): void {
    this.dropped += events.length;
    for (const e of events) {
      const l = this.losses.get(e.venue);
      if (l === undefined) this.losses.set(e.venue, { count: 1, fromTsRecv: e.tsRecv, toTsRecv: e.tsRecv, tsEvent: e.tsEvent });
      else {
        l.count++;
        l.toTsRecv = e.tsRecv;
      }
    }
  }

  /** Gap statuses for what was lost since the last write, placed where the loss ended. */
  private gapStatuses(): Status[] {
    const out: Status[] = [];
    for (const [venue, l] of this.losses) {
      out.push(
        createStatus({
          venue,
          symbol: ALL_SYMBOLS,
          tsEvent: l.toTsRecv,
          tsRecv: l.toTsRecv,
          kind: 'gap',
          detail: `sink ${this.sink.kind} (${this.sink.target}) dropped ${l.count} events of ${venue} received from ${l.fromTsRecv} to ${l.toTsRecv} ns: its queue was full while writes failed or lagged`,
        }),
      );
    }
    return out;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.clock.setTimer(this.clock.now() + BigInt(ms) * 1_000_000n, () => {
        this.wake = null;
        resolve();
      });
      // close() cuts a wait short: the remaining attempts are few and come at once.
      this.wake = () => {
        this.clock.clearTimer(t);
        this.wake = null;
        resolve();
      };
    });
  }

  private async deliver(batch: MarketEvent[]): Promise<void> {
    this.pending++;
    try {
      await this.writeWithRetry(batch);
    } finally {
      this.pending--;
    }
  }

  private async writeWithRetry(batch: MarketEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // Gaps go first: they say what was lost before this batch (which came after the loss).
      const gaps = this.losses.size === 0 ? null : this.gapStatuses();
      const out = gaps === null ? batch : mergeByTsRecv(gaps, batch);
      try {
        if (!this.opened) {
          await this.sink.open();
          this.opened = true;
        }
        await this.sink.write(out);
        if (gaps !== null) {
          this.gaps += gaps.length;
          this.losses.clear();
        }
        this.written += batch.length;
        this.batches++;
        if (batch.length > 0) this.lastTsRecv = batch[batch.length - 1]!.tsRecv;
        return;
      } catch (error) {
        this.failures++;
        const e =
          error instanceof MdcapError
            ? error
            : new MdcapError(
                'MDCAP_ERR_SINK_WRITE',
                `sink ${this.sink.kind} (${this.sink.target}): a write of ${batch.length} events failed: ${(error as Error)?.message ?? String(error)}`,
                { cause: error },
              );
        this.lastError = e.message;
        this.options.onError?.(e, attempt);
        this.opened = false;
        await this.sink.reset().catch(() => undefined);
        // The engine waits for its batches when it stops: from then on attempts are bounded.
        const closing = this.closing || ENDING.has(this.engine.status);
        if (closing && attempt >= this.closeAttempts) {
          this.lose(batch);
          return;
        }
        await this.sleep(closing ? Math.min(100, this.retryMs[0]!) : this.retryMs[Math.min(attempt, this.retryMs.length) - 1]!);
      }
    }
  }

  close(): Promise<SinkStats> {
    this.closed ??= (async () => {
      this.closing = true;
      this.wake?.();
      // After engine.done() every batch has been handed over (the engine finishes its batchers);
      // closed earlier, the sink stops taking new ones and writes those in flight.
      this.detach();
      await this.drain();
      // What was lost at the very end is still said downstream, if the server takes it.
      if (this.losses.size > 0 && this.opened) {
        const gaps = this.gapStatuses();
        await this.sink.write(gaps).then(
          () => {
            this.gaps += gaps.length;
            this.losses.clear();
          },
          () => undefined,
        );
      }
      await this.sink.close();
      return this.stats();
    })();
    return this.closed;
  }

  private async drain(): Promise<void> {
    while (this.pending > 0) await new Promise((r) => setImmediate(r));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close().then(() => undefined);
  }
}

/** Merges two runs, each in tsRecv order, into one (ties: `a` first). */
function mergeByTsRecv(a: readonly MarketEvent[], b: readonly MarketEvent[]): MarketEvent[] {
  const out: MarketEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.tsRecv <= b[j]!.tsRecv)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
