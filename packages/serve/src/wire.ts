import type { Instrument, MarketEvent } from '@mdcap/core';
import { formatDecimal } from '@mdcap/core';

// The hot path of proto/mdcap/v1/events.proto by hand: events straight into protobuf bytes (the
// server) and protobuf bytes straight into mdcap events (the Node client), without the
// intermediate message objects of generated code. The generated ts-proto codec (src/gen) is the
// reference; test/wire.test.ts proves both directions against it, bit for bit.

/** A book's best levels after an update (kind SNAPSHOT), as a stream item. */
export interface BookSnapshot {
  readonly type: 'snapshot';
  readonly venue: string;
  readonly symbol: string;
  readonly tsEvent: bigint;
  readonly tsRecv: bigint;
  readonly seq: bigint | null;
  readonly valid: boolean;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

export interface Level {
  readonly price: bigint;
  readonly size: bigint;
}

/** An instrument's definition (kind INSTRUMENT), sent before the symbol's first event. */
export interface InstrumentItem {
  readonly type: 'instrument';
  readonly instrument: Instrument;
}

/** What a subscription streams: the engine's events, book snapshots and instrument definitions. */
export type StreamItem = MarketEvent | BookSnapshot | InstrumentItem;

/** A snapshot as the canonical JSON of `mdcap replay --print top --json` (one line, no newline). */
export function formatSnapshotJson(s: BookSnapshot): string {
  const pairs = (levels: readonly Level[]): [string, string][] =>
    levels.map((l) => [formatDecimal(l.price, s.priceScale), formatDecimal(l.size, s.sizeScale)]);
  return JSON.stringify({
    type: 'top',
    venue: s.venue,
    symbol: s.symbol,
    tsEvent: s.tsEvent.toString(),
    tsRecv: s.tsRecv.toString(),
    seq: s.seq === null ? null : s.seq.toString(),
    valid: s.valid,
    bids: pairs(s.bids),
    asks: pairs(s.asks),
  });
}

// Field numbers of events.proto.
const EVENT_FIELD = { trade: 1, quote: 2, book: 3, order: 4, bar: 5, status: 6, snapshot: 7, instrument: 8 } as const;
const SIDE = { none: 0, buy: 1, sell: 2 } as const;
const ACTION = { add: 0, modify: 1, cancel: 2, fill: 3, clear: 4 } as const;
const SIDES = ['none', 'buy', 'sell'] as const;
const BOOK_SIDES = ['bid', 'ask'] as const;
const ACTIONS = ['add', 'modify', 'cancel', 'fill', 'clear'] as const;
const TWO_52 = 2 ** 52;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Writes protobuf into one growing buffer that is reused batch after batch. Nested messages
 * reserve one length byte and move their body only in the rare case it is 128 bytes or more.
 */
export class ProtoWriter {
  buf: Uint8Array;
  private view: DataView;
  pos = 0;
  /** Where each open nested message's length byte is (a stack; events nest three deep). */
  private starts = new Int32Array(8);
  private depth = 0;

  constructor(capacity: number = 64 * 1024) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  reset(): void {
    this.truncate(0);
  }

  /** Drops what was written after `pos` (an entry whose encoding failed part-way), nested messages included. */
  truncate(pos: number): void {
    this.pos = pos;
    this.depth = 0;
  }

  /** The bytes written so far, copied out (the writer is reused). */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    out.set(this.buf.subarray(0, this.pos));
    return out;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Appends bytes written elsewhere (an event encoded once for many subscribers). */
  bytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    if (n <= 128) {
      // An event is ~60 bytes: a loop beats making a subarray view to copy from.
      for (let i = start; i < end; i++) b[p++] = src[i]!;
    } else {
      b.set(src.subarray(start, end), p);
      p += n;
    }
    this.pos = p;
  }

  /** A varint of 0..2^53. */
  varint(n: number): void {
    if (n < 0x80 && this.pos < this.buf.length) {
      this.buf[this.pos++] = n;
      return;
    }
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (n >= 0x80) {
      b[p++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[p++] = n;
    this.pos = p;
  }

  private varintBig(v: bigint): void {
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  uint32(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, 0);
    this.varint(v);
  }

  bool(field: number, v: boolean): void {
    this.tag(field, 0);
    this.varint(v ? 1 : 0);
  }

  /** uint64; `always` writes a zero too (an optional field that is present). */
  uint64(field: number, v: bigint, always = false): void {
    if (v === 0n && !always) return;
    this.tag(field, 0);
    if (v <= MAX_SAFE && v >= 0n) this.varint(Number(v));
    else this.varintBig(BigInt.asUintN(64, v));
  }

  /** sint64 (zigzag). */
  sint64(field: number, v: bigint, always = false): void {
    if (v === 0n && !always) return;
    this.tag(field, 0);
    if (v < TWO_52_BIG && v > MINUS_TWO_52_BIG) {
      const n = Number(v);
      this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
    } else {
      this.varintBig(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
    }
  }

  sfixed64(field: number, v: bigint, always = false): void {
    if (v === 0n && !always) return;
    this.tag(field, 1);
    this.ensure(8);
    this.view.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  string(field: number, s: string, always = false): void {
    if (s.length === 0 && !always) return;
    this.tag(field, 2);
    const n = s.length;
    if (n < 0x80) {
      // Short ASCII (trade ids, status kinds): one length byte, one byte per char.
      this.ensure(n + 1);
      const b = this.buf;
      const start = this.pos;
      let p = start + 1;
      let ascii = true;
      for (let c = 0; c < n; c++) {
        const ch = s.charCodeAt(c);
        if (ch >= 0x80) {
          ascii = false;
          break;
        }
        b[p++] = ch;
      }
      if (ascii) {
        b[start] = n;
        this.pos = p;
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.ensure(len);
    Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength).write(s, this.pos, 'utf8');
    this.pos += len;
  }

  private readonly venues = new Map<string, Map<string, Uint8Array>>();
  private lastVenue = '';
  private lastSymbol = '';
  private lastFields: Uint8Array = new Uint8Array(0);

  /** Header fields 1 and 2 (venue, symbol), encoded once per instrument and copied after. */
  instrumentFields(venue: string, symbol: string): void {
    let bytes = this.lastFields;
    if (venue !== this.lastVenue || symbol !== this.lastSymbol) {
      let bySymbol = this.venues.get(venue);
      if (bySymbol === undefined) {
        if (this.venues.size >= 64) this.venues.clear();
        bySymbol = new Map();
        this.venues.set(venue, bySymbol);
      }
      let cached = bySymbol.get(symbol);
      if (cached === undefined) {
        const start = this.pos;
        this.string(1, venue);
        this.string(2, symbol);
        cached = this.buf.slice(start, this.pos);
        this.pos = start;
        if (bySymbol.size >= 65_536) bySymbol.clear();
        bySymbol.set(symbol, cached);
      }
      this.lastVenue = venue;
      this.lastSymbol = symbol;
      this.lastFields = bytes = cached;
    }
    this.bytes(bytes, 0, bytes.length);
  }

  /** Opens a length-delimited field (a nested message); {@link end} closes it. */
  begin(field: number): void {
    this.tag(field, 2);
    this.ensure(1);
    if (this.depth === this.starts.length) {
      const more = new Int32Array(this.depth * 2);
      more.set(this.starts);
      this.starts = more;
    }
    this.starts[this.depth++] = this.pos;
    this.pos += 1;
  }

  end(): void {
    const start = this.starts[--this.depth]!;
    const len = this.pos - start - 1;
    if (len < 0x80) {
      this.buf[start] = len;
      return;
    }
    let extra = 0;
    for (let n = len; n >= 0x80; n = Math.floor(n / 0x80)) extra++;
    this.ensure(extra);
    this.buf.copyWithin(start + 1 + extra, start + 1, this.pos);
    const body = this.pos;
    this.pos = start;
    this.varint(len);
    this.pos = body + extra;
  }
}

const TWO_52_BIG = BigInt(TWO_52);
const MINUS_TWO_52_BIG = -TWO_52_BIG;

function header(w: ProtoWriter, e: { venue: string; symbol: string; tsEvent: bigint; tsRecv: bigint; seq: bigint | null }): void {
  w.begin(1);
  w.instrumentFields(e.venue, e.symbol);
  w.sfixed64(3, e.tsEvent);
  w.sfixed64(4, e.tsRecv);
  if (e.seq !== null) w.uint64(5, e.seq, true);
  w.end();
}

/**
 * Appends one `EventBatch.events` entry (field 1: an `Event`) holding `e`. Concatenated entries
 * are a valid `EventBatch`; {@link writeDropped} adds its `dropped` count.
 */
export function writeEvent(w: ProtoWriter, e: MarketEvent): void {
  w.begin(1);
  w.begin(EVENT_FIELD[e.type]);
  header(w, e);
  switch (e.type) {
    case 'trade':
      w.sint64(2, e.price);
      w.uint64(3, e.size);
      w.uint32(4, e.priceScale);
      w.uint32(5, e.sizeScale);
      w.uint32(6, SIDE[e.side]);
      if (e.tradeId !== null) w.string(7, e.tradeId, true);
      break;
    case 'quote':
      if (e.bidPrice !== null) w.sint64(2, e.bidPrice, true);
      w.uint64(3, e.bidSize);
      if (e.askPrice !== null) w.sint64(4, e.askPrice, true);
      w.uint64(5, e.askSize);
      w.uint32(6, e.priceScale);
      w.uint32(7, e.sizeScale);
      break;
    case 'book':
      w.uint32(2, e.side === 'ask' ? 1 : 0);
      w.sint64(3, e.price);
      w.uint64(4, e.size);
      w.uint32(5, e.priceScale);
      w.uint32(6, e.sizeScale);
      w.uint32(7, e.flags);
      break;
    case 'order':
      w.uint32(2, ACTION[e.action]);
      if (typeof e.orderId === 'string') w.string(4, e.orderId, true);
      else if (e.orderId >= 0n && e.orderId <= UINT64_MAX) w.uint64(3, e.orderId, true);
      else w.string(5, e.orderId.toString(), true);
      w.uint32(6, e.side === 'ask' ? 1 : 0);
      w.sint64(7, e.price);
      w.uint64(8, e.size);
      w.uint32(9, e.priceScale);
      w.uint32(10, e.sizeScale);
      w.uint32(11, e.flags);
      break;
    case 'bar':
      w.uint32(2, e.interval);
      w.sfixed64(3, e.start);
      w.sfixed64(4, e.end);
      w.sint64(5, e.open);
      w.sint64(6, e.high);
      w.sint64(7, e.low);
      w.sint64(8, e.close);
      w.uint64(9, e.volume);
      w.uint32(10, e.trades);
      w.uint32(11, e.priceScale);
      w.uint32(12, e.sizeScale);
      w.uint32(13, e.flags);
      break;
    case 'status':
      w.string(2, e.kind);
      // Field order as generated code writes it: 3, 4 (uint64), then 5, 6 (beyond 64 bits).
      if (e.fromSeq !== null && e.fromSeq <= UINT64_MAX) w.uint64(3, e.fromSeq, true);
      if (e.toSeq !== null && e.toSeq <= UINT64_MAX) w.uint64(4, e.toSeq, true);
      if (e.fromSeq !== null && e.fromSeq > UINT64_MAX) w.string(5, e.fromSeq.toString(), true);
      if (e.toSeq !== null && e.toSeq > UINT64_MAX) w.string(6, e.toSeq.toString(), true);
      if (e.ok !== null) w.bool(7, e.ok);
      w.string(8, e.detail);
      break;
  }
  w.end();
  w.end();
}

/** Appends a `BookSnapshot` entry: the book's best levels after `e`. */
export function writeSnapshot(
  w: ProtoWriter,
  e: MarketEvent,
  valid: boolean,
  priceScale: number,
  sizeScale: number,
  bids: readonly Level[],
  asks: readonly Level[],
): void {
  w.begin(1);
  w.begin(EVENT_FIELD.snapshot);
  header(w, e);
  if (valid) w.bool(2, true);
  w.uint32(3, priceScale);
  w.uint32(4, sizeScale);
  for (const [field, levels] of [
    [5, bids],
    [6, asks],
  ] as const) {
    for (const l of levels) {
      w.begin(field);
      w.sint64(1, l.price);
      w.uint64(2, l.size);
      w.end();
    }
  }
  w.end();
  w.end();
}

/** Appends an `Instrument` entry. */
export function writeInstrument(w: ProtoWriter, i: Instrument): void {
  w.begin(1);
  w.begin(EVENT_FIELD.instrument);
  w.string(1, i.venue);
  w.string(2, i.symbol);
  w.uint32(3, i.priceScale);
  w.uint32(4, i.sizeScale);
  w.string(5, i.kind ?? '');
  if (i.tickSize !== undefined) w.sint64(6, i.tickSize, true);
  if (i.lotSize !== undefined) w.uint64(7, i.lotSize, true);
  if (i.minSize !== undefined) w.uint64(8, i.minSize, true);
  w.string(9, i.baseCurrency ?? '');
  w.string(10, i.quoteCurrency ?? '');
  w.string(11, i.multiplier ?? '');
  if (i.expiry !== undefined) w.sfixed64(12, i.expiry, true);
  if (i.instrumentId !== undefined) w.uint64(13, i.instrumentId, true);
  for (const [k, v] of Object.entries(i.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    w.begin(14);
    w.string(1, k, true);
    w.string(2, v, true);
    w.end();
  }
  w.end();
  w.end();
}

/** Appends `EventBatch.dropped`. */
export function writeDropped(w: ProtoWriter, dropped: number): void {
  if (dropped > 0) w.uint64(2, BigInt(dropped));
}

// ---- decoding (the Node client) -------------------------------------------------------------

/** Thrown for bytes that are not an `EventBatch` this client understands. */
export class WireError extends Error {
  readonly code = 'MDCAP_ERR_PROTOCOL';
}

class Reader {
  pos: number;
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A varint as a number (exact below 2^53; larger values go through {@link varintBig}). */
  varint(): number {
    const b = this.buf;
    let p = this.pos;
    let x = b[p++]!;
    if (x < 0x80) {
      this.pos = p;
      return x;
    }
    x &= 0x7f;
    let mul = 0x80;
    for (;;) {
      if (p >= this.end) throw new WireError('truncated varint');
      const c = b[p++]!;
      x += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 0x80;
      if (mul > 2 ** 63) throw new WireError('varint longer than 10 bytes');
    }
    this.pos = p;
    return x;
  }

  varintBig(): bigint {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const c = this.buf[this.pos++]!;
      x |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) return BigInt.asUintN(64, x);
      shift += 7n;
      if (shift > 63n) throw new WireError('varint longer than 10 bytes');
    }
  }

  /** uint64 as bigint, exact for every value. */
  uint64(): bigint {
    const start = this.pos;
    const n = this.varint();
    if (n <= Number.MAX_SAFE_INTEGER) return BigInt(n);
    this.pos = start;
    return this.varintBig();
  }

  sint64(): bigint {
    const start = this.pos;
    const n = this.varint();
    if (n <= Number.MAX_SAFE_INTEGER) return BigInt(n % 2 === 0 ? n / 2 : -(n + 1) / 2);
    this.pos = start;
    const z = this.varintBig();
    return (z >> 1n) ^ -(z & 1n);
  }

  sfixed64(): bigint {
    if (this.pos + 8 > this.end) throw new WireError('truncated fixed64');
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  string(): string {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new WireError('truncated string');
    this.pos = end;
    if (len < 24) {
      let ascii = '';
      for (let i = start; i < end; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, len).toString('utf8');
        ascii += String.fromCharCode(c);
      }
      return ascii;
    }
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, len).toString('utf8');
  }

  /** The end of a length-delimited field starting here. */
  sub(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw new WireError('truncated message');
    return end;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varintBig();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.pos = this.sub();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }
}

interface Head {
  venue: string;
  symbol: string;
  tsEvent: bigint;
  tsRecv: bigint;
  seq: bigint | null;
}

function readHeader(r: Reader, end: number): Head {
  const h: Head = { venue: '', symbol: '', tsEvent: 0n, tsRecv: 0n, seq: null };
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        h.venue = r.string();
        break;
      case 0x12:
        h.symbol = r.string();
        break;
      case 0x19:
        h.tsEvent = r.sfixed64();
        break;
      case 0x21:
        h.tsRecv = r.sfixed64();
        break;
      case 0x28:
        h.seq = r.uint64();
        break;
      default:
        r.skip(t & 7);
    }
  }
  return h;
}

function enumAt<T>(values: readonly T[], n: number, what: string): T {
  const v = values[n];
  if (v === undefined) throw new WireError(`${what}: unknown value ${n}`);
  return v;
}

/** Decodes one `EventBatch` into stream items (in order) and its `dropped` count. */
export function decodeBatch(buf: Uint8Array, out: StreamItem[] = []): { items: StreamItem[]; dropped: bigint } {
  const r = new Reader(buf, 0, buf.length);
  let dropped = 0n;
  while (r.pos < r.end) {
    const t = r.varint();
    if (t === 0x0a) {
      const end = r.sub();
      while (r.pos < end) {
        const k = r.varint();
        if ((k & 7) !== 2) {
          r.skip(k & 7);
          continue;
        }
        const msgEnd = r.sub();
        const item = decodeItem(r, k >>> 3, msgEnd);
        if (item !== null) out.push(item);
        r.pos = msgEnd;
      }
    } else if (t === 0x10) {
      dropped = r.uint64();
    } else {
      r.skip(t & 7);
    }
  }
  return { items: out, dropped };
}

function decodeItem(r: Reader, kind: number, end: number): StreamItem | null {
  switch (kind) {
    case 1:
      return decodeTrade(r, end);
    case 2:
      return decodeQuote(r, end);
    case 3:
      return decodeBook(r, end);
    case 4:
      return decodeOrder(r, end);
    case 5:
      return decodeBar(r, end);
    case 6:
      return decodeStatus(r, end);
    case 7:
      return decodeSnapshot(r, end);
    case 8:
      return decodeInstrument(r, end);
    default:
      return null; // a kind newer than this client
  }
}

const NO_HEAD: Head = { venue: '', symbol: '', tsEvent: 0n, tsRecv: 0n, seq: null };

function decodeTrade(r: Reader, end: number): MarketEvent {
  let h = NO_HEAD;
  let price = 0n;
  let size = 0n;
  let priceScale = 0;
  let sizeScale = 0;
  let side = 0;
  let tradeId: string | null = null;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        h = readHeader(r, r.sub());
        break;
      case 0x10:
        price = r.sint64();
        break;
      case 0x18:
        size = r.uint64();
        break;
      case 0x20:
        priceScale = r.varint();
        break;
      case 0x28:
        sizeScale = r.varint();
        break;
      case 0x30:
        side = r.varint();
        break;
      case 0x3a:
        tradeId = r.string();
        break;
      default:
        r.skip(t & 7);
    }
  }
  return {
    type: 'trade',
    venue: h.venue,
    symbol: h.symbol,
    tsEvent: h.tsEvent,
    tsRecv: h.tsRecv,
    seq: h.seq,
    price,
    size,
    priceScale,
    sizeScale,
    side: enumAt(SIDES, side, 'Trade.side'),
    tradeId,
  };
}

function decodeQuote(r: Reader, end: number): MarketEvent {
  let h = NO_HEAD;
  let bidPrice: bigint | null = null;
  let bidSize = 0n;
  let askPrice: bigint | null = null;
  let askSize = 0n;
  let priceScale = 0;
  let sizeScale = 0;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        h = readHeader(r, r.sub());
        break;
      case 0x10:
        bidPrice = r.sint64();
        break;
      case 0x18:
        bidSize = r.uint64();
        break;
      case 0x20:
        askPrice = r.sint64();
        break;
      case 0x28:
        askSize = r.uint64();
        break;
      case 0x30:
        priceScale = r.varint();
        break;
      case 0x38:
        sizeScale = r.varint();
        break;
      default:
        r.skip(t & 7);
    }
  }
  return { type: 'quote', ...h, bidPrice, bidSize, askPrice, askSize, priceScale, sizeScale };
}

function decodeBook(r: Reader, end: number): MarketEvent {
  let h = NO_HEAD;
  let side = 0;
  let price = 0n;
  let size = 0n;
  let priceScale = 0;
  let sizeScale = 0;
  let flags = 0;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        h = readHeader(r, r.sub());
        break;
      case 0x10:
        side = r.varint();
        break;
      case 0x18:
        price = r.sint64();
        break;
      case 0x20:
        size = r.uint64();
        break;
      case 0x28:
        priceScale = r.varint();
        break;
      case 0x30:
        sizeScale = r.varint();
        break;
      case 0x38:
        flags = r.varint();
        break;
      default:
        r.skip(t & 7);
    }
  }
  return {
    type: 'book',
    venue: h.venue,
    symbol: h.symbol,
    tsEvent: h.tsEvent,
    tsRecv: h.tsRecv,
    seq: h.seq,
    side: enumAt(BOOK_SIDES, side, 'BookUpdate.side'),
    price,
    size,
    priceScale,
    sizeScale,
    flags,
  };
}

function decodeOrder(r: Reader, end: number): MarketEvent {
  let h = NO_HEAD;
  let action = 0;
  let orderId: bigint | string = 0n;
  let side = 0;
  let price = 0n;
  let size = 0n;
  let priceScale = 0;
  let sizeScale = 0;
  let flags = 0;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        h = readHeader(r, r.sub());
        break;
      case 0x10:
        action = r.varint();
        break;
      case 0x18:
        orderId = r.uint64();
        break;
      case 0x22:
        orderId = r.string();
        break;
      case 0x2a:
        orderId = BigInt(r.string());
        break;
      case 0x30:
        side = r.varint();
        break;
      case 0x38:
        price = r.sint64();
        break;
      case 0x40:
        size = r.uint64();
        break;
      case 0x48:
        priceScale = r.varint();
        break;
      case 0x50:
        sizeScale = r.varint();
        break;
      case 0x58:
        flags = r.varint();
        break;
      default:
        r.skip(t & 7);
    }
  }
  return {
    type: 'order',
    ...h,
    action: enumAt(ACTIONS, action, 'OrderUpdate.action'),
    orderId,
    side: enumAt(BOOK_SIDES, side, 'OrderUpdate.side'),
    price,
    size,
    priceScale,
    sizeScale,
    flags,
  };
}

function decodeBar(r: Reader, end: number): MarketEvent {
  let h = NO_HEAD;
  let interval = 0;
  let start = 0n;
  let stop = 0n;
  let open = 0n;
  let high = 0n;
  let low = 0n;
  let close = 0n;
  let volume = 0n;
  let trades = 0;
  let priceScale = 0;
  let sizeScale = 0;
  let flags = 0;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        h = readHeader(r, r.sub());
        break;
      case 0x10:
        interval = r.varint();
        break;
      case 0x19:
        start = r.sfixed64();
        break;
      case 0x21:
        stop = r.sfixed64();
        break;
      case 0x28:
        open = r.sint64();
        break;
      case 0x30:
        high = r.sint64();
        break;
      case 0x38:
        low = r.sint64();
        break;
      case 0x40:
        close = r.sint64();
        break;
      case 0x48:
        volume = r.uint64();
        break;
      case 0x50:
        trades = r.varint();
        break;
      case 0x58:
        priceScale = r.varint();
        break;
      case 0x60:
        sizeScale = r.varint();
        break;
      case 0x68:
        flags = r.varint();
        break;
      default:
        r.skip(t & 7);
    }
  }
  return { type: 'bar', ...h, interval, start, end: stop, open, high, low, close, volume, trades, priceScale, sizeScale, flags };
}

function decodeStatus(r: Reader, end: number): MarketEvent {
  let h = NO_HEAD;
  let kind = '';
  let fromSeq: bigint | null = null;
  let toSeq: bigint | null = null;
  let ok: boolean | null = null;
  let detail = '';
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        h = readHeader(r, r.sub());
        break;
      case 0x12:
        kind = r.string();
        break;
      case 0x18:
        fromSeq = r.uint64();
        break;
      case 0x20:
        toSeq = r.uint64();
        break;
      case 0x2a:
        fromSeq = BigInt(r.string());
        break;
      case 0x32:
        toSeq = BigInt(r.string());
        break;
      case 0x38:
        ok = r.varint() !== 0;
        break;
      case 0x42:
        detail = r.string();
        break;
      default:
        r.skip(t & 7);
    }
  }
  return { type: 'status', ...h, kind: kind as Extract<MarketEvent, { type: 'status' }>['kind'], fromSeq, toSeq, ok, detail };
}

function decodeLevel(r: Reader, end: number): Level {
  let price = 0n;
  let size = 0n;
  while (r.pos < end) {
    const t = r.varint();
    if (t === 0x08) price = r.sint64();
    else if (t === 0x10) size = r.uint64();
    else r.skip(t & 7);
  }
  return { price, size };
}

function decodeSnapshot(r: Reader, end: number): BookSnapshot {
  let h = NO_HEAD;
  let valid = false;
  let priceScale = 0;
  let sizeScale = 0;
  const bids: Level[] = [];
  const asks: Level[] = [];
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        h = readHeader(r, r.sub());
        break;
      case 0x10:
        valid = r.varint() !== 0;
        break;
      case 0x18:
        priceScale = r.varint();
        break;
      case 0x20:
        sizeScale = r.varint();
        break;
      case 0x2a:
        bids.push(decodeLevel(r, r.sub()));
        break;
      case 0x32:
        asks.push(decodeLevel(r, r.sub()));
        break;
      default:
        r.skip(t & 7);
    }
  }
  return { type: 'snapshot', ...h, valid, priceScale, sizeScale, bids, asks };
}

function decodeInstrument(r: Reader, end: number): InstrumentItem {
  const i: { -readonly [K in keyof Instrument]-?: Instrument[K] | undefined } & {
    venue: string;
    symbol: string;
    priceScale: number;
    sizeScale: number;
  } = {
    venue: '',
    symbol: '',
    priceScale: 0,
    sizeScale: 0,
  } as never;
  const extra: Record<string, string> = {};
  let hasExtra = false;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case 0x0a:
        i.venue = r.string();
        break;
      case 0x12:
        i.symbol = r.string();
        break;
      case 0x18:
        i.priceScale = r.varint();
        break;
      case 0x20:
        i.sizeScale = r.varint();
        break;
      case 0x2a: {
        const k = r.string();
        if (k !== '') i.kind = k as Instrument['kind'];
        break;
      }
      case 0x30:
        i.tickSize = r.sint64();
        break;
      case 0x38:
        i.lotSize = r.uint64();
        break;
      case 0x40:
        i.minSize = r.uint64();
        break;
      case 0x4a:
        i.baseCurrency = r.string();
        break;
      case 0x52:
        i.quoteCurrency = r.string();
        break;
      case 0x5a:
        i.multiplier = r.string();
        break;
      case 0x61:
        i.expiry = r.sfixed64();
        break;
      case 0x68:
        i.instrumentId = r.uint64();
        break;
      case 0x72: {
        const e = r.sub();
        let k = '';
        let v = '';
        while (r.pos < e) {
          const f = r.varint();
          if (f === 0x0a) k = r.string();
          else if (f === 0x12) v = r.string();
          else r.skip(f & 7);
        }
        extra[k] = v;
        hasExtra = true;
        break;
      }
      default:
        r.skip(t & 7);
    }
  }
  for (const f of ['baseCurrency', 'quoteCurrency', 'multiplier'] as const) if (i[f] === '') delete i[f];
  if (hasExtra) i.extra = extra;
  return { type: 'instrument', instrument: i as Instrument };
}
