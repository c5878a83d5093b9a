import { readFileSync } from 'node:fs';
import { MdcapError, describeValue } from '@mdcap/core';
import { DbnReader, RType } from '@mdcap/dbn';
import type { DbnRecord } from '@mdcap/dbn';
import { MESSAGE_SIZE_BYTES, PACKET_HEADER_BYTES } from '@mdcap/mdp3';
import type { SbeCodec, SbeRecord, SbeValue } from '@mdcap/mdp3';
import {
  aggressorOf,
  big,
  definitionFields,
  instrumentOf,
  int32,
  mboEntries,
  mbpLevels,
  num,
  priceLimits,
  statusEntry,
  str,
  wirePrice,
} from './dbn-source.js';
import type { DbnSource, DbnSourceKind, Mdp3Instrument } from './dbn-source.js';
import { ChannelState, cmeTradeDate } from './model.js';
import type { BookSide, Entry, RestingOrder } from './model.js';
import { SYNTHETIC_START_NS, syntheticPlan } from './synthetic.js';
import type { SyntheticPlan } from './synthetic.js';
import { ENTRY_FIELDS, INCREMENTAL_TEMPLATES, IncrementalWriter } from './writer.js';
import type { IncrementalMessage } from './writer.js';

/**
 * A deterministic CME MDP 3.0 exchange: the channel's incremental feed, its snapshot loops
 * (MBP and MBO) and its instrument definition loop, as SBE packets of CME's v9 templates. It is
 * built from real CME data as Databento recorded it (GLBX.MDP3 DBN records), turned back into the
 * messages CME sent, so that a feed handler fed these packets must arrive at Databento's books;
 * or, for benchmarks, from a seeded random walk of the same message kinds.
 */

/** CME's packet budget: no MDP3 packet is longer (MTU less the IP and UDP headers). */
export const MDP3_MAX_PACKET_BYTES = 1420;

/** One packet of a feed. */
export interface Mdp3Packet {
  /** MsgSeqNum: from 1 on each feed. */
  readonly seqNum: number;
  /** SendingTime (ns): for DBN data the record's ts_recv, when Databento saw CME's packet. */
  readonly sendingTime: bigint;
  /** When the packet is on the wire (a pcap's timestamp, the replay clock): as `sendingTime`. */
  readonly tsNs: bigint;
  /** The packet: header, then each message behind its MsgSize. */
  readonly bytes: Uint8Array;
}

/** An incremental packet, with what it came from. */
export interface IncrementalPacket extends Mdp3Packet {
  /** The DBN records the packet carries (empty in synthetic mode). A step too large for one packet lists them on each of its packets. */
  readonly sources: readonly DbnSource[];
  /** The last packet of its event (its last message has EndOfEvent): after it, the books equal the sources' again. */
  readonly endOfEvent: boolean;
}

/** "After incremental packet `afterSeq`, the MBP book of the record's instrument equals MBP-10 record `index`'s levels." */
export interface BookTruth {
  /** Index of the record in the MBP-10 input. */
  readonly index: number;
  readonly record: DbnRecord;
  /** The packet after which the book is the record's (0: before any, when it changed nothing). */
  readonly afterSeq: number;
}

/** Databento GLBX.MDP3 records, by schema. */
export interface Mdp3DbnInputs {
  /** Instrument definitions (rtype 0x13): one per instrument; a later one of the same instrument replaces it. */
  readonly definitions: readonly DbnRecord[];
  readonly mbo?: readonly DbnRecord[];
  readonly mbp10?: readonly DbnRecord[];
  /** Trades schema records (MBP-0). */
  readonly trades?: readonly DbnRecord[];
  readonly status?: readonly DbnRecord[];
}

export interface Mdp3ExchangeOptions extends Mdp3DbnInputs {
  /** A codec of CME's v9 (or later) schema: the templates 4, 30, 46, 47, 48, 52, 53 and 54. */
  readonly codec: SbeCodec;
  /** Largest packet (default {@link MDP3_MAX_PACKET_BYTES}). */
  readonly maxPacketBytes?: number;
}

export interface SyntheticExchangeOptions {
  readonly codec: SbeCodec;
  /** Instruments (1–10000). */
  readonly instruments: number;
  /** Incremental packets the feed has. */
  readonly packets: number;
  /** PRNG seed (a 32-bit unsigned integer): the same seed, the same bytes. */
  readonly seed: number;
  /** First SendingTime (default 2024-01-02T14:30:00Z). */
  readonly startNs?: bigint;
  readonly maxPacketBytes?: number;
}

const STATUS = 'SecurityStatus30';
const SNAPSHOT = 'SnapshotFullRefresh52';
const ORDER_SNAPSHOT = 'SnapshotFullRefreshOrderBook53';
const DEFINITION = 'MDInstrumentDefinitionFuture54';
const CHANNEL_RESET = 'ChannelReset4';

/** Within one ts_recv, the order CME sends an event's messages in: status, trade summary, then books. */
const KIND_RANK: Readonly<Record<DbnSourceKind, number>> = { status: 0, trades: 1, mbo: 2, mbp10: 3 };
const KIND_RTYPE: Readonly<Record<DbnSourceKind, number>> = {
  status: RType.Status,
  trades: RType.Mbp0,
  mbo: RType.Mbo,
  mbp10: RType.Mbp10,
};

/** What one message of a template costs: its fixed bytes (MsgSize, header, root block, group headers) and bytes per entry. */
interface MessageCost {
  readonly fixed: number;
  readonly perEntry: number;
  /** Entries one message can hold: numInGroup is a uint8; a message without a group holds one. */
  readonly maxEntries: number;
}

interface MessageSpec {
  readonly kind: Entry['kind'];
  readonly entries: readonly Entry[];
}

/** A message of a packet with its MatchEventIndicator choices. */
interface FlaggedMessage extends MessageSpec {
  readonly flags: readonly string[];
}

interface Step {
  readonly tsRecv: bigint;
  readonly tsEvent: bigint;
  readonly entries: readonly Entry[];
  readonly sources: readonly DbnSource[];
}

/** An incremental packet with the entries it carries (what a client applies) and their TransactTime. */
interface Emitted {
  readonly packet: IncrementalPacket;
  readonly entries: readonly Entry[];
  readonly transactTime: bigint;
}

/** A DBN record on the incremental timeline. */
interface Timed extends DbnSource {
  readonly tsRecv: bigint;
  readonly tsEvent: bigint;
  readonly instrumentId: number;
}

/**
 * CME's MDP3 channel over DBN records (or a synthetic walk). The incremental feed is built once
 * from DBN data (errors surface in the constructor) and generated lazily in synthetic mode.
 *
 * - Time order: records of all kinds merge by ts_recv (then status, trades, MBO, MBP-10; then
 *   input order). Consecutive records with the same ts_recv and ts_event are one event and one
 *   packet (more when they pass {@link MDP3_MAX_PACKET_BYTES}), except that a second MBP-10
 *   record of the same instrument starts the next packet, so that every MBP-10 record is the
 *   book after some packet. Records that change nothing on the wire (MBO T, F and N; an MBP-10
 *   record that repeats the book, as its trade records do) send no packet of their own.
 * - MBP: each MBP-10 record becomes the Book46 entries that turn the level book the feed has
 *   built so far into the record's 10 levels (see `levelOps` in `model.ts`).
 * - RptSeq: per instrument, one more for each Book46 and TradeSummary48 entry concerning it;
 *   Book47 and SecurityStatus30 carry none.
 * - Prices: PRICE9 mantissas = Databento price × 10^9 / display_factor, exact or refused.
 */
export class Mdp3Exchange {
  readonly codec: SbeCodec;
  /** The instruments, by SecurityID. */
  readonly instruments: readonly Mdp3Instrument[];
  /** The DBN records the exchange was built from, by kind (indexes of {@link DbnSource}). */
  readonly inputs: Required<Mdp3DbnInputs>;
  readonly maxPacketBytes: number;
  private readonly byId: ReadonlyMap<number, Mdp3Instrument>;
  private readonly costs: Readonly<Record<Entry['kind'], MessageCost>>;
  private readonly writer: IncrementalWriter | null;
  /** When the instruments were known: the latest definition's ts_recv (the time of loops "after packet 0"). */
  private readonly startNs: bigint;
  private readonly timeline: readonly (readonly Timed[])[];
  private cache: readonly Emitted[] | null = null;
  private readonly truths: BookTruth[] = [];
  /** Where {@link stateAfter} left off. */
  private cursor: { readonly feed: Iterator<Emitted>; readonly state: ChannelState; seq: number; time: bigint } | null = null;
  private synthetic: { readonly instruments: number; readonly seed: number; readonly packets: number; readonly start: bigint } | null =
    null;

  /**
   * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for a schema without the v9 templates or a
   *   record of the wrong kind; `MDCAP_ERR_UNKNOWN_INSTRUMENT` for a record of an instrument
   *   without a definition; `MDCAP_ERR_DECIMAL_PRECISION` for a price the display factor does
   *   not divide; `MDCAP_ERR_IMPORT_FORMAT` for values MDP3 has no encoding for;
   *   `MDCAP_ERR_INVALID_EVENT` for records inconsistent with the book before them (a cancel of
   *   an order never added, unsorted levels).
   */
  constructor(options: Mdp3ExchangeOptions) {
    this.codec = options.codec;
    this.maxPacketBytes = options.maxPacketBytes ?? MDP3_MAX_PACKET_BYTES;
    if (!Number.isInteger(this.maxPacketBytes) || this.maxPacketBytes < 200 || this.maxPacketBytes > 65_507) {
      invalid(`maxPacketBytes: expected an integer from 200 to 65507, found ${describeValue(options.maxPacketBytes)}`);
    }
    for (const t of [...Object.values(INCREMENTAL_TEMPLATES), STATUS, SNAPSHOT, ORDER_SNAPSHOT, DEFINITION, CHANNEL_RESET]) {
      if (this.codec.message(t) === undefined) {
        invalid(
          `codec: expected a schema with template ${t} (CME MDP3 v9), found ${this.codec.schema.file} version ${this.codec.schema.version} without it`,
        );
      }
    }
    this.inputs = {
      definitions: options.definitions,
      mbo: options.mbo ?? [],
      mbp10: options.mbp10 ?? [],
      trades: options.trades ?? [],
      status: options.status ?? [],
    };
    const latest = new Map<number, Mdp3Instrument>();
    options.definitions.forEach((r, i) => {
      const inst = instrumentOf(r, `definitions[${i}]`);
      const had = latest.get(inst.securityId);
      if (had === undefined || big(had.definition, 'ts_recv') <= big(r, 'ts_recv')) latest.set(inst.securityId, inst);
    });
    this.instruments = [...latest.values()].sort((a, b) => a.securityId - b.securityId);
    this.byId = latest;
    this.startNs = this.instruments.reduce((t, i) => (big(i.definition, 'ts_recv') > t ? big(i.definition, 'ts_recv') : t), 0n);
    this.costs = {
      book: this.cost(INCREMENTAL_TEMPLATES.book),
      order: this.cost(INCREMENTAL_TEMPLATES.order),
      trade: this.cost(INCREMENTAL_TEMPLATES.trade),
      status: this.cost(STATUS),
    };
    this.writer = IncrementalWriter.of(this.codec);
    // Each definition once through the codec: what the loop cannot carry fails here, not in a loop.
    for (const inst of this.instruments)
      this.codec.encodeMessage(DEFINITION, definitionFields(this.codec, inst, this.instruments.length, null));
    this.timeline = this.events();
    this.cache = [...this.run(this.truths)];
  }

  /**
   * The exchange of DBN files: definitions, MBO, MBP-10, trades (MBP-0) and status records are
   * taken from each file by record type, the rest (MBP-1, statistics, OHLCV, symbol mappings)
   * left out.
   * @throws {MdcapError} `MDCAP_ERR_IMPORT_FORMAT` for a file that is not DBN; as the constructor.
   */
  static fromDbnFiles(codec: SbeCodec, paths: readonly string[], options: { readonly maxPacketBytes?: number } = {}): Mdp3Exchange {
    const byRtype = new Map<number, DbnRecord[]>();
    for (const path of paths) {
      for (const r of new DbnReader(readFileSync(path), { file: path }).records()) {
        const rt = r['rtype'] as number;
        let list = byRtype.get(rt);
        if (list === undefined) byRtype.set(rt, (list = []));
        list.push(r);
      }
    }
    const of = (rt: number): DbnRecord[] => byRtype.get(rt) ?? [];
    return new Mdp3Exchange({
      codec,
      definitions: of(RType.InstrumentDef),
      mbo: of(RType.Mbo),
      mbp10: of(RType.Mbp10),
      trades: of(RType.Mbp0),
      status: of(RType.Status),
      ...options,
    });
  }

  /**
   * A channel of `instruments` synthetic futures and `packets` incremental packets: each
   * instrument's book built first, then the seeded walk of book updates, trades and orders (see
   * `syntheticPlan`). Packets are generated as they are read, so a long feed costs no memory.
   * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for a count or seed out of range.
   */
  static synthetic(options: SyntheticExchangeOptions): Mdp3Exchange {
    if (!Number.isInteger(options.packets) || options.packets < 0) {
      invalid(`synthetic packets: expected a non-negative integer, found ${describeValue(options.packets)}`);
    }
    const start = options.startNs ?? SYNTHETIC_START_NS;
    const plan = syntheticPlan(options.instruments, options.seed, start);
    // The walk's instruments are DBN-shaped definitions, so they take the DBN path into MDP3.
    const ex = new Mdp3Exchange({
      codec: options.codec,
      definitions: plan.definitions,
      ...(options.maxPacketBytes === undefined ? {} : { maxPacketBytes: options.maxPacketBytes }),
    });
    ex.synthetic = { instruments: options.instruments, seed: options.seed, packets: options.packets, start };
    ex.cache = null;
    return ex;
  }

  /** Incremental packets the feed has. */
  get packetCount(): number {
    return this.cache?.length ?? this.synthetic?.packets ?? 0;
  }

  /** The incremental feed, MsgSeqNum from 1, in time order. */
  packets(): Iterable<IncrementalPacket> {
    if (this.cache !== null) return this.cache.map((e) => e.packet);
    return mapIterable(this.run(null), (e) => e.packet);
  }

  /** For each MBP-10 record, the packet after which the book equals its levels (DBN mode; empty in synthetic mode). */
  bookTruths(): readonly BookTruth[] {
    return this.truths;
  }

  /**
   * An instrument's MBP book after incremental packet `afterSeq`, best first, as prices a trader
   * reads (the wire price times the display factor) at 1e-9, and sizes: what a feed's book is
   * compared with.
   */
  bookAt(securityId: number, afterSeq: number): { bid: [bigint, bigint][]; ask: [bigint, bigint][] } {
    const inst = this.instruments.find((i) => i.securityId === securityId);
    if (inst === undefined) invalid(`bookAt: expected a SecurityID of the exchange, found ${securityId}`);
    const s = this.stateAfter(afterSeq).state.instrument(securityId);
    const side = (x: BookSide): [bigint, bigint][] =>
      s.levels(x).map((l): [bigint, bigint] => [(l.price * inst.displayFactor) / 1_000_000_000n, BigInt(l.size)]);
    return { bid: side('Bid'), ask: side('Offer') };
  }

  /**
   * An instrument's resting orders (MBO) after incremental packet `afterSeq`, by order id, with
   * prices at 1e-9 as in {@link bookAt}: what a feed's MBO book is compared with.
   */
  ordersAt(securityId: number, afterSeq: number): Map<bigint, { side: 'bid' | 'ask'; price: bigint; size: bigint }> {
    const inst = this.instruments.find((i) => i.securityId === securityId);
    if (inst === undefined) invalid(`ordersAt: expected a SecurityID of the exchange, found ${securityId}`);
    const out = new Map<bigint, { side: 'bid' | 'ask'; price: bigint; size: bigint }>();
    for (const o of this.stateAfter(afterSeq).state.instrument(securityId).orders.values()) {
      out.set(o.orderId, {
        side: o.side === 'Bid' ? 'bid' : 'ask',
        price: (o.price * inst.displayFactor) / 1_000_000_000n,
        size: BigInt(o.qty),
      });
    }
    return out;
  }

  /**
   * The MBP snapshot loop for the state after incremental packet `afterSeq` (0: before any): one
   * SnapshotFullRefresh52 per instrument (MsgSeqNum from 1, TotNumReports = instruments) with
   * the instrument's levels (MDPriceLevel 1..), its last trade (an entry of type Trade), its last
   * RptSeq and status, and LastMsgSeqNumProcessed = `afterSeq`.
   * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for an `afterSeq` past the feed.
   */
  snapshotPackets(afterSeq: number): Mdp3Packet[] {
    const { state, time } = this.stateAfter(afterSeq);
    return this.instruments.map((inst, i) => {
      const s = state.instrument(inst.securityId);
      const levels = (side: BookSide): SbeRecord[] =>
        s.levels(side).map((l, k) => ({
          MDEntryPx: l.price,
          MDEntrySize: l.size,
          NumberOfOrders: l.orders,
          MDPriceLevel: k + 1,
          TradingReferenceDate: null,
          OpenCloseSettlFlag: null,
          SettlPriceType: [],
          MDEntryType: side,
        }));
      const entries = [...levels('Bid'), ...levels('Offer')];
      if (s.lastTrade !== null) {
        entries.push({
          MDEntryPx: s.lastTrade.price,
          MDEntrySize: s.lastTrade.size,
          NumberOfOrders: null,
          MDPriceLevel: null,
          TradingReferenceDate: null,
          OpenCloseSettlFlag: null,
          SettlPriceType: [],
          MDEntryType: 'Trade',
        });
      }
      const message = this.codec.encodeMessage(SNAPSHOT, {
        LastMsgSeqNumProcessed: afterSeq,
        TotNumReports: this.instruments.length,
        SecurityID: inst.securityId,
        RptSeq: s.rptSeq,
        TransactTime: s.transactTime ?? big(inst.definition, 'ts_event'),
        LastUpdateTime: big(inst.definition, 'ts_event'),
        TradeDate: cmeTradeDate(time),
        MDSecurityTradingStatus: s.status,
        ...priceLimits(inst),
        NoMDEntries: entries,
      });
      return this.packet(i + 1, time, [message]);
    });
  }

  /**
   * The MBO snapshot loop for the state after incremental packet `afterSeq`: each instrument's
   * resting orders (bids best first, then offers; equal prices by MDOrderPriority) in
   * SnapshotFullRefreshOrderBook53 messages, one per packet, as many chunks (NoChunks,
   * CurrentChunk from 1) as the packet budget needs; an instrument without orders has one empty
   * chunk. MsgSeqNum from 1, TotNumReports = instruments.
   */
  orderBookSnapshotPackets(afterSeq: number): Mdp3Packet[] {
    const { state, time } = this.stateAfter(afterSeq);
    const cost = this.cost(ORDER_SNAPSHOT);
    const perChunk = Math.min(cost.maxEntries, Math.floor((this.maxPacketBytes - PACKET_HEADER_BYTES - cost.fixed) / cost.perEntry));
    const out: Mdp3Packet[] = [];
    for (const inst of this.instruments) {
      const s = state.instrument(inst.securityId);
      const orders = [...s.orders.values()].sort(byBookPriority);
      const chunks = Math.max(1, Math.ceil(orders.length / perChunk));
      for (let c = 0; c < chunks; c++) {
        const message = this.codec.encodeMessage(ORDER_SNAPSHOT, {
          LastMsgSeqNumProcessed: afterSeq,
          TotNumReports: this.instruments.length,
          SecurityID: inst.securityId,
          NoChunks: chunks,
          CurrentChunk: c + 1,
          TransactTime: s.transactTime ?? big(inst.definition, 'ts_event'),
          NoMDEntries: orders.slice(c * perChunk, (c + 1) * perChunk).map((o) => ({
            OrderID: o.orderId,
            MDOrderPriority: o.priority,
            MDEntryPx: o.price,
            MDDisplayQty: o.qty,
            MDEntryType: o.side,
          })),
        });
        out.push(this.packet(out.length + 1, time, [message]));
      }
    }
    return out;
  }

  /**
   * The instrument definition loop: one MDInstrumentDefinitionFuture54 per instrument and packet,
   * MsgSeqNum from 1, TotNumReports = instruments, MDSecurityTradingStatus as after incremental
   * packet `afterSeq` (default 0: before any, so null).
   */
  definitionPackets(afterSeq = 0): Mdp3Packet[] {
    const { state, time } = this.stateAfter(afterSeq);
    return this.instruments.map((inst, i) => {
      const fields = definitionFields(this.codec, inst, this.instruments.length, state.instrument(inst.securityId).status);
      return this.packet(i + 1, time, [this.codec.encodeMessage(DEFINITION, fields)]);
    });
  }

  /** A ChannelReset4 packet (one entry per ApplID of the instruments): clients drop every book of the channel. */
  channelResetPacket(seqNum: number, sendingTime: bigint): Mdp3Packet {
    const applIds = [...new Set(this.instruments.map((i) => i.applId))].sort((a, b) => a - b);
    const message = this.codec.encodeMessage(CHANNEL_RESET, {
      TransactTime: sendingTime,
      MatchEventIndicator: ['EndOfEvent'],
      NoMDEntries: applIds.map((ApplID) => ({ ApplID })),
    });
    return this.packet(seqNum, sendingTime, [message]);
  }

  private packet(seqNum: number, time: bigint, messages: readonly Uint8Array[]): Mdp3Packet {
    return { seqNum, sendingTime: time, tsNs: time, bytes: this.codec.encodePacket(seqNum, time, messages) };
  }

  private cost(template: string): MessageCost {
    const def = this.codec.message(template)!;
    const version = this.codec.schema.version;
    const groups = def.groups.filter((g) => g.sinceVersion <= version);
    const entries = groups.find((g) => g.name === 'NoMDEntries');
    const fixed = MESSAGE_SIZE_BYTES + this.codec.schema.header.size + def.blockLength + groups.reduce((n, g) => n + g.dimension.size, 0);
    return { fixed, perEntry: entries?.blockLength ?? 0, maxEntries: entries === undefined ? 1 : 255 };
  }

  /** The DBN records in time order, grouped into events (see the class comment). */
  private events(): Timed[][] {
    const all: Timed[] = [];
    for (const kind of Object.keys(KIND_RANK) as DbnSourceKind[]) {
      this.inputs[kind].forEach((record, index) => {
        if (record['rtype'] !== KIND_RTYPE[kind]) {
          invalid(`${kind}[${index}]: expected a record of rtype ${KIND_RTYPE[kind]}, found rtype ${describeValue(record['rtype'])}`);
        }
        all.push({
          kind,
          index,
          record,
          tsRecv: big(record, 'ts_recv'),
          tsEvent: big(record, 'ts_event'),
          instrumentId: num(record, 'instrument_id'),
        });
      });
    }
    all.sort((a, b) =>
      a.tsRecv !== b.tsRecv ? (a.tsRecv < b.tsRecv ? -1 : 1) : KIND_RANK[a.kind] - KIND_RANK[b.kind] || a.index - b.index,
    );
    const groups: Timed[][] = [];
    let group: Timed[] = [];
    for (const t of all) {
      const head = group[0];
      const split =
        head === undefined ||
        head.tsRecv !== t.tsRecv ||
        head.tsEvent !== t.tsEvent ||
        (t.kind === 'mbp10' && group.some((g) => g.kind === 'mbp10' && g.instrumentId === t.instrumentId));
      if (split && group.length > 0) {
        groups.push(group);
        group = [];
      }
      group.push(t);
    }
    if (group.length > 0) groups.push(group);
    return groups;
  }

  private instrumentFor(id: number, where: string): Mdp3Instrument {
    const inst = this.byId.get(id);
    if (inst === undefined) {
      throw new MdcapError(
        'MDCAP_ERR_UNKNOWN_INSTRUMENT',
        `${where}: expected an instrument with a definition (instrument_id ${[...this.byId.keys()].join(', ') || 'none'}), found instrument_id ${id}`,
      );
    }
    return inst;
  }

  /** The entries of one DBN record, planned against (and applied to) `model`. */
  private plan(model: ChannelState, t: Timed): Entry[] {
    const r = t.record;
    const where = `${t.kind}[${t.index}] (ts_recv ${t.tsRecv})`;
    const inst = this.instrumentFor(t.instrumentId, where);
    const id = inst.securityId;
    switch (t.kind) {
      case 'status':
        return [model.add(statusEntry(r, where), t.tsEvent)];
      case 'trades': {
        const price = wirePrice(big(r, 'price'), inst.displayFactor, `${where} price`);
        const size = int32(num(r, 'size'), `${where} size`);
        return [model.tradeEntry(id, price, size, aggressorOf(str(r, 'side'), where), t.tsEvent)];
      }
      case 'mbo':
        return mboEntries(model, r, inst, where, t.tsEvent);
      case 'mbp10': {
        const bids = mbpLevels(r, 'Bid', inst, where);
        const offers = mbpLevels(r, 'Offer', inst, where);
        return [...model.bookEntries(id, 'Bid', bids, t.tsEvent), ...model.bookEntries(id, 'Offer', offers, t.tsEvent)];
      }
    }
  }

  /** The steps of the feed: DBN events, or the synthetic walk (endless: the caller stops it). */
  private *steps(model: ChannelState): Generator<Step> {
    if (this.synthetic !== null) {
      const plan: SyntheticPlan = syntheticPlan(this.synthetic.instruments, this.synthetic.seed, this.synthetic.start);
      for (;;) yield plan.next(model);
    }
    for (const group of this.timeline) {
      const entries = group.flatMap((t) => this.plan(model, t));
      yield {
        tsRecv: group[0]!.tsRecv,
        tsEvent: group[0]!.tsEvent,
        entries,
        sources: group.map(({ kind, index, record }) => ({ kind, index, record })),
      };
    }
  }

  /** Generates the incremental feed; with `truths`, records where each MBP-10 record holds. */
  private *run(truths: BookTruth[] | null): Generator<Emitted> {
    const model = new ChannelState(this.instruments.map((i) => i.securityId));
    const limit = this.synthetic?.packets ?? Number.POSITIVE_INFINITY;
    let seq = 0;
    if (seq >= limit) return;
    for (const step of this.steps(model)) {
      const packets = this.split(step.entries);
      // MatchEventIndicator: the event's last trade message says LastTradeMsg, its last book or
      // order message LastQuoteMsg, its last message EndOfEvent.
      let lastTrade: MessageSpec | null = null;
      let lastQuote: MessageSpec | null = null;
      let last: MessageSpec | null = null;
      for (const messages of packets) {
        for (const m of messages) {
          if (m.kind === 'trade') lastTrade = m;
          else if (m.kind !== 'status') lastQuote = m;
          last = m;
        }
      }
      for (let p = 0; p < packets.length; p++) {
        const messages = packets[p]!.map((m): FlaggedMessage => {
          const flags: string[] = [];
          if (m === lastTrade) flags.push('LastTradeMsg');
          if (m === lastQuote) flags.push('LastQuoteMsg');
          if (m === last) flags.push('EndOfEvent');
          return { kind: m.kind, entries: m.entries, flags };
        });
        seq++;
        yield {
          packet: {
            seqNum: seq,
            sendingTime: step.tsRecv,
            tsNs: step.tsRecv,
            bytes: this.encodePacket(seq, step.tsRecv, step.tsEvent, messages),
            sources: step.sources,
            endOfEvent: p === packets.length - 1,
          },
          entries: packets.length === 1 ? step.entries : messages.flatMap((m) => m.entries),
          transactTime: step.tsEvent,
        };
        if (seq >= limit) return;
      }
      if (truths !== null) {
        for (const s of step.sources) if (s.kind === 'mbp10') truths.push({ index: s.index, record: s.record, afterSeq: seq });
      }
    }
  }

  /**
   * The messages of one step, packed into packets: consecutive entries of one kind share a
   * message, a message holds what fits the packet budget (and 255 entries, numInGroup's
   * limit), and the rest goes on in the next message or packet.
   */
  private split(entries: readonly Entry[]): MessageSpec[][] {
    const packets: MessageSpec[][] = [];
    let current: MessageSpec[] = [];
    let size = PACKET_HEADER_BYTES;
    let i = 0;
    while (i < entries.length) {
      const kind = entries[i]!.kind;
      let end = i;
      while (end < entries.length && entries[end]!.kind === kind) end++;
      const cost = this.costs[kind];
      while (i < end) {
        const room = this.maxPacketBytes - size - cost.fixed;
        const fit = Math.min(cost.perEntry === 0 ? (room >= 0 ? 1 : 0) : Math.floor(room / cost.perEntry), cost.maxEntries, end - i);
        if (fit < 1) {
          packets.push(current);
          current = [];
          size = PACKET_HEADER_BYTES;
          continue;
        }
        current.push({ kind, entries: entries.slice(i, i + fit) });
        size += cost.fixed + fit * cost.perEntry;
        i += fit;
      }
    }
    if (current.length > 0) packets.push(current);
    return packets;
  }

  /** One incremental packet: by the compiled writer when it covers every message, else by the codec. */
  private encodePacket(seqNum: number, sendingTime: bigint, transactTime: bigint, messages: readonly FlaggedMessage[]): Uint8Array {
    if (this.writer !== null && messages.every((m) => m.kind !== 'status')) {
      return this.writer.packet(seqNum, sendingTime, transactTime, messages as readonly IncrementalMessage[]);
    }
    return this.codec.encodePacket(
      seqNum,
      sendingTime,
      messages.map((m) => this.encode(m, transactTime)),
    );
  }

  /** One message by the codec (the reference encoding). */
  private encode(m: FlaggedMessage, transactTime: bigint): Uint8Array {
    if (m.kind !== 'status') {
      const getters = ENTRY_FIELDS[m.kind] as Readonly<Record<string, (e: Entry) => SbeValue>>;
      return this.codec.encodeMessage(INCREMENTAL_TEMPLATES[m.kind], {
        TransactTime: transactTime,
        MatchEventIndicator: m.flags,
        NoMDEntries: m.entries.map((e) => Object.fromEntries(Object.entries(getters).map(([name, get]) => [name, get(e)]))),
        NoOrderIDEntries: [],
      });
    }
    const e = m.entries[0]!;
    if (e.kind !== 'status') return unreachable(e.kind);
    const inst = this.instrumentFor(e.securityId, 'status entry');
    return this.codec.encodeMessage(STATUS, {
      TransactTime: transactTime,
      SecurityGroup: inst.group,
      Asset: inst.asset,
      SecurityID: e.securityId,
      TradeDate: cmeTradeDate(transactTime),
      MatchEventIndicator: m.flags,
      SecurityTradingStatus: e.status,
      HaltReason: e.haltReason,
      SecurityTradingEvent: e.event,
    });
  }

  /**
   * The channel as a client has it after incremental packet `afterSeq`, and that packet's time.
   * A cursor keeps the state between calls: loops ask for ever later packets as the feed runs,
   * so each call applies only the packets since the last one (an earlier `afterSeq` starts over).
   * The state is the cursor's own: read it before the next call.
   */
  private stateAfter(afterSeq: number): { state: ChannelState; time: bigint } {
    if (!Number.isInteger(afterSeq) || afterSeq < 0 || afterSeq > this.packetCount) {
      invalid(`afterSeq: expected an incremental MsgSeqNum from 0 to ${this.packetCount}, found ${describeValue(afterSeq)}`);
    }
    let c = this.cursor;
    if (c === null || c.seq > afterSeq) {
      const feed = this.cache ?? this.run(null);
      c = { feed: feed[Symbol.iterator](), state: new ChannelState(this.instruments.map((i) => i.securityId)), seq: 0, time: this.startNs };
      this.cursor = c;
    }
    while (c.seq < afterSeq) {
      const next = c.feed.next();
      if (next.done === true) break;
      const e = next.value;
      for (const entry of e.entries) c.state.apply(entry, e.transactTime);
      c.seq = e.packet.seqNum;
      c.time = e.packet.sendingTime;
    }
    return { state: c.state, time: c.time };
  }
}

function invalid(what: string): never {
  throw new MdcapError('MDCAP_ERR_INVALID_OPTION', what);
}

function unreachable(kind: string): never {
  throw new MdcapError('MDCAP_ERR_INVALID_EVENT', `MDP3 message: expected entries of one kind, found a ${kind} entry among them`);
}

/** Resting orders as a book lists them: bids (highest first), then offers (lowest first); equal prices by priority. */
function byBookPriority(a: RestingOrder, b: RestingOrder): number {
  if (a.side !== b.side) return a.side === 'Bid' ? -1 : 1;
  if (a.price !== b.price) return (a.side === 'Bid' ? a.price > b.price : a.price < b.price) ? -1 : 1;
  return a.priority < b.priority ? -1 : a.priority > b.priority ? 1 : 0;
}

function mapIterable<T, U>(source: Iterable<T>, f: (t: T) => U): Iterable<U> {
  return {
    *[Symbol.iterator]() {
      for (const t of source) yield f(t);
    },
  };
}
