import { BookFlags, createBookUpdate, createOrderUpdate, createStatus, createTrade, MdcapError } from '@mdcap/core';
import type { BookSide, BookUpdateInit, Clock, Instrument, MarketEvent, OrderAction, TimerId } from '@mdcap/core';
import { SbeDecimal } from '@mdcap/mdp3';
import type { DecodedMessage, DecodedPacket, SbeCodec, SbeRecord } from '@mdcap/mdp3';
import { HotReader, NotWalkable } from './fast.js';
import type { HotEntry, HotKind, HotVisitor } from './fast.js';
import { priceRule, toPrice, toPriceOf } from './prices.js';
import type { PriceRule } from './prices.js';

/**
 * The CME MDP 3.0 channel handler, without sockets: packets of the incremental feeds A and B, of
 * the snapshot loop and of the instrument-definition loop go in; events come out. It
 *
 * - arbitrates A and B by `MsgSeqNum`: the first copy is processed, the other counted as a
 *   duplicate and never delivered twice; a packet ahead of its turn waits (`gapWaitNs`) for the
 *   missing ones to come on the other feed;
 * - keeps each instrument's level-indexed book (MBP: `MDPriceLevel` 1..depth, New shifting the
 *   levels below it down, Delete shifting them up, DeleteThru / DeleteFrom / Overlay) and turns
 *   its changes into price-level updates at the instrument's exact scale;
 * - checks each instrument's `RptSeq`; a hole in `MsgSeqNum` on both feeds, a `RptSeq` jump, or
 *   a book level that cannot be, makes the book invalid with a `gap` status. The handler then
 *   wants the snapshot loop, holds the instrument's book updates, rebuilds the book from its
 *   `SnapshotFullRefresh` and the updates after the snapshot's `LastMsgSeqNumProcessed`, says
 *   `resync`, and lets the snapshot loop go when every instrument has recovered. After a hole
 *   in `MsgSeqNum`, an MBP book whose next `RptSeq` follows on lost nothing: it is delivered again
 *   at once ("intact"). A book is never "fixed" silently: between the gap and the resync it
 *   delivers nothing.
 *
 * At the start every book is invalid in the same way: it is built from the snapshot loop.
 * Trades and statuses are not book state: they are delivered as they come, gap or not.
 *
 * The book is MBP (`book: 'mbp'`, the default: price levels, 10 deep on most futures) or MBO
 * (`book: 'mbo'`: every order, as L3 order updates, rebuilt after a loss from the MBO snapshot
 * loop's `SnapshotFullRefreshOrderBook`, which the snapshot callbacks then mean). Never both: one
 * engine book per symbol takes levels or orders, and the two mixed would count liquidity twice.
 */

export type CmeFeedSide = 'A' | 'B';

export interface CmeHandlerOptions {
  readonly codec: SbeCodec;
  /** The venue of the events (default `cme`). */
  readonly venue?: string;
  /** CME symbols (`ESH1`) whose events to deliver; the channel's others are followed but not delivered. */
  readonly symbols: readonly string[] | 'all';
  /** Time for the arbitration's wait (the engine's clock). */
  readonly clock: Clock;
  readonly emit: (e: MarketEvent) => void;
  /** How long a packet ahead of its turn waits for the missing ones on the other feed (default 10 ms). */
  readonly gapWaitNs?: bigint;
  /** Packets held at most while waiting: a hole this long is a gap at once (default 4,096). */
  readonly maxHeld?: number;
  /**
   * How book, order and trade messages are read: `hot` (default) by the schema's offsets into a
   * reused entry, `generic` through the self-describing decoder (the reference the hot path is
   * tested against).
   */
  readonly decode?: 'hot' | 'generic';
  /**
   * `mbp` (default): price-level updates, recovered from the MBP snapshot loop. `mbo`: order
   * updates (L3), recovered from the MBO snapshot loop (feed type SMBO); level entries are not
   * delivered (their RptSeq still counts).
   */
  readonly book?: 'mbp' | 'mbo';
  /** The handler wants the snapshot loop of its book kind (`true`), or no longer needs it (`false`). */
  readonly onSnapshotLoop?: (join: boolean) => void;
  /** The handler wants the instrument-definition loop (`true`), or has every definition it needs (`false`). */
  readonly onDefinitionLoop?: (join: boolean) => void;
}

export interface CmeHandlerStats {
  readonly packets: { A: number; B: number; snapshot: number; definition: number };
  /** Incremental packets processed (once each, whichever feed brought them first). */
  processed: number;
  /** Copies of packets already processed (the other feed's, or a feed's own repeat). */
  duplicates: number;
  /** Holes in `MsgSeqNum` found on both feeds, and the packets they lost. */
  gaps: number;
  lostPackets: number;
  /** Packet copies that could not be decoded (counted, each with a `corrupt` status; a gap only if no copy came). */
  corrupt: number;
  /** Books rebuilt from the snapshot loop, or found intact after a channel gap (`intact`). */
  recoveries: number;
  /** Books found intact after a channel gap: their next `RptSeq` followed on, so no lost packet held theirs. */
  intact: number;
  /** Entries not turned into events: statistics, order detail of MBP messages, levels of an MBO book, orders of an MBP book. */
  skippedEntries: number;
}

interface Level {
  price: bigint;
  size: bigint;
}

/** An incremental packet accepted for its turn: checked once, already decoded if the hot reader does not read it. */
interface Accepted {
  readonly bytes: Uint8Array;
  readonly tsRecv: bigint;
  readonly generic: DecodedPacket | null;
}

interface Pending {
  readonly seq: number;
  readonly rptSeq: number | null;
  readonly apply: () => void;
}

interface Inst {
  readonly securityId: number;
  readonly symbol: string;
  readonly group: string;
  readonly rule: PriceRule;
  readonly depth: number;
  wanted: boolean;
  readonly bids: Level[];
  readonly asks: Level[];
  /** The implied book (ImpliedBid/ImpliedOffer), level-indexed like the outright one, `impliedDepth` deep. */
  readonly impliedDepth: number;
  readonly ibids: Level[];
  readonly iasks: Level[];
  rptSeq: number;
  valid: boolean;
  /** MBO: the chunks of an order snapshot collected so far (they come in order, 1..NoChunks). */
  chunks: { last: number; total: number; next: number; orders: SbeRecord[] } | null;
  /** Invalid: the book updates since, waiting for a snapshot. */
  pending: Pending[];
  /** Invalid: the first incremental packet whose updates `pending` holds. */
  pendingFrom: number;
  /** A snapshot ahead of the incremental stream: updates up to this RptSeq are in it already. */
  skipThrough: number;
  /** MBO: the packet of the last order snapshot taken: order entries of packets up to it are in it already. */
  orderSeq: number;
  /** A snapshot was refused while the book waits (said once per wait). */
  refused: boolean;
  /**
   * Invalid after a channel gap only (MBP): the book is kept as it was. If the instrument's next
   * `RptSeq` follows on from it, none of the lost packets was the instrument's, and the book is
   * delivered again from its own levels without waiting for the snapshot loop.
   */
  suspect: boolean;
}

const ENTRY_SIDE: Readonly<Record<string, BookSide>> = { Bid: 'bid', Offer: 'ask' };
const IMPLIED_SIDE: Readonly<Record<string, BookSide>> = { ImpliedBid: 'bid', ImpliedOffer: 'ask' };

/** Templates by what they carry, across schema versions (v8's and v9's ids). */
const BOOK = new Set(['MDIncrementalRefreshBook46', 'MDIncrementalRefreshBook32']);
const ORDER_BOOK = new Set(['MDIncrementalRefreshOrderBook47', 'MDIncrementalRefreshOrderBook43']);
const TRADES = new Set(['MDIncrementalRefreshTradeSummary48', 'MDIncrementalRefreshTradeSummary42']);
const SNAPSHOT = new Set(['SnapshotFullRefresh52', 'SnapshotFullRefresh38']);
const ORDER_SNAPSHOT = 'SnapshotFullRefreshOrderBook53';
/** An instrument's RptSeq after an MBO snapshot (which has none): the next one seen is taken as it comes. */
const RPT_UNKNOWN = -1;
const NOTHING = (): void => undefined;

/** What {@link CmeHandler.admit} says of an entry. */
type Verdict = 0 | 1 | 2;
const APPLY: Verdict = 0;
const HOLD: Verdict = 1;
const DROP: Verdict = 2;
const DEFINITION = /^MDInstrumentDefinition(Future|Spread|Option)\d+$/;

export class CmeHandler {
  readonly venue: string;
  readonly stats: CmeHandlerStats = {
    packets: { A: 0, B: 0, snapshot: 0, definition: 0 },
    processed: 0,
    duplicates: 0,
    gaps: 0,
    lostPackets: 0,
    corrupt: 0,
    recoveries: 0,
    intact: 0,
    skippedEntries: 0,
  };
  private readonly codec: SbeCodec;
  private readonly hot: HotReader;
  /** What the hot reader hands each entry to (one object, made once). */
  private readonly visitor: HotVisitor;
  private readonly clock: Clock;
  private readonly emit: (e: MarketEvent) => void;
  private readonly wanted: Set<string>;
  /** Every instrument of the channel is wanted (an import of a whole capture). */
  private readonly all: boolean;
  private readonly gapWaitNs: bigint;
  private readonly maxHeld: number;
  /** The book is MBO (orders), not MBP (levels). */
  private readonly mbo: boolean;
  private readonly byId = new Map<number, Inst>();
  private readonly bySymbol = new Map<string, Inst>();
  /** The next `MsgSeqNum` to process (0 before the first packet). */
  private next = 0;
  /** Packets ahead of their turn, by `MsgSeqNum`, with their receive times. */
  private readonly held = new Map<number, Accepted>();
  private holdTimer: TimerId | null = null;
  /** Invalid instruments (and, before their definitions come, the channel itself). */
  private readonly recovering = new Set<Inst>();
  private inSnapshotLoop = false;
  private inDefinitionLoop = false;
  /** False until the definitions of the symbols wanted at the start are in (or the loop went round once). */
  private started = false;
  /** Definitions the loop announces (`TotNumReports`), once known. */
  private loopSize: number | null = null;
  /** Incremental packets seen before the start: replayed once the definitions are in. */
  private early: Accepted[] = [];
  /** Events of the packet being processed: flushed at its end, the last of each book flagged `Last`. */
  private out: MarketEvent[] = [];
  private tsRecv = 0n;
  /** The latest receive time handed on: what the handler stamps never goes back before it (see {@link at}). */
  private lastOut = 0n;
  /** The `MsgSeqNum` the events being built carry, and its bigint (made once per packet, not per event). */
  private seqNum = 0;
  private seqBig = 0n;
  /** The other array of events out, swapped in while one is flushed (null while it is in use). */
  private spare: MarketEvent[] | null = [];
  /** What {@link bookEvent} hands the factory, reused. */
  private readonly bookInit: { -readonly [K in keyof BookUpdateInit]-?: BookUpdateInit[K] };
  /** Symbols whose last update of the packet was flagged at a flush (cleared each time). */
  private readonly flagged = new Set<string>();

  private get seq(): number {
    return this.seqNum;
  }

  private set seq(n: number) {
    if (n === this.seqNum) return;
    this.seqNum = n;
    this.seqBig = BigInt(n);
  }

  constructor(private readonly options: CmeHandlerOptions) {
    this.codec = options.codec;
    this.hot = new HotReader(options.codec.schema, options.book === 'mbo');
    this.visitor = {
      entry: (kind, e, tt) => this.entry(kind, e, tt ?? this.tsRecv),
      skipped: (n) => void (this.stats.skippedEntries += n),
      other: () => undefined,
    };
    this.venue = options.venue ?? 'cme';
    this.bookInit = {
      venue: this.venue,
      symbol: '',
      tsEvent: 0n,
      tsRecv: 0n,
      seq: null,
      side: 'bid',
      price: 0n,
      size: 0n,
      priceScale: 0,
      sizeScale: 0,
      flags: 0,
    };
    this.clock = options.clock;
    this.emit = options.emit;
    this.all = options.symbols === 'all';
    this.wanted = new Set(options.symbols === 'all' ? [] : options.symbols);
    this.gapWaitNs = options.gapWaitNs ?? 10_000_000n;
    this.maxHeld = options.maxHeld ?? 4_096;
    this.mbo = options.book === 'mbo';
    this.setDefinitionLoop(true);
  }

  /** Stops the handler's timer (the arbitration's wait): nothing is said after the feed has let it go. */
  close(): void {
    if (this.holdTimer !== null) this.clock.clearTimer(this.holdTimer);
    this.holdTimer = null;
  }

  /** How many instruments are defined so far (wanted or not). */
  get defined(): number {
    return this.byId.size;
  }

  /** Instruments defined so far (wanted or not), as mdcap instruments. */
  instruments(): Instrument[] {
    return [...this.byId.values()].map((i) => ({
      venue: this.venue,
      symbol: i.symbol,
      priceScale: i.rule.scale,
      sizeScale: 0,
      kind: 'future',
      tickSize: i.rule.tick,
      instrumentId: BigInt(i.securityId),
      extra: { securityGroup: i.group, marketDepth: String(i.depth) },
    }));
  }

  // ---- packets in -------------------------------------------------------------------------

  /** A packet of the incremental feed A or B, received at `tsRecv`. */
  onIncremental(feed: CmeFeedSide, bytes: Uint8Array, tsRecv: bigint): void {
    this.stats.packets[feed]++;
    // Arbitration first, on the header alone: the other line's copy is never decoded.
    const s = bytes.length >= 4 ? seqOf(bytes) : -1;
    if (s >= 0 && this.next !== 0 && (s < this.next || this.held.has(s))) {
      this.stats.duplicates++;
      return;
    }
    // A copy that cannot be read does not take its turn: the other line's may still fill it.
    const generic = this.readable(bytes, `incremental ${feed}`, tsRecv);
    if (generic === undefined) return;
    const packet: Accepted = { bytes, tsRecv, generic };
    if (this.next === 0) this.next = s;
    if (s > this.next) {
      this.held.set(s, packet);
      if (this.held.size >= this.maxHeld) this.declareGap();
      else if (this.holdTimer === null) this.holdTimer = this.clock.setTimer(tsRecv + this.gapWaitNs, () => this.onHoldTimeout());
      return;
    }
    this.take(packet);
    this.drainHeld();
  }

  /**
   * Checks a packet once, as it arrives: null when the hot reader will read it, its decoded form
   * when it needs the generic decoder (a message the hot reader does not read, or `decode:
   * 'generic'`), undefined when it cannot be read (a counted status).
   */
  private readable(bytes: Uint8Array, feed: string, tsRecv: bigint): DecodedPacket | null | undefined {
    if (this.options.decode !== 'generic') {
      try {
        if (this.hot.check(bytes)) return null;
      } catch (error) {
        if (!(error instanceof NotWalkable)) throw error;
      }
    }
    // The generic decoder reads what the hot reader does not (and says why a packet fails).
    return this.decode(bytes, feed, tsRecv) ?? undefined;
  }

  /** A packet of the snapshot loop (market recovery): MBP's, or with `book: 'mbo'` the MBO loop's. */
  onSnapshot(bytes: Uint8Array, tsRecv: bigint): void {
    this.stats.packets.snapshot++;
    if (!this.inSnapshotLoop) return;
    const packet = this.decode(bytes, 'snapshot', tsRecv, false);
    if (packet === null) return;
    this.tsRecv = this.at(tsRecv);
    for (const m of packet.messages) {
      if (this.mbo ? m.name === ORDER_SNAPSHOT : SNAPSHOT.has(m.name)) {
        if (this.mbo) this.applyOrderSnapshot(m);
        else this.applySnapshot(m);
      }
    }
    this.flush();
    this.leaveSnapshotLoopIfDone();
  }

  /** A packet of the instrument-definition loop. */
  onDefinition(bytes: Uint8Array, tsRecv: bigint): void {
    this.stats.packets.definition++;
    if (!this.inDefinitionLoop) return;
    const packet = this.decode(bytes, 'definition', tsRecv, false);
    if (packet === null) return;
    this.tsRecv = this.at(tsRecv);
    this.seq = 0;
    for (const m of packet.messages) if (DEFINITION.test(m.name)) this.define(m);
    this.flush();
    tsRecv = this.tsRecv;
    const missing = [...this.wanted].filter((s) => !this.bySymbol.has(s));
    const roundDone = this.loopSize !== null && this.byId.size >= this.loopSize;
    if ((missing.length > 0 || this.all) && !roundDone) return;
    if (roundDone) {
      // The loop went round: a symbol still missing is not on this channel. Said once, not awaited forever.
      for (const symbol of missing) {
        this.wanted.delete(symbol);
        this.send(
          createStatus({
            venue: this.venue,
            symbol,
            tsEvent: tsRecv,
            tsRecv,
            kind: 'gap',
            detail: `cme: ${symbol} is not among the ${this.loopSize} instruments of this channel's definition loop; nothing will come for it`,
          }),
        );
      }
    }
    this.setDefinitionLoop(false);
    if (!this.started) {
      this.started = true;
      const early = this.early;
      this.early = [];
      for (const e of early) this.process(e);
    }
  }

  /**
   * Delivers `symbol`'s events from now on: at once with its book as it stands when the book is
   * valid, after its snapshot otherwise; an instrument not defined yet sends the handler back to
   * the definition loop (the other books go on meanwhile).
   */
  want(symbol: string, tsRecv: bigint): void {
    if (this.wanted.has(symbol)) return;
    this.wanted.add(symbol);
    const inst = this.bySymbol.get(symbol);
    if (inst === undefined) {
      this.loopSize = null;
      this.setDefinitionLoop(true);
      return;
    }
    inst.wanted = true;
    if (this.mbo) {
      // Orders are not kept for an instrument nobody wants: they come from the MBO snapshot loop.
      this.tsRecv = this.at(tsRecv);
      if (!inst.valid) this.restartPending(inst, this.next); // what it held while unwanted is not the orders'
      this.invalidate(inst, 'its orders are not known: the handler was not following them', this.next, null, null);
      this.flush();
    } else if (inst.valid) {
      this.tsRecv = this.at(tsRecv);
      this.snapshotEvents(inst, tsRecv);
      this.flush();
    }
  }

  /** Stops delivering `symbol`'s events (its book is still kept: wanting it again needs no snapshot). */
  unwant(symbol: string): void {
    this.wanted.delete(symbol);
    const inst = this.bySymbol.get(symbol);
    if (inst !== undefined) inst.wanted = false;
  }

  private decode(bytes: Uint8Array, feed: string, tsRecv: bigint, incremental = true): DecodedPacket | null {
    try {
      return this.codec.decodePacket(bytes, `cme ${feed} packet`);
    } catch (error) {
      if (!(error instanceof MdcapError)) throw error;
      this.stats.corrupt++;
      // A packet that cannot be read is said, not dropped silently. It is not a loss by itself:
      // the other line's copy (or the loop's next round) may bring it; if none does, the hole is a gap.
      const t = this.at(tsRecv);
      this.send(
        createStatus({
          venue: this.venue,
          symbol: '*',
          tsEvent: t,
          tsRecv: t,
          // The incremental packet's MsgSeqNum, when its header is there: what a gap after it names.
          ...(incremental && bytes.length >= 4 ? { seq: BigInt(seqOf(bytes)) } : {}),
          kind: 'corrupt',
          detail: `${error.message}${incremental ? ' (the other line may still bring this packet; if not, a gap follows)' : ' (the loop sends it again)'}`,
        }),
      );
      return null;
    }
  }

  /** A `gap` status for the whole channel (symbol `*`): what was lost is not one instrument's. */
  private channelGap(tsRecv: bigint, detail: string, fromSeq: bigint, toSeq: bigint): void {
    this.send(
      createStatus({
        venue: this.venue,
        symbol: '*',
        tsEvent: tsRecv,
        tsRecv,
        seq: toSeq + 1n,
        kind: 'gap',
        fromSeq,
        toSeq,
        detail,
      }),
    );
  }

  /**
   * The receive time to stamp: the packet's own, unless something stamped later already went out.
   * A packet held for its turn (arbitration) is handed on when its turn comes, after whatever the
   * handler said meanwhile (a corrupt copy, a gap): its events carry the time they could be
   * delivered, as the engine takes events in receive-time order only.
   */
  private at(t: bigint): bigint {
    return t > this.lastOut ? t : this.lastOut;
  }

  private send(e: MarketEvent): void {
    if (e.tsRecv > this.lastOut) this.lastOut = e.tsRecv;
    this.emit(e);
  }

  private drainHeld(): void {
    for (let h = this.held.get(this.next); h !== undefined; h = this.held.get(this.next)) {
      this.held.delete(this.next);
      this.take(h);
    }
    if (this.held.size === 0 && this.holdTimer !== null) {
      this.clock.clearTimer(this.holdTimer);
      this.holdTimer = null;
    } else if (this.held.size > 0 && this.holdTimer === null) {
      // Another hole behind the one just filled or given up: it gets its own wait.
      this.holdTimer = this.clock.setTimer(this.clock.now() + this.gapWaitNs, () => this.onHoldTimeout());
    }
  }

  private onHoldTimeout(): void {
    this.holdTimer = null;
    if (this.held.size > 0) this.declareGap();
  }

  /** The packets from `next` to the first one held are lost on both feeds. */
  private declareGap(): void {
    const first = Math.min(...this.held.keys());
    const from = this.next;
    const to = first - 1;
    this.stats.gaps++;
    this.stats.lostPackets += to - from + 1;
    const tsRecv = this.at(this.clock.now());
    this.tsRecv = tsRecv;
    this.seq = first;
    // Which instruments the lost packets touched is unknown until each one's next RptSeq: every
    // book is invalid meanwhile. One whose RptSeq follows on is intact; the others are rebuilt
    // from the snapshot loop.
    this.channelGap(
      tsRecv,
      `cme: packets ${from}..${to} missing on both incremental feeds; each book is invalid until its next RptSeq shows it intact, or the snapshot loop rebuilds it`,
      BigInt(from),
      BigInt(to),
    );
    for (const inst of this.byId.values()) {
      const was = inst.valid;
      // A book already waiting for its snapshot holds updates from before the hole: no snapshot
      // older than the hole may be taken for it now, and nothing held may be replayed across it.
      if (!was) this.restartPending(inst, first);
      this.invalidate(inst, `packets ${from}..${to} missing on both incremental feeds`, first, BigInt(from), BigInt(to));
      // An MBO book keeps no orders of its own to deliver again: it needs its snapshot.
      if (was && !this.mbo) inst.suspect = true;
    }
    this.flush();
    this.next = first;
    this.drainHeld();
  }

  /** Processes the packet whose turn it is. */
  private take(p: Accepted): void {
    this.next = seqOf(p.bytes) + 1;
    this.stats.processed++;
    if (!this.started) {
      this.early.push(p);
      return;
    }
    this.process(p);
  }

  /**
   * A packet of book, order and trade messages only is read by the schema's offsets; one with
   * anything else (a status, statistics, a reset) was decoded when it arrived, and its messages
   * go in order.
   */
  private process(p: Accepted): void {
    this.tsRecv = this.at(p.tsRecv);
    this.seq = seqOf(p.bytes);
    if (p.generic === null) this.hot.read(p.bytes, this.visitor);
    else for (const m of p.generic.messages) this.message(m);
    this.flush();
  }

  // ---- messages ---------------------------------------------------------------------------

  /** A message by the generic decoder: hot entries go where the hot reader sends them. */
  private message(m: DecodedMessage): void {
    const f = m.fields;
    const ts = (f['TransactTime'] as bigint | undefined) ?? this.tsRecv;
    const kind: HotKind | null = BOOK.has(m.name) ? 'book' : ORDER_BOOK.has(m.name) ? 'orders' : TRADES.has(m.name) ? 'trades' : null;
    if (kind !== null) {
      const md = entries(f);
      for (const e of md) this.entry(kind, hotEntry(e), ts);
      if (kind === 'book' && this.mbo) for (const o of entries(f, 'NoOrderIDEntries')) this.orderDetail(o, md, ts);
      else if (kind === 'book') this.stats.skippedEntries += entries(f, 'NoOrderIDEntries').length;
    } else if (m.name.startsWith('SecurityStatus')) {
      this.securityStatus(f, ts);
    } else if (m.name.startsWith('ChannelReset')) {
      this.channelReset(ts);
    } else if (m.name.startsWith('MDIncrementalRefresh')) {
      // Statistics, limits, volume: not events of mdcap, but their entries count in RptSeq.
      for (const e of entries(f)) {
        const inst = this.byId.get(e['SecurityID'] as number);
        this.stats.skippedEntries++;
        if (inst !== undefined) this.sequence(inst, (e['RptSeq'] as number | undefined) ?? null, NOTHING);
      }
    }
  }

  private entry(kind: HotKind, e: HotEntry, ts: bigint): void {
    if (kind === 'book') this.bookEntry(e, ts);
    else if (kind === 'orders') this.orderEntry(e, ts);
    else this.tradeEntry(e, ts);
  }

  /**
   * Checks an entry's RptSeq (null: the template has none) against its instrument's: {@link APPLY}
   * it now (a valid book), {@link HOLD} it (a book waiting for its snapshot: see {@link hold}), or
   * {@link DROP} it (older than the book).
   */
  private admit(inst: Inst, r: number | null): Verdict {
    if (!inst.valid && inst.suspect && r !== null) {
      // The first RptSeq after the hole decides: the next one means nothing of the instrument was
      // lost; any other (a jump, or a count that started again after a lost ChannelReset) does not.
      inst.suspect = false;
      if (r === inst.rptSeq + 1) this.intact(inst, r);
    }
    if (!inst.valid) return HOLD;
    // MBO: a packet the order snapshot already holds (it came ahead of the stream) is not applied again.
    if (this.mbo && this.seq <= inst.orderSeq) return DROP;
    if (r !== null && inst.rptSeq === RPT_UNKNOWN) {
      inst.rptSeq = r; // after an MBO snapshot: the first RptSeq is where the count goes on
    } else if (r !== null) {
      if (r <= inst.skipThrough || r <= inst.rptSeq) return DROP; // in the snapshot already, or a repeat
      if (r !== inst.rptSeq + 1) {
        this.invalidate(inst, `RptSeq ${inst.rptSeq + 1} expected, ${r} found`, this.seq, BigInt(inst.rptSeq + 1), BigInt(r - 1));
        return HOLD;
      }
      inst.rptSeq = r;
    }
    return APPLY;
  }

  /** Keeps an entry for when the book has its snapshot (a closure only here, off the common path). */
  private hold(inst: Inst, r: number | null, apply: () => void): void {
    inst.pending.push({ seq: this.seq, rptSeq: r, apply });
  }

  /** {@link admit}, then applies or holds `apply`. */
  private sequence(inst: Inst, r: number | null, apply: () => void): void {
    const v = this.admit(inst, r);
    if (v === APPLY) apply();
    else if (v === HOLD) this.hold(inst, r, apply);
  }

  private bookEntry(e: HotEntry, ts: bigint): void {
    const inst = this.byId.get(e.securityId);
    if (inst === undefined) return;
    const t = e.type;
    const outright = t === null ? undefined : ENTRY_SIDE[t];
    const side = outright ?? (t === null ? undefined : IMPLIED_SIDE[t]);
    if (this.mbo || side === undefined) {
      // An MBO book takes orders, not levels. A BookReset empties the instrument's book, its
      // orders with its levels.
      if (t === 'BookReset') this.sequence(inst, e.rptSeq, () => this.resetBook(inst, ts));
      else {
        this.stats.skippedEntries++;
        this.sequence(inst, e.rptSeq, NOTHING);
      }
      return;
    }
    const implied = outright === undefined;
    // The entry object is reused: what a held update needs is copied here.
    const action = e.action ?? '';
    const k = e.level - 1;
    const size = BigInt(e.size ?? 0);
    const price = e.px === null ? null : toPriceOf(e.px, e.pxExponent, inst.rule);
    const px = e.px;
    const exp = e.pxExponent;
    const v = this.admit(inst, e.rptSeq);
    if (v === APPLY) this.applyLevel(inst, side, implied, action, k, price, size, px, exp, ts);
    else if (v === HOLD) this.hold(inst, e.rptSeq, () => this.applyLevel(inst, side, implied, action, k, price, size, px, exp, ts));
  }

  /** A book level that cannot be: the book is invalid until its snapshot. */
  private badLevel(inst: Inst, what: string): void {
    this.invalidate(inst, what, this.seq, null, null);
  }

  /** An instrument's levels of one side, outright or implied. */
  private levelsOf(inst: Inst, side: BookSide, implied: boolean): Level[] {
    return implied ? (side === 'bid' ? inst.ibids : inst.iasks) : side === 'bid' ? inst.bids : inst.asks;
  }

  /** A BookReset entry: the instrument's book (outright and implied) is empty. */
  private resetBook(inst: Inst, ts: bigint): void {
    for (const levels of [inst.bids, inst.asks, inst.ibids, inst.iasks]) levels.length = 0;
    if (!inst.wanted) return;
    // An empty snapshot: of orders for an MBO book, of levels for an MBP one.
    if (this.mbo)
      this.out.push(
        this.orderEvent(inst, 'clear', 0n, 'bid', 0n, 0n, ts, BookFlags.Snapshot | BookFlags.SnapshotBegin | BookFlags.SnapshotEnd),
      );
    else this.emptyBook(inst, ts);
  }

  private applyLevel(
    inst: Inst,
    side: BookSide,
    implied: boolean,
    action: string,
    k: number,
    price: bigint | null,
    size: bigint,
    px: bigint | null,
    exp: number,
    ts: bigint,
  ): void {
    const levels = this.levelsOf(inst, side, implied);
    const depth = implied ? inst.impliedDepth : inst.depth;
    const flags = implied ? BookFlags.Implied : 0;
    const named = implied ? `implied ${side}` : side;
    switch (action) {
      case 'New': {
        if (price === null) return this.badLevel(inst, `a New level without a price on its scale (${wireOf(px, exp)})`);
        if (k < 0 || k > levels.length)
          return this.badLevel(inst, `New at level ${k + 1}, but the ${named} side has ${levels.length} levels`);
        levels.splice(k, 0, { price, size });
        this.level(inst, side, price, size, ts, flags);
        // CME sends no delete for a level pushed past the book's depth: it falls off here.
        if (levels.length > depth) this.level(inst, side, levels.pop()!.price, 0n, ts, flags);
        return;
      }
      case 'Change':
      case 'Overlay': {
        if (price === null) return this.badLevel(inst, `a ${action} without a price on its scale (${wireOf(px, exp)})`);
        const l = levels[k];
        if (l === undefined) return this.badLevel(inst, `${action} at level ${k + 1}, but the ${named} side has ${levels.length} levels`);
        if (l.price !== price) {
          if (action === 'Change') return this.badLevel(inst, `Change at level ${k + 1} names price ${price}, the level holds ${l.price}`);
          this.level(inst, side, l.price, 0n, ts, flags);
        }
        l.price = price;
        l.size = size;
        this.level(inst, side, price, size, ts, flags);
        return;
      }
      case 'Delete': {
        const l = levels[k];
        if (l === undefined) return this.badLevel(inst, `Delete at level ${k + 1}, but the ${named} side has ${levels.length} levels`);
        levels.splice(k, 1);
        this.level(inst, side, l.price, 0n, ts, flags);
        return;
      }
      case 'DeleteThru':
      case 'DeleteFrom': {
        // DeleteThru empties the side; DeleteFrom removes its top k levels.
        const n = action === 'DeleteThru' ? levels.length : Math.min(k + 1, levels.length);
        for (const l of levels.splice(0, n)) this.level(inst, side, l.price, 0n, ts, flags);
        return;
      }
      default:
        this.stats.skippedEntries++;
    }
  }

  private orderEntry(e: HotEntry, ts: bigint): void {
    const inst = this.byId.get(e.securityId);
    if (inst === undefined) return;
    const side = e.type === null ? undefined : ENTRY_SIDE[e.type];
    const id = e.orderId;
    const price = e.px === null ? null : toPriceOf(e.px, e.pxExponent, inst.rule);
    const kind = e.action === 'New' ? 'add' : e.action === 'Change' ? 'modify' : e.action === 'Delete' ? 'cancel' : null;
    if (!this.mbo || !inst.wanted || side === undefined || id === null || price === null || kind === null) {
      // An MBP book takes levels, not orders; an instrument nobody wants is not followed.
      this.stats.skippedEntries++;
      this.sequence(inst, e.rptSeq, NOTHING);
      return;
    }
    this.orderOut(inst, e.rptSeq, kind, id, side, price, BigInt(e.size ?? 0), ts);
  }

  /** An order update, admitted by its RptSeq: out now, or held for the book's snapshot. */
  private orderOut(
    inst: Inst,
    r: number | null,
    kind: OrderAction,
    id: bigint,
    side: BookSide,
    price: bigint,
    size: bigint,
    ts: bigint,
  ): void {
    const v = this.admit(inst, r);
    if (v === APPLY) this.out.push(this.orderEvent(inst, kind, id, side, price, size, ts, 0));
    else if (v === HOLD) this.hold(inst, r, () => this.out.push(this.orderEvent(inst, kind, id, side, price, size, ts, 0)));
  }

  /**
   * MBO in the combined template: an order of an MBP message's `NoOrderIDEntries`, whose price,
   * side and instrument are those of the book entry it refers to (`ReferenceID`, 1-based).
   */
  private orderDetail(o: SbeRecord, md: readonly SbeRecord[], ts: bigint): void {
    const ref = o['ReferenceID'] as number | null;
    const e = ref === null ? undefined : md[ref - 1];
    const inst = e === undefined ? undefined : this.byId.get(e['SecurityID'] as number);
    const side = e === undefined ? undefined : ENTRY_SIDE[e['MDEntryType'] as string];
    const wire = e?.['MDEntryPx'];
    const price = inst !== undefined && wire instanceof SbeDecimal ? toPrice(wire, inst.rule) : null;
    const a = o['OrderUpdateAction'];
    const kind = a === 'New' ? 'add' : a === 'Update' ? 'modify' : a === 'Delete' ? 'cancel' : null;
    const id = o['OrderID'];
    if (inst === undefined || !inst.wanted || side === undefined || price === null || kind === null || typeof id !== 'bigint') {
      this.stats.skippedEntries++;
      return;
    }
    this.orderOut(inst, null, kind, id, side, price, BigInt((o['MDDisplayQty'] as number | null) ?? 0), ts);
  }

  private tradeEntry(e: HotEntry, ts: bigint): void {
    const inst = this.byId.get(e.securityId);
    if (inst === undefined) return;
    // A trade is not book state: it goes out now, gap or not; its RptSeq still counts.
    const r = e.rptSeq;
    this.sequence(inst, r, NOTHING);
    if (!inst.wanted) return;
    const price = e.px === null ? null : toPriceOf(e.px, e.pxExponent, inst.rule);
    if (price === null) {
      this.statusOf(
        inst,
        'gap',
        `cme: a trade at ${e.px === null ? 'null' : `${e.px}e${e.pxExponent}`} is not on ${inst.symbol}'s price scale (${inst.rule.scale} decimals); not delivered`,
      );
      return;
    }
    const id = e.tradeEntryId;
    this.out.push(
      createTrade({
        venue: this.venue,
        symbol: inst.symbol,
        tsEvent: ts,
        tsRecv: this.tsRecv,
        seq: this.seqBig,
        price,
        size: BigInt(e.size ?? 0),
        priceScale: inst.rule.scale,
        sizeScale: 0,
        side: e.aggressor === 'Buy' ? 'buy' : e.aggressor === 'Sell' ? 'sell' : 'none',
        tradeId: id === null ? (r === null ? null : `r${r}`) : String(id),
      }),
    );
  }

  private securityStatus(f: SbeRecord, ts: bigint): void {
    const id = f['SecurityID'] as number | null;
    const group = f['SecurityGroup'] as string;
    const targets =
      id === null ? [...this.byId.values()].filter((i) => i.group === group) : [this.byId.get(id)].filter((i) => i !== undefined);
    const detail = [f['SecurityTradingStatus'], f['HaltReason'], f['SecurityTradingEvent']]
      .map((x) => (typeof x === 'string' ? x : null))
      .filter((x) => x !== null && x !== undefined)
      .join(' ');
    for (const inst of targets) if (inst.wanted) this.statusOf(inst, 'trading', detail, ts);
  }

  private channelReset(ts: bigint): void {
    // Every book of the channel is emptied, and known so (a book waiting for its snapshot too),
    // and every RptSeq starts again at 1.
    for (const inst of this.byId.values()) {
      inst.rptSeq = 0;
      inst.skipThrough = 0;
      inst.orderSeq = 0;
      inst.valid = true;
      inst.suspect = false;
      this.restartPending(inst, 0);
      this.recovering.delete(inst);
      this.resetBook(inst, ts);
    }
    this.leaveSnapshotLoopIfDone();
  }

  // ---- recovery ---------------------------------------------------------------------------

  private invalidate(inst: Inst, why: string, fromPacket: number, fromSeq: bigint | null, toSeq: bigint | null): void {
    if (!inst.valid) return;
    inst.valid = false;
    inst.refused = false;
    inst.suspect = false;
    inst.chunks = null;
    inst.pending = [];
    inst.pendingFrom = fromPacket;
    this.recovering.add(inst);
    if (inst.wanted) {
      this.out.push(
        createStatus({
          venue: this.venue,
          symbol: inst.symbol,
          tsEvent: this.tsRecv,
          tsRecv: this.tsRecv,
          seq: this.seqBig,
          kind: 'gap',
          fromSeq,
          toSeq,
          detail: `cme: ${inst.symbol}'s book is invalid (${why}); it is rebuilt from the ${this.mbo ? 'MBO snapshot loop (SnapshotFullRefreshOrderBook)' : 'snapshot loop'}`,
        }),
      );
    }
    this.setSnapshotLoop(true);
  }

  private applySnapshot(m: DecodedMessage): void {
    const f = m.fields;
    const inst = this.byId.get(f['SecurityID'] as number);
    if (inst === undefined || inst.valid) return;
    const last = f['LastMsgSeqNumProcessed'] as number;
    // The snapshot must reach the updates held: those of packets from `pendingFrom` on.
    if (last < inst.pendingFrom - 1) return;
    const rpt = f['RptSeq'] as number;
    const ts = (f['TransactTime'] as bigint | undefined) ?? this.tsRecv;
    // Read whole first: a snapshot that cannot be taken leaves the book as it was kept.
    const fresh: Record<'bid' | 'ask' | 'ibid' | 'iask', Level[]> = { bid: [], ask: [], ibid: [], iask: [] };
    for (const e of entries(f)) {
      const t = e['MDEntryType'] as string;
      const outright = ENTRY_SIDE[t];
      const side = outright ?? IMPLIED_SIDE[t];
      const wire = e['MDEntryPx'];
      if (side === undefined || !(wire instanceof SbeDecimal)) continue;
      const price = toPrice(wire, inst.rule);
      if (price === null) return this.refuseSnapshot(inst, last, `a price off its scale (${wire.toString()})`);
      const levels = fresh[outright === undefined ? (side === 'bid' ? 'ibid' : 'iask') : side];
      levels[(e['MDPriceLevel'] as number) - 1] = { price, size: BigInt((e['MDEntrySize'] as number | null) ?? 0) };
    }
    const all: [Level[], Level[]][] = [
      [inst.bids, fresh.bid],
      [inst.asks, fresh.ask],
      [inst.ibids, fresh.ibid],
      [inst.iasks, fresh.iask],
    ];
    for (const [levels, from] of all) {
      levels.length = 0;
      for (const l of from) if (l !== undefined) levels.push(l);
    }
    inst.suspect = false;
    this.seq = last;
    // The resync goes first: it says the book is being rebuilt, and the snapshot that follows rebuilds it.
    if (inst.wanted) {
      this.statusOf(
        inst,
        'resync',
        `cme: ${inst.symbol}'s book rebuilt from the snapshot of packet ${last} (RptSeq ${rpt}), then the updates held since (${held(inst, last)})`,
      );
      this.snapshotEvents(inst, ts);
    }
    inst.valid = true;
    inst.rptSeq = rpt;
    inst.skipThrough = rpt;
    this.replayPending(inst, last);
  }

  /**
   * A snapshot that cannot be taken (a price not on the instrument's scale: never rounded): the
   * book waits for the next round, and a status says why, once per wait.
   */
  private refuseSnapshot(inst: Inst, last: number, why: string): void {
    if (inst.refused || !inst.wanted) return;
    inst.refused = true;
    this.statusOf(inst, 'gap', `cme: ${inst.symbol}'s snapshot of packet ${last} cannot be taken (${why}); the book waits for another`);
  }

  /**
   * After a channel gap, the instrument's `RptSeq` goes on at `r`: no lost packet held any of its
   * entries, so its book as kept is right. It is delivered again (a resync, its levels as a
   * snapshot, then the updates held since the gap), without the snapshot loop.
   */
  private intact(inst: Inst, r: number): void {
    const from = inst.pendingFrom;
    if (inst.wanted) {
      this.statusOf(
        inst,
        'resync',
        `cme: ${inst.symbol}'s book is intact: its RptSeq goes on at ${r} after the packets lost before ${from} (none held its entries); delivered again from its own levels, then the updates held since (${held(inst, 0)})`,
      );
      this.snapshotEvents(inst, this.tsRecv);
    }
    inst.valid = true;
    this.stats.intact++;
    this.replayPending(inst, 0);
    this.leaveSnapshotLoopIfDone();
  }

  /** The updates held while the book was invalid, after the snapshot of packet `last`; the book has recovered. */
  private replayPending(inst: Inst, last: number): void {
    const pending = inst.pending;
    inst.pending = [];
    const at = this.seq; // the packet being processed (an intact book recovers in the middle of one)
    let i = 0;
    for (; i < pending.length && inst.valid; i++) {
      const p = pending[i]!;
      if (p.seq <= last) continue; // in the snapshot already
      this.seq = p.seq;
      if (p.rptSeq !== null && inst.rptSeq !== RPT_UNKNOWN) {
        if (p.rptSeq <= inst.rptSeq) continue;
        if (p.rptSeq !== inst.rptSeq + 1) {
          // A hole among the held updates themselves: the book waits for a newer snapshot, with this one.
          this.invalidate(
            inst,
            `RptSeq ${inst.rptSeq + 1} expected, ${p.rptSeq} found`,
            p.seq,
            BigInt(inst.rptSeq + 1),
            BigInt(p.rptSeq - 1),
          );
          break;
        }
      }
      if (p.rptSeq !== null) inst.rptSeq = p.rptSeq;
      p.apply(); // a level that cannot be invalidates the book: the loop stops after it
    }
    this.seq = at;
    if (!inst.valid) {
      inst.pending.push(...pending.slice(i)); // the rest waits with it
      return;
    }
    this.recovering.delete(inst);
    this.stats.recoveries++;
  }

  /** A waiting book's held updates are of no use (a newer hole, a change of who wants it): it waits from packet `from` on. */
  private restartPending(inst: Inst, from: number): void {
    inst.pending = [];
    inst.pendingFrom = from;
    inst.chunks = null;
  }

  /**
   * MBO: a chunk of an instrument's `SnapshotFullRefreshOrderBook` (its resting orders as of
   * packet `LastMsgSeqNumProcessed`). Once every chunk of one snapshot is in, in order, the
   * orders go out as a snapshot (a `clear`, then an `add` per order in book priority), then the
   * order updates held since, and a `resync`. A chunk missing or out of order waits for the
   * next round of the loop. The snapshot has no RptSeq: the next one seen goes on from there.
   */
  private applyOrderSnapshot(m: DecodedMessage): void {
    const f = m.fields;
    const inst = this.byId.get(f['SecurityID'] as number);
    if (inst === undefined || inst.valid) return;
    const last = f['LastMsgSeqNumProcessed'] as number;
    const total = f['NoChunks'] as number;
    const chunk = f['CurrentChunk'] as number;
    const c = inst.chunks;
    if (chunk === 1) inst.chunks = { last, total, next: 2, orders: [...entries(f)] };
    else if (c !== null && c.last === last && c.total === total && c.next === chunk) {
      c.orders.push(...entries(f));
      c.next++;
    } else {
      inst.chunks = null;
      return;
    }
    const done = inst.chunks!;
    if (done.next <= total) return;
    inst.chunks = null;
    // The snapshot must reach the updates held: those of packets from `pendingFrom` on.
    if (last < inst.pendingFrom - 1) return;
    const orders: { id: bigint; side: BookSide; price: bigint; size: bigint }[] = [];
    for (const e of done.orders) {
      const side = ENTRY_SIDE[e['MDEntryType'] as string];
      const wire = e['MDEntryPx'];
      const price = wire instanceof SbeDecimal ? toPrice(wire, inst.rule) : null;
      if (side === undefined || price === null) {
        return this.refuseSnapshot(
          inst,
          last,
          side === undefined
            ? `an order of side ${JSON.stringify(e['MDEntryType'])}`
            : `a price off its scale (${wire instanceof SbeDecimal ? wire.toString() : 'none'})`,
        );
      }
      orders.push({ id: BigInt(e['OrderID'] as bigint | number), side, price, size: BigInt((e['MDDisplayQty'] as number | null) ?? 0) });
    }
    const ts = (f['TransactTime'] as bigint | undefined) ?? this.tsRecv;
    this.seq = last;
    if (inst.wanted) {
      this.statusOf(
        inst,
        'resync',
        `cme: ${inst.symbol}'s orders rebuilt from the MBO snapshot of packet ${last} (${orders.length} orders in ${total} chunks), then the updates held since (${held(inst, last)})`,
      );
      const begin = BookFlags.Snapshot | BookFlags.SnapshotBegin;
      this.out.push(this.orderEvent(inst, 'clear', 0n, 'bid', 0n, 0n, ts, orders.length === 0 ? begin | BookFlags.SnapshotEnd : begin));
      orders.forEach((o, i) =>
        this.out.push(
          this.orderEvent(
            inst,
            'add',
            o.id,
            o.side,
            o.price,
            o.size,
            ts,
            BookFlags.Snapshot | (i === orders.length - 1 ? BookFlags.SnapshotEnd : 0),
          ),
        ),
      );
    }
    inst.valid = true;
    inst.rptSeq = RPT_UNKNOWN;
    inst.skipThrough = 0;
    inst.orderSeq = last;
    this.replayPending(inst, last);
  }

  /** The instrument's book as a snapshot: the outright levels, then the implied ones (flagged `Implied`). */
  private snapshotEvents(inst: Inst, ts: bigint): void {
    const all: [BookSide, Level, number][] = [
      ...inst.bids.map((l): [BookSide, Level, number] => ['bid', l, 0]),
      ...inst.asks.map((l): [BookSide, Level, number] => ['ask', l, 0]),
      ...inst.ibids.map((l): [BookSide, Level, number] => ['bid', l, BookFlags.Implied]),
      ...inst.iasks.map((l): [BookSide, Level, number] => ['ask', l, BookFlags.Implied]),
    ];
    if (all.length === 0) {
      this.emptyBook(inst, ts);
      return;
    }
    all.forEach(([side, l, implied], i) => {
      const flags =
        BookFlags.Snapshot | implied | (i === 0 ? BookFlags.SnapshotBegin : 0) | (i === all.length - 1 ? BookFlags.SnapshotEnd : 0);
      this.out.push(this.bookEvent(inst, side, l.price, l.size, ts, flags));
    });
  }

  private emptyBook(inst: Inst, ts: bigint): void {
    this.out.push(this.bookEvent(inst, 'bid', 0n, 0n, ts, BookFlags.Snapshot | BookFlags.SnapshotBegin | BookFlags.SnapshotEnd));
  }

  // ---- definitions ------------------------------------------------------------------------

  private define(m: DecodedMessage): void {
    const f = m.fields;
    const symbol = f['Symbol'] as string;
    const id = f['SecurityID'] as number;
    const total = f['TotNumReports'] as number | null;
    if (total !== null) this.loopSize = total;
    if (this.byId.has(id)) return;
    const mpi = f['MinPriceIncrement'];
    const df = f['DisplayFactor'];
    if (!(mpi instanceof SbeDecimal) || !(df instanceof SbeDecimal)) return;
    const feeds = entries(f, 'NoMDFeedTypes');
    const gbx = feeds.find((x) => x['MDFeedType'] === 'GBX');
    const gbi = feeds.find((x) => x['MDFeedType'] === 'GBI');
    const inst: Inst = {
      securityId: id,
      symbol,
      group: f['SecurityGroup'] as string,
      rule: priceRule(mpi, df, symbol),
      depth: (gbx?.['MarketDepth'] as number | undefined) ?? 10,
      wanted: this.all || this.wanted.has(symbol),
      bids: [],
      asks: [],
      impliedDepth: (gbi?.['MarketDepth'] as number | undefined) ?? 2,
      ibids: [],
      iasks: [],
      rptSeq: 0,
      valid: true,
      orderSeq: 0,
      refused: false,
      suspect: false,
      chunks: null,
      pending: [],
      pendingFrom: 0,
      skipThrough: 0,
    };
    this.byId.set(id, inst);
    this.bySymbol.set(symbol, inst);
    // No book yet: it comes from the snapshot loop (or, on a fresh channel, from its first updates).
    // Its updates held from the first packet not yet processed (those that came before the definitions included).
    this.invalidate(
      inst,
      'no book yet: the handler joined the channel',
      this.early[0] === undefined ? this.next : seqOf(this.early[0].bytes),
      null,
      null,
    );
  }

  // ---- events out -------------------------------------------------------------------------

  private level(inst: Inst, side: BookSide, price: bigint, size: bigint, ts: bigint, flags: number): void {
    if (inst.wanted) this.out.push(this.bookEvent(inst, side, price, size, ts, flags));
  }

  private orderEvent(
    inst: Inst,
    action: OrderAction,
    orderId: bigint,
    side: BookSide,
    price: bigint,
    size: bigint,
    ts: bigint,
    flags: number,
  ): MarketEvent {
    return createOrderUpdate({
      venue: this.venue,
      symbol: inst.symbol,
      tsEvent: ts,
      tsRecv: this.tsRecv,
      seq: this.seqBig,
      action,
      orderId,
      side,
      price,
      size,
      priceScale: inst.rule.scale,
      sizeScale: 0,
      flags,
    });
  }

  private bookEvent(inst: Inst, side: BookSide, price: bigint, size: bigint, ts: bigint, flags: number): MarketEvent {
    // One init object, filled per event: the factory copies it (and validates the copy).
    const b = this.bookInit;
    b.symbol = inst.symbol;
    b.tsEvent = ts;
    b.tsRecv = this.tsRecv;
    b.seq = this.seqBig;
    b.side = side;
    b.price = price;
    b.size = size;
    b.priceScale = inst.rule.scale;
    b.flags = flags;
    return createBookUpdate(b);
  }

  private statusOf(inst: Inst, kind: 'gap' | 'resync' | 'trading', detail: string, ts = this.tsRecv): void {
    this.out.push(
      createStatus({ venue: this.venue, symbol: inst.symbol, tsEvent: ts, tsRecv: this.tsRecv, seq: this.seqBig, kind, detail }),
    );
  }

  /**
   * Hands the packet's events on; the last book or order update of each symbol is flagged `Last`
   * (its book is consistent there). The events are the handler's own until sent: the flag is set
   * in place, and the array is reused.
   */
  private flush(): void {
    const out = this.out;
    const n = out.length;
    if (n === 0) return;
    this.out = this.spare ?? []; // what the sink might cause to be said meanwhile goes to another array
    this.spare = null;
    const flagged = this.flagged;
    for (let i = n - 1; i >= 0; i--) {
      const e = out[i]!;
      if ((e.type === 'book' || e.type === 'order') && (e.flags & BookFlags.Snapshot) === 0 && !flagged.has(e.symbol)) {
        flagged.add(e.symbol);
        (e as { flags: number }).flags = e.flags | BookFlags.Last;
      }
    }
    flagged.clear();
    for (let i = 0; i < n; i++) this.send(out[i]!);
    out.length = 0;
    this.spare ??= out;
  }

  /** Lets the snapshot loop go once no book waits for it. */
  private leaveSnapshotLoopIfDone(): void {
    if (this.inSnapshotLoop && this.recovering.size === 0) this.setSnapshotLoop(false);
  }

  private setSnapshotLoop(join: boolean): void {
    if (this.inSnapshotLoop === join) return;
    this.inSnapshotLoop = join;
    this.options.onSnapshotLoop?.(join);
  }

  private setDefinitionLoop(join: boolean): void {
    if (this.inDefinitionLoop === join) return;
    this.inDefinitionLoop = join;
    this.options.onDefinitionLoop?.(join);
  }
}

/** A wire price for a message: mantissa and exponent. */
function wireOf(px: bigint | null, exp: number): string {
  return px === null ? 'null' : `${px}e${exp}`;
}

/** How many entries an instrument holds from packets after `last` (what its recovery replays). */
function held(inst: Inst, last: number): string {
  let n = 0;
  for (const p of inst.pending) if (p.seq > last) n++;
  return `${n} ${n === 1 ? 'entry' : 'entries'}`;
}

/** A packet's `MsgSeqNum` (its first 4 bytes). */
function seqOf(bytes: Uint8Array): number {
  return bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! * 2 ** 24);
}

/** A decoded entry in the hot reader's shape (the generic path's packets). */
function hotEntry(e: SbeRecord): HotEntry {
  const px = e['MDEntryPx'];
  const size = e['MDEntrySize'] ?? e['MDDisplayQty'];
  return {
    securityId: (e['SecurityID'] as number | undefined) ?? 0,
    rptSeq: (e['RptSeq'] as number | null | undefined) ?? null,
    px: px instanceof SbeDecimal ? px.mantissa : null,
    pxExponent: px instanceof SbeDecimal ? px.exponent : 0,
    size: (size as number | null | undefined) ?? null,
    level: (e['MDPriceLevel'] as number | null | undefined) ?? 0,
    action: (e['MDUpdateAction'] as string | null | undefined) ?? null,
    type: (e['MDEntryType'] as string | null | undefined) ?? null,
    orderId: (e['OrderID'] as bigint | null | undefined) ?? null,
    aggressor: (e['AggressorSide'] as string | null | undefined) ?? null,
    tradeEntryId: (e['MDTradeEntryID'] as number | null | undefined) ?? null,
  };
}

function entries(f: SbeRecord, group = 'NoMDEntries'): readonly SbeRecord[] {
  return (f[group] as readonly SbeRecord[] | undefined) ?? [];
}
