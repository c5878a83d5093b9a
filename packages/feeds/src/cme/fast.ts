import type { EncodedType, EnumType, FieldDef, GroupDef, MessageDef, Schema, SbeType } from '@mdcap/mdp3';

/**
 * The handler's hot path: the entries of book, order-book and trade-summary messages read straight
 * from the packet by offsets the schema gives (compiled once per template), into one reused
 * object, instead of a decoded record per message and per entry. Any template of any version
 * whose groups carry these fields is read this way (v8's 32/42/43, v9's 46/47/48); the generic
 * decoder stays the path for everything else, and for every packet this reader cannot walk
 * (it then gives the generic decoder's error, which names the byte).
 */

/** One entry, in the reused object {@link HotReader} fills (copy what you keep). */
export interface HotEntry {
  securityId: number;
  /** Null when the template's entries carry none (MBO). */
  rptSeq: number | null;
  /** The price mantissa, or null (absent or the null sentinel). */
  px: bigint | null;
  pxExponent: number;
  /** MDEntrySize, or MBO's MDDisplayQty; null when absent or null. */
  size: number | null;
  /** MDPriceLevel (0 when absent). */
  level: number;
  /** MDUpdateAction's name (`New`, `Change`…), or null. */
  action: string | null;
  /** MDEntryType's name (`Bid`, `Offer`, `ImpliedBid`…) or a constant's value (`2` for trades). */
  type: string | null;
  orderId: bigint | null;
  /** AggressorSide's name, or null. */
  aggressor: string | null;
  tradeEntryId: number | null;
}

export type HotKind = 'book' | 'orders' | 'trades';

interface Slot {
  readonly offset: number;
  readonly end: number;
  readonly since: number;
  readonly read: (v: DataView, at: number) => number | bigint | string | null;
}

interface Layout {
  readonly kind: HotKind;
  readonly name: string;
  readonly transactTime: Slot | null;
  /** The groups in wire order, each with its dimension; only NoMDEntries is read. */
  readonly groups: readonly {
    readonly def: GroupDef;
    readonly blOff: number;
    readonly nOff: number;
    readonly nSize: number;
    readonly dimSize: number;
    readonly entries: boolean;
  }[];
  readonly slots: Readonly<
    Record<'securityId' | 'rptSeq' | 'px' | 'size' | 'level' | 'action' | 'type' | 'orderId' | 'aggressor' | 'tradeEntryId', Slot | null>
  >;
  readonly pxExponent: number;
}

const KINDS: Readonly<Record<string, HotKind>> = {
  MDIncrementalRefreshBook: 'book',
  MDIncrementalRefreshOrderBook: 'orders',
  MDIncrementalRefreshTradeSummary: 'trades',
};

function intReader(t: EncodedType): (v: DataView, at: number) => number | bigint | null {
  const nul = t.nullValue;
  const n = nul === null ? null : Number(nul);
  switch (t.primitive) {
    case 'int8':
      return (v, at) => {
        const x = v.getInt8(at);
        return x === n ? null : x;
      };
    case 'uint8':
    case 'char':
      return (v, at) => {
        const x = v.getUint8(at);
        return x === n ? null : x;
      };
    case 'int16':
      return (v, at) => {
        const x = v.getInt16(at, true);
        return x === n ? null : x;
      };
    case 'uint16':
      return (v, at) => {
        const x = v.getUint16(at, true);
        return x === n ? null : x;
      };
    case 'int32':
      return (v, at) => {
        const x = v.getInt32(at, true);
        return x === n ? null : x;
      };
    case 'uint32':
      return (v, at) => {
        const x = v.getUint32(at, true);
        return x === n ? null : x;
      };
    case 'int64':
      return (v, at) => {
        const x = v.getBigInt64(at, true);
        return x === nul ? null : x;
      };
    case 'uint64':
      return (v, at) => {
        const x = v.getBigUint64(at, true);
        return x === nul ? null : x;
      };
    case 'float':
    case 'double':
      return () => null; // MDP3's entries carry no floats
  }
}

/** A field's reader: integers, decimals' mantissas, enums' names, constants' values. */
function slot(f: FieldDef | undefined): Slot | null {
  if (f === undefined) return null;
  const t: SbeType = f.type;
  const at = (read: Slot['read']): Slot => ({ offset: f.offset, end: f.offset + f.size, since: f.sinceVersion, read });
  if (f.presence === 'constant' && t.kind === 'type') {
    const c = t.constant;
    return { offset: 0, end: 0, since: f.sinceVersion, read: () => c };
  }
  switch (t.kind) {
    case 'type':
      return at(intReader(t));
    case 'composite': {
      const m = t.members.find((x) => x.name === 'mantissa');
      if (t.exponent === null || m === undefined) return null;
      const r = intReader(m);
      return at((v, o) => r(v, o + m.offset));
    }
    case 'enum': {
      const e: EnumType = t;
      const raw = intReader(e.encoding);
      const char = e.encoding.primitive === 'char';
      // Names by raw code, in a plain array: a lookup per entry without building a key string.
      const names: (string | undefined)[] = [];
      for (const [k, name] of e.names) names[char ? k.charCodeAt(0) : Number(k)] = name;
      return at((v, o) => {
        const x = raw(v, o);
        return x === null ? null : (names[Number(x)] ?? `<unknown ${char ? String.fromCharCode(Number(x)) : String(x)}>`);
      });
    }
    case 'set':
      return null;
  }
}

function compile(def: MessageDef, kind: HotKind): Layout {
  const field = (fields: readonly FieldDef[], name: string): FieldDef | undefined => fields.find((f) => f.name === name);
  const entries = def.groups.find((g) => g.name === 'NoMDEntries');
  const ef = entries?.fields ?? [];
  const px = field(ef, 'MDEntryPx');
  const pxType = px?.type;
  return {
    kind,
    name: def.name,
    transactTime: slot(field(def.fields, 'TransactTime')),
    groups: def.groups.map((g) => {
      const bl = g.dimension.members.find((m) => m.name === 'blockLength')!;
      const n = g.dimension.members.find((m) => m.name === 'numInGroup')!;
      return { def: g, blOff: bl.offset, nOff: n.offset, nSize: n.size, dimSize: g.dimension.size, entries: g === entries };
    }),
    slots: {
      securityId: slot(field(ef, 'SecurityID')),
      rptSeq: slot(field(ef, 'RptSeq')),
      px: slot(px),
      size: slot(field(ef, 'MDEntrySize') ?? field(ef, 'MDDisplayQty')),
      level: slot(field(ef, 'MDPriceLevel')),
      action: slot(field(ef, 'MDUpdateAction')),
      type: slot(field(ef, 'MDEntryType')),
      orderId: slot(field(ef, 'OrderID')),
      aggressor: slot(field(ef, 'AggressorSide')),
      tradeEntryId: slot(field(ef, 'MDTradeEntryID')),
    },
    pxExponent: pxType?.kind === 'composite' ? (pxType.exponent ?? 0) : 0,
  };
}

/** Thrown (cheaply) when a packet does not walk: the caller asks the generic decoder why. */
export class NotWalkable extends Error {}

const NOT_WALKABLE = new NotWalkable('not walkable');

export interface HotVisitor {
  /** Each entry of a hot message (the object is reused: copy what you keep). */
  entry(kind: HotKind, e: HotEntry, transactTime: bigint | null): void;
  /** Entries of other groups (order detail of MBP messages), counted. */
  skipped(n: number): void;
  /** A message the hot path does not read: its bytes (from its MsgSize) for the generic decoder. */
  other(templateId: number, at: number, size: number): void;
}

/** Reads MDP3 packets' hot messages by the schema's offsets. */
export class HotReader {
  private readonly layouts = new Map<number, Layout>();
  private readonly e: HotEntry = {
    securityId: 0,
    rptSeq: null,
    px: null,
    pxExponent: 0,
    size: null,
    level: 0,
    action: null,
    type: null,
    orderId: null,
    aggressor: null,
    tradeEntryId: null,
  };

  /**
   * @param orderDetail True when the order detail of MBP messages (`NoOrderIDEntries` of
   *   MDIncrementalRefreshBook: MBO in the combined template) is wanted: a message carrying
   *   any is then not read here ({@link check} says so), and the generic decoder reads it.
   */
  constructor(
    schema: Schema,
    private readonly orderDetail = false,
  ) {
    for (const def of schema.messages.values()) {
      const kind = KINDS[def.name.replace(/\d+$/, '')];
      if (kind !== undefined) this.layouts.set(def.id, compile(def, kind));
    }
  }

  /**
   * Checks that the packet walks (framing, blocks and groups within their messages) without
   * reading a field: a packet accepted for its turn must not fail half-way through. Returns
   * false when it holds a message the hot path does not read (which the generic decoder must
   * then check and read).
   * @throws {NotWalkable} when it does not walk.
   */
  check(bytes: Uint8Array): boolean {
    return this.walk(bytes, null);
  }

  /** Visits the packet's messages (it walks: see {@link check}). */
  read(bytes: Uint8Array, visitor: HotVisitor): void {
    this.walk(bytes, visitor);
  }

  private walk(bytes: Uint8Array, visitor: HotVisitor | null): boolean {
    let allHot = true;
    const len = bytes.length;
    if (len < 12) throw NOT_WALKABLE;
    const v = new DataView(bytes.buffer, bytes.byteOffset, len);
    let at = 12;
    while (at < len) {
      if (at + 10 > len) throw NOT_WALKABLE;
      const size = v.getUint16(at, true);
      const end = at + size;
      if (size < 10 || end > len) throw NOT_WALKABLE;
      const blockLength = v.getUint16(at + 2, true);
      const templateId = v.getUint16(at + 4, true);
      const version = v.getUint16(at + 8, true);
      const root = at + 10;
      if (root + blockLength > end) throw NOT_WALKABLE;
      const layout = this.layouts.get(templateId);
      if (layout === undefined) {
        allHot = false;
        visitor?.other(templateId, at, size);
        at = end;
        continue;
      }
      const tt = layout.transactTime;
      const transact = visitor !== null && tt !== null && tt.end <= blockLength ? (tt.read(v, root + tt.offset) as bigint | null) : null;
      let g = root + blockLength;
      for (const grp of layout.groups) {
        if (grp.def.sinceVersion > version) continue;
        if (g + grp.dimSize > end) throw NOT_WALKABLE;
        const bl = v.getUint16(g + grp.blOff, true);
        const n = grp.nSize === 1 ? v.getUint8(g + grp.nOff) : v.getUint16(g + grp.nOff, true);
        g += grp.dimSize;
        if (g + bl * n > end) throw NOT_WALKABLE;
        if (grp.def.groups.length > 0) throw NOT_WALKABLE; // nested groups: the generic decoder's
        if (!grp.entries && n > 0 && this.orderDetail) allHot = false;
        if (visitor !== null) {
          if (grp.entries) for (let i = 0; i < n; i++) this.entry(v, g + i * bl, bl, version, layout, transact, visitor);
          else visitor.skipped(n);
        }
        g += bl * n;
      }
      at = end;
    }
    return allHot;
  }

  private entry(v: DataView, at: number, bl: number, version: number, l: Layout, transact: bigint | null, visitor: HotVisitor): void {
    const e = this.e;
    const s = l.slots;
    e.securityId = (field(s.securityId, v, at, bl, version) as number | null) ?? 0;
    e.rptSeq = field(s.rptSeq, v, at, bl, version) as number | null;
    e.px = field(s.px, v, at, bl, version) as bigint | null;
    e.pxExponent = l.pxExponent;
    e.size = field(s.size, v, at, bl, version) as number | null;
    e.level = (field(s.level, v, at, bl, version) as number | null) ?? 0;
    e.action = field(s.action, v, at, bl, version) as string | null;
    e.type = field(s.type, v, at, bl, version) as string | null;
    e.orderId = field(s.orderId, v, at, bl, version) as bigint | null;
    e.aggressor = field(s.aggressor, v, at, bl, version) as string | null;
    e.tradeEntryId = field(s.tradeEntryId, v, at, bl, version) as number | null;
    visitor.entry(l.kind, e, transact);
  }
}

/** A slot's value in the entry at `at` (block length `bl`), or null when the field is absent there (newer, or past the block). */
function field(x: Slot | null, v: DataView, at: number, bl: number, version: number): number | bigint | string | null {
  return x === null || x.since > version || x.end > bl ? null : x.read(v, at + x.offset);
}
