import { describeValue, LiveClock, MdcapError, PauseGate, VirtualClock } from '@mdcap/core';
import type { Clock, DataProvider, EventSink, MarketEvent, SequenceRule, SubscriptionKind, TimerId } from '@mdcap/core';
import { SUBSCRIPTION_KINDS } from '@mdcap/core';
import { lateStatus } from './late.js';
import { describeNatsStream, NatsProvider } from './nats.js';
import type { NatsProviderOptions } from './nats.js';

export interface MergedNatsProviderOptions extends Omit<NatsProviderOptions, 'venue' | 'clock' | 'sequencing'> {
  /** The venues whose streams to merge (`MD_<venue>` each), two or more. */
  readonly venues: readonly string[];
  /** The clock the engine runs on (default a new VirtualClock): the streams' own time. */
  readonly clock?: VirtualClock;
  /** Each venue's sequencing rule (default: what each stream's description says, once connected). */
  readonly sequencing?: Readonly<Record<string, SequenceRule>>;
  /**
   * Following live: how long an event waits for a stream that is caught up and quiet, in case
   * that stream brings an earlier event still on its way (default 250 ms of `wallClock`). A
   * bounded merge (`follow: false`) never waits on time: it waits for every stream's next event.
   */
  readonly maxDelayMs?: number;
  /** The clock that wait runs on (default a LiveClock). */
  readonly wallClock?: Clock;
  /** Events held per venue before its stream is paused (default 10,000). */
  readonly maxBuffered?: number;
}

/** `v` as two or more distinct non-empty names, or null. */
function distinctNames(v: unknown): string[] | null {
  if (!Array.isArray(v)) return null;
  const out: string[] = [];
  for (const x of v as unknown[]) {
    if (typeof x !== 'string' || x === '') return null;
    out.push(x);
  }
  return out.length >= 2 && new Set(out).size === out.length ? out : null;
}

/** One event taken from a venue stream, waiting for its turn. */
interface Held {
  readonly e: MarketEvent;
  /** The publisher's ord (ties of receive time), +Infinity without one. */
  readonly ord: number;
  /** When it arrived, on the wall clock (following live only; 0n otherwise). */
  readonly at: bigint;
}

/** One venue stream, as the merge reads it. */
interface Lane {
  readonly venue: string;
  /** The lane's place in `venues`: the last tie-break. */
  readonly rank: number;
  readonly provider: NatsProvider;
  buf: (Held | undefined)[];
  head: number;
  connected: boolean;
  ended: boolean;
  paused: boolean;
}

/**
 * Feeds a `RealtimeEngine` from several venue streams at once, merged into one stream in receive
 * time, and within a receive time in the publisher's order (its `Mdcap-Ord` header), then in the
 * order the venues are given: the order the publishing engine saw, when one recorder published
 * them all.
 *
 * Bounded (`follow: false`), the merge waits for every stream's next event before it delivers
 * one, so it is exact and every engine reading it sees the same callbacks. Following live, a
 * stream that is caught up and quiet holds the others back for at most `maxDelayMs` of wall time;
 * an event that nonetheless arrives after later ones went out cannot be put back in order, and is
 * not silently dropped or re-stamped: it becomes a `gap` status for its symbol, counted in
 * `counts.late` (a bounded replay of the streams has it).
 */
export class MergedNatsProvider implements DataProvider {
  readonly venue: string;
  readonly venues: readonly string[];
  readonly clock: VirtualClock;
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS;
  readonly validatesEvents = false;
  /** Events delivered, and late events turned into `gap` statuses. */
  readonly counts = { delivered: 0, late: 0 };
  private readonly lanes: Lane[];
  private readonly follow: boolean;
  private readonly maxDelayNs: bigint;
  private readonly wall: Clock;
  private readonly maxBuffered: number;
  private readonly gate = new PauseGate();
  private sink: EventSink | null = null;
  private pumping = false;
  /** A lane lost its connection: nothing goes out until the engine connects again. */
  private held = false;
  private finished = false;
  private timer: TimerId | null = null;
  private last: bigint | null = null;

  /**
   * A provider whose clock already stands at the earliest first event of the streams and whose
   * sequencing rules are theirs: what a recorder needs before it starts.
   * @throws {MdcapError} `MDCAP_ERR_CONNECT_FAILED` when the server or a stream is not there.
   */
  static async open(options: MergedNatsProviderOptions): Promise<MergedNatsProvider> {
    const infos = await Promise.all(options.venues.map((v) => describeNatsStream(options.url, v, options.streamPrefix)));
    let first: bigint | null = null;
    for (const i of infos) if (i.firstTsRecv !== null && (first === null || i.firstTsRecv < first)) first = i.firstTsRecv;
    const sequencing: Record<string, SequenceRule> = {};
    for (const i of infos) sequencing[i.venue] = i.sequencing;
    return new MergedNatsProvider({ sequencing, ...options, clock: options.clock ?? new VirtualClock(first ?? 0n) });
  }

  constructor(options: MergedNatsProviderOptions) {
    const venues = distinctNames(options.venues);
    if (venues === null) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `nats merged provider venues: expected two or more distinct venue names (one venue: NatsProvider), found ${describeValue(options.venues)}`,
      );
    }
    this.venues = [...venues];
    this.venue = venues.join('+');
    this.clock = options.clock ?? new VirtualClock();
    this.follow = options.follow !== false;
    this.maxDelayNs = BigInt(Math.round((options.maxDelayMs ?? 250) * 1e6));
    this.wall = options.wallClock ?? new LiveClock();
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.lanes = venues.map((venue, rank) => {
      const seq = options.sequencing?.[venue];
      // Each lane on a clock of its own, which nothing reads: the engine runs on the merge's.
      const provider = new NatsProvider({
        url: options.url,
        venue,
        ...(options.streamPrefix === undefined ? {} : { streamPrefix: options.streamPrefix }),
        ...(options.from === undefined ? {} : { from: options.from }),
        follow: this.follow,
        ...(seq === undefined ? {} : { sequencing: seq }),
      });
      const lane: Lane = { venue, rank, provider, buf: [], head: 0, connected: false, ended: false, paused: false };
      provider.onMessage = () => this.pump();
      return lane;
    });
  }

  /** Each venue's sequencing rule (a recorder keeps them in the capture's manifest). */
  get venueSequencing(): Readonly<Record<string, SequenceRule>> {
    const out: Record<string, SequenceRule> = {};
    for (const l of this.lanes) out[l.venue] = l.provider.sequencing;
    return out;
  }

  /** Connects every venue stream not connected (all at first; after a loss, those that lost theirs). */
  async connect(sink: EventSink): Promise<void> {
    this.sink = sink;
    for (const lane of this.lanes) {
      if (lane.connected || lane.ended) continue;
      await lane.provider.connect(this.laneSink(lane));
      lane.connected = true;
    }
    this.held = false;
    this.pump();
  }

  private laneSink(lane: Lane): EventSink {
    return {
      push: (e) => {
        lane.buf.push({ e, ord: lane.provider.ord, at: this.follow ? this.wall.now() : 0n });
        if (!lane.paused && lane.buf.length - lane.head >= this.maxBuffered) {
          lane.paused = true;
          lane.provider.pause();
        }
      },
      lost: (error) => {
        lane.connected = false;
        if (this.held) return;
        // One loss reaches the engine once; it reconnects the lanes that lost theirs.
        this.held = true;
        this.sink?.lost(error);
      },
      end: (error) => {
        lane.ended = true;
        if (error !== undefined) this.finish(error);
        else this.pump();
      },
    };
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    return Promise.all(this.lanes.map((l) => l.provider.subscribe(symbol, kinds))).then(() => undefined);
  }

  unsubscribe(symbol: string): Promise<void> {
    return Promise.all(this.lanes.map((l) => l.provider.unsubscribe(symbol))).then(() => undefined);
  }

  ready(): void {
    for (const l of this.lanes) l.provider.ready();
  }

  /** True when `a`'s head goes before `b`'s: receive time, the publisher's ord, then the venues' order. */
  private static before(a: Lane, b: Lane): boolean {
    const x = a.buf[a.head]!;
    const y = b.buf[b.head]!;
    if (x.e.tsRecv !== y.e.tsRecv) return x.e.tsRecv < y.e.tsRecv;
    if (x.ord !== y.ord) return x.ord < y.ord;
    return a.rank < b.rank;
  }

  /** Delivers every event whose turn has come; called whenever a lane takes in a message, ends, or a wait is over. */
  private pump(): void {
    if (this.pumping || this.held || this.finished || this.sink === null) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.gate.paused) return;
        let best: Lane | null = null;
        let quiet = false;
        for (const l of this.lanes) {
          if (l.head < l.buf.length) {
            if (best === null || MergedNatsProvider.before(l, best)) best = l;
          } else if (!l.ended) {
            // A stream that may still bring an earlier event holds the merge: until its next
            // event (bounded, or still catching up), or for a while (caught up, live).
            if (!this.follow || !l.provider.caughtUp) return;
            quiet = true;
          }
        }
        if (best === null) {
          if (this.lanes.every((l) => l.ended)) this.finish();
          return;
        }
        const h = best.buf[best.head]!;
        if (quiet && this.wall.now() < h.at + this.maxDelayNs) {
          this.wake(h.at + this.maxDelayNs);
          return;
        }
        best.buf[best.head++] = undefined;
        if (best.head >= 4_096 && best.head * 2 >= best.buf.length) {
          best.buf = best.buf.slice(best.head);
          best.head = 0;
        }
        if (best.paused && best.buf.length - best.head <= this.maxBuffered >> 2) {
          best.paused = false;
          best.provider.resume();
        }
        this.deliver(h.e);
      }
    } finally {
      this.pumping = false;
    }
  }

  private deliver(e: MarketEvent): void {
    const sink = this.sink!;
    const last = this.last;
    if (last !== null && e.tsRecv < last) {
      this.counts.late++;
      sink.push(lateStatus(e, last, 'nats'));
      return;
    }
    this.last = e.tsRecv;
    this.counts.delivered++;
    sink.push(e);
  }

  private wake(at: bigint): void {
    if (this.timer !== null) this.wall.clearTimer(this.timer);
    this.timer = this.wall.setTimer(at, () => {
      this.timer = null;
      this.pump();
    });
  }

  private finish(error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.sink?.end(error);
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
    this.pump();
  }

  async disconnect(): Promise<void> {
    if (this.timer !== null) this.wall.clearTimer(this.timer);
    this.timer = null;
    this.gate.resume();
    await Promise.all(this.lanes.map((l) => l.provider.disconnect()));
    for (const l of this.lanes) l.connected = false;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }
}
