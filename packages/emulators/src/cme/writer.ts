import { MdcapError } from '@mdcap/core';
import { MESSAGE_SIZE_BYTES, PACKET_HEADER_BYTES } from '@mdcap/mdp3';
import type { EncodedType, FieldDef, GroupDef, MessageDef, SbeCodec, SbeType } from '@mdcap/mdp3';
import type { BookEntry, Entry, OrderEntry, TradeEntry } from './model.js';

/**
 * The incremental messages the exchange sends most (Book46, OrderBook47, TradeSummary48), as
 * field values of their entries, and a writer that puts them on the wire fast enough for
 * benchmark volume. `SbeCodec.encodeMessage` is the reference: it interprets the schema for
 * every value (bigint range checks, name lookups, one buffer per message), which tops out near
 * 70k packets a second; this writer resolves each field's offset, primitive, enum value and
 * null once per schema and then writes entries straight into one packet buffer. It covers the
 * field types these templates use and declines (null) anything else, so the codec path serves
 * then; a test checks that both write the same bytes.
 */

export type IncrementalKind = 'book' | 'order' | 'trade';
type Raw = number | bigint | string | null;
type Getters<E> = Readonly<Record<string, (e: E) => Raw>>;

/** The templates of each kind. */
export const INCREMENTAL_TEMPLATES: Readonly<Record<IncrementalKind, string>> = {
  book: 'MDIncrementalRefreshBook46',
  order: 'MDIncrementalRefreshOrderBook47',
  trade: 'MDIncrementalRefreshTradeSummary48',
};

/** NoMDEntries fields of each kind, from an entry: the one table both writers use. */
export const ENTRY_FIELDS: { readonly book: Getters<BookEntry>; readonly order: Getters<OrderEntry>; readonly trade: Getters<TradeEntry> } =
  {
    book: {
      MDEntryPx: (e) => e.price,
      MDEntrySize: (e) => e.size,
      SecurityID: (e) => e.securityId,
      RptSeq: (e) => e.rptSeq,
      NumberOfOrders: (e) => e.orders,
      MDPriceLevel: (e) => e.level,
      MDUpdateAction: (e) => e.action,
      MDEntryType: (e) => e.side,
    },
    order: {
      OrderID: (e) => e.orderId,
      MDOrderPriority: (e) => e.priority,
      MDEntryPx: (e) => e.price,
      MDDisplayQty: (e) => e.qty,
      SecurityID: (e) => e.securityId,
      MDUpdateAction: (e) => e.action,
      MDEntryType: (e) => e.side,
    },
    trade: {
      MDEntryPx: (e) => e.price,
      MDEntrySize: (e) => e.size,
      SecurityID: (e) => e.securityId,
      RptSeq: (e) => e.rptSeq,
      // DBN trades do not say how many orders matched: 0 rather than an invented count.
      NumberOfOrders: () => 0,
      AggressorSide: (e) => e.aggressor,
      MDUpdateAction: () => 'New',
      MDTradeEntryID: () => null,
    },
  };

/** One message to write: its entries (all of `kind`) and MatchEventIndicator's choices. */
export interface IncrementalMessage {
  readonly kind: IncrementalKind;
  readonly entries: readonly Entry[];
  readonly flags: readonly string[];
}

type Put = (view: DataView, at: number, v: Raw) => void;

interface Slot {
  readonly offset: number;
  readonly put: Put;
}

interface Compiled {
  readonly def: MessageDef;
  readonly header: readonly (readonly [Slot, number])[];
  readonly transactTime: Slot;
  readonly flags: Slot;
  readonly blockLength: number;
  /** The groups in wire order; `entries` marks NoMDEntries. */
  readonly groups: readonly { readonly def: GroupDef; readonly count: Slot; readonly length: Slot; readonly entries: boolean }[];
  readonly entry: readonly (readonly [Slot, (e: Entry) => Raw])[];
  readonly entryLength: number;
  readonly fixed: number;
  /** Where the groups start, from the message's MsgSize. */
  readonly groupsAt: number;
}

function range(what: string, v: Raw): never {
  throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `encode ${what}: expected a value its type can carry, found ${String(v)}`);
}

/** How a primitive goes on the wire, its null sentinel written for null; null when not covered. */
function primitive(t: EncodedType, le: boolean): Put | null {
  if (t.presence === 'constant' || (t.primitive === 'char' && t.length > 1)) return null;
  const nul = t.nullValue;
  const what = t.name;
  switch (t.primitive) {
    case 'char':
    case 'uint8':
      return (view, at, v) => {
        const n = v === null ? Number(nul ?? range(what, v)) : typeof v === 'string' ? v.charCodeAt(0) : Number(v);
        if (n !== (n & 0xff)) range(what, v);
        view.setUint8(at, n);
      };
    case 'int32':
      return (view, at, v) => {
        const n = v === null ? Number(nul ?? range(what, v)) : Number(v);
        if (n !== (n | 0)) range(what, v);
        view.setInt32(at, n, le);
      };
    case 'uint32':
      return (view, at, v) => {
        const n = v === null ? Number(nul ?? range(what, v)) : Number(v);
        if (n !== n >>> 0) range(what, v);
        view.setUint32(at, n, le);
      };
    case 'uint16':
      return (view, at, v) => {
        const n = v === null ? Number(nul ?? range(what, v)) : Number(v);
        if (n !== (n & 0xffff)) range(what, v);
        view.setUint16(at, n, le);
      };
    case 'int64':
      return (view, at, v) => {
        const n = v === null ? (nul ?? range(what, v)) : BigInt(v);
        if (BigInt.asIntN(64, n) !== n) range(what, v);
        view.setBigInt64(at, n, le);
      };
    case 'uint64':
      return (view, at, v) => {
        const n = v === null ? (nul ?? range(what, v)) : BigInt(v);
        if (BigInt.asUintN(64, n) !== n) range(what, v);
        view.setBigUint64(at, n, le);
      };
    case 'int8':
    case 'int16':
    case 'float':
    case 'double':
      return null; // not in the templates this writer covers: the codec writes them
  }
}

/** How a field's type goes on the wire (decimals as their mantissa, enums by name, sets by choice names). */
function putter(t: SbeType, le: boolean): { readonly at: number; readonly put: Put } | null {
  switch (t.kind) {
    case 'type': {
      const put = primitive(t, le);
      return put === null ? null : { at: 0, put };
    }
    case 'composite': {
      const m = t.members.find((x) => x.name === 'mantissa');
      if (t.exponent === null || m === undefined) return null;
      const put = primitive(m, le);
      return put === null ? null : { at: m.offset, put };
    }
    case 'enum': {
      const put = primitive(t.encoding, le);
      if (put === null) return null;
      const raw = new Map<string, Raw>();
      for (const [name, v] of t.values) raw.set(name, t.encoding.primitive === 'char' ? v : Number(v));
      return {
        at: 0,
        put: (view, at, v) => {
          const r = v === null ? null : raw.get(v as string);
          if (r === undefined) range(t.name, v);
          put(view, at, r);
        },
      };
    }
    case 'set': {
      const put = primitive(t.encoding, le);
      if (put === null) return null;
      const bits = new Map(t.choices.map((c) => [c.name, 1 << c.bit]));
      return {
        at: 0,
        put: (view, at, v) => {
          let n = 0;
          for (const name of v as unknown as readonly string[]) n |= bits.get(name) ?? range(t.name, name);
          put(view, at, n);
        },
      };
    }
  }
}

function slotOf(f: FieldDef, base: number, le: boolean): Slot | null {
  const p = putter(f.type, le);
  return p === null ? null : { offset: base + f.offset + p.at, put: p.put };
}

function compile(codec: SbeCodec, kind: IncrementalKind): Compiled | null {
  const schema = codec.schema;
  const le = schema.byteOrder === 'littleEndian';
  const def = codec.message(INCREMENTAL_TEMPLATES[kind]);
  if (def === undefined) return null;
  const version = schema.version;
  const header: [Slot, number][] = [];
  const values: Readonly<Record<string, number>> = {
    blockLength: def.blockLength,
    templateId: def.id,
    schemaId: schema.id,
    version,
  };
  for (const m of schema.header.members) {
    const put = primitive(m, le);
    const v = values[m.name];
    if (put === null || v === undefined) return null;
    header.push([{ offset: MESSAGE_SIZE_BYTES + m.offset, put }, v]);
  }
  const root = MESSAGE_SIZE_BYTES + schema.header.size;
  const field = (name: string): Slot | null => {
    const f = def.fields.find((x) => x.name === name);
    return f === undefined || f.sinceVersion > version ? null : slotOf(f, root, le);
  };
  const transactTime = field('TransactTime');
  const flags = field('MatchEventIndicator');
  // Every field the message writes must be one of ours: otherwise the codec (which knows them all) writes it.
  if (
    transactTime === null ||
    flags === null ||
    def.fields.some((f) => f.presence !== 'constant' && !['TransactTime', 'MatchEventIndicator'].includes(f.name))
  )
    return null;
  const groups: { def: GroupDef; count: Slot; length: Slot; entries: boolean }[] = [];
  let entry: (readonly [Slot, (e: Entry) => Raw])[] | null = null;
  let entryLength = 0;
  let fixed = MESSAGE_SIZE_BYTES + schema.header.size + def.blockLength;
  const getters = ENTRY_FIELDS[kind] as Getters<Entry>;
  for (const g of def.groups) {
    if (g.sinceVersion > version) continue;
    const count = g.dimension.members.find((m) => m.name === 'numInGroup');
    const length = g.dimension.members.find((m) => m.name === 'blockLength');
    const countPut = count === undefined ? null : primitive(count, le);
    const lengthPut = length === undefined ? null : primitive(length, le);
    if (countPut === null || lengthPut === null || g.groups.length > 0) return null;
    const isEntries = g.name === 'NoMDEntries';
    groups.push({
      def: g,
      count: { offset: count!.offset, put: countPut },
      length: { offset: length!.offset, put: lengthPut },
      entries: isEntries,
    });
    fixed += g.dimension.size;
    if (!isEntries) continue;
    entry = [];
    entryLength = g.blockLength;
    for (const f of g.fields) {
      if (f.presence === 'constant' || f.sinceVersion > version) continue;
      const get = getters[f.name];
      const slot = slotOf(f, 0, le);
      if (get === undefined || slot === null) return null;
      entry.push([slot, get]);
    }
  }
  if (entry === null) return null;
  const groupsAt = MESSAGE_SIZE_BYTES + schema.header.size + def.blockLength;
  return { def, header, transactTime, flags, blockLength: def.blockLength, groups, entry, entryLength, fixed, groupsAt };
}

/** Writes Book46, OrderBook47 and TradeSummary48 packets; {@link IncrementalWriter.of} is null when the schema has what it does not cover. */
export class IncrementalWriter {
  private constructor(
    private readonly compiled: Readonly<Record<IncrementalKind, Compiled>>,
    private readonly le: boolean,
  ) {}

  static of(codec: SbeCodec): IncrementalWriter | null {
    const book = compile(codec, 'book');
    const order = compile(codec, 'order');
    const trade = compile(codec, 'trade');
    if (book === null || order === null || trade === null) return null;
    return new IncrementalWriter({ book, order, trade }, codec.schema.byteOrder === 'littleEndian');
  }

  /** One packet of these messages (MsgSeqNum, SendingTime, then each message behind its MsgSize). */
  packet(seqNum: number, sendingTime: bigint, transactTime: bigint, messages: readonly IncrementalMessage[]): Uint8Array {
    // MsgSize of each message: its fixed part and its entries.
    const sizes = messages.map((m) => this.compiled[m.kind].fixed + m.entries.length * this.compiled[m.kind].entryLength);
    const bytes = new Uint8Array(sizes.reduce((n, s) => n + s, PACKET_HEADER_BYTES));
    const view = new DataView(bytes.buffer);
    view.setUint32(0, seqNum, true);
    view.setBigUint64(4, sendingTime, true);
    let at = PACKET_HEADER_BYTES;
    for (const [i, m] of messages.entries()) {
      const c = this.compiled[m.kind];
      const msgSize = sizes[i]!;
      if (m.entries.length > 255 || msgSize > 0xffff) range(`${c.def.name} entries`, m.entries.length);
      view.setUint16(at, msgSize, this.le);
      for (const [slot, v] of c.header) slot.put(view, at + slot.offset, v);
      c.transactTime.put(view, at + c.transactTime.offset, transactTime);
      c.flags.put(view, at + c.flags.offset, m.flags as unknown as Raw);
      let g = at + c.groupsAt;
      const fields = c.entry;
      for (const group of c.groups) {
        const n = group.entries ? m.entries.length : 0;
        group.length.put(view, g + group.length.offset, group.def.blockLength);
        group.count.put(view, g + group.count.offset, n);
        g += group.def.dimension.size;
        if (!group.entries) continue;
        for (let i = 0; i < n; i++) {
          const e = m.entries[i]!;
          for (let f = 0; f < fields.length; f++) {
            const [slot, get] = fields[f]!;
            slot.put(view, g + slot.offset, get(e));
          }
          g += c.entryLength;
        }
      }
      at += msgSize;
    }
    return bytes;
  }
}
