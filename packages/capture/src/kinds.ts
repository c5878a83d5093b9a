import { Table } from 'apache-arrow';
import type { Data, RecordBatch } from 'apache-arrow';
import type {
  AggressorSide,
  Bar,
  BookSide,
  BookUpdate,
  EventType,
  MarketEvent,
  OrderAction,
  OrderUpdate,
  Quote,
  Status,
  StatusKind,
  Trade,
} from '@mdcap/core';
import { BoolColumn, DictColumn, I32Column, I64Column, U64Column, UIntColumn, Utf8Column } from './columns.js';
import type { ColumnBuilder } from './columns.js';

/**
 * One table per event kind. Every table has the same leading columns:
 *
 * | column | Arrow / Parquet | meaning |
 * | --- | --- | --- |
 * | `ts_recv` | timestamp[ns] (TIMESTAMP_NS, UTC) | local receive time |
 * | `ts_event` | timestamp[ns] | venue time |
 * | `recv_seq` | uint64 | the capture's arrival counter: replay order within a capture |
 * | `venue`, `symbol` | dictionary<int32, utf8> | |
 * | `seq` | uint64, nullable | the venue's sequence number |
 *
 * Prices and sizes are int64 mantissas; `price_scale`/`size_scale` (uint8) hold their decimal
 * scale per row (constant per instrument in practice, so they cost nothing after encoding).
 */

export type CaptureKind = 'trades' | 'quotes' | 'book_updates' | 'order_updates' | 'status' | 'bars';

export const CAPTURE_KINDS: readonly CaptureKind[] = ['trades', 'quotes', 'book_updates', 'order_updates', 'status', 'bars'];

export const KIND_OF: Readonly<Record<EventType, CaptureKind>> = {
  trade: 'trades',
  quote: 'quotes',
  book: 'book_updates',
  order: 'order_updates',
  status: 'status',
  bar: 'bars',
};

/** Schema version of the tables and the manifest; a reader refuses a newer one. */
export const SCHEMA_VERSION = 1;

/** Builds one kind's columns from events. */
export interface RowBuilder {
  readonly kind: CaptureKind;
  readonly rows: number;
  append(e: MarketEvent, recvSeq: bigint): void;
  /** The buffered rows as an Arrow table (zero-copy over the builders). */
  table(): Table;
  reset(): void;
}

abstract class BaseBuilder implements RowBuilder {
  abstract readonly kind: CaptureKind;
  protected readonly tsRecv = new I64Column('timestamp');
  protected readonly tsEvent = new I64Column('timestamp');
  protected readonly recvSeq = new U64Column();
  protected readonly venue = new DictColumn();
  protected readonly symbol = new DictColumn();
  protected readonly seq = new U64Column(true);

  get rows(): number {
    return this.tsRecv.length;
  }

  protected head(e: MarketEvent, recvSeq: bigint): void {
    this.tsRecv.push(e.tsRecv);
    this.tsEvent.push(e.tsEvent);
    this.recvSeq.push(recvSeq);
    this.venue.push(e.venue);
    this.symbol.push(e.symbol);
    this.seq.push(e.seq);
  }

  abstract append(e: MarketEvent, recvSeq: bigint): void;
  protected abstract columns(): Record<string, ColumnBuilder>;

  table(): Table {
    const cols: Record<string, ColumnBuilder> = {
      ts_recv: this.tsRecv,
      ts_event: this.tsEvent,
      recv_seq: this.recvSeq,
      venue: this.venue,
      symbol: this.symbol,
      seq: this.seq,
      ...this.columns(),
    };
    const data: Record<string, Data> = {};
    for (const [name, c] of Object.entries(cols)) data[name] = c.data();
    const t = new Table(data);
    t.schema.metadata.set('mdcap.kind', this.kind);
    t.schema.metadata.set('mdcap.schema', String(SCHEMA_VERSION));
    return t;
  }

  reset(): void {
    for (const c of [this.tsRecv, this.tsEvent, this.recvSeq, this.venue, this.symbol, this.seq, ...Object.values(this.columns())])
      c.reset();
  }
}

/** Kinds with one price and one size (trades, book and order updates). */
abstract class PricedBuilder extends BaseBuilder {
  private readonly price = new I64Column('int64');
  private readonly size = new I64Column('int64');
  private readonly priceScale = new UIntColumn(8);
  private readonly sizeScale = new UIntColumn(8);

  protected priced(e: Trade | BookUpdate | OrderUpdate): void {
    this.price.push(e.price);
    this.size.push(e.size);
    this.priceScale.push(e.priceScale);
    this.sizeScale.push(e.sizeScale);
  }

  /** `price, size, price_scale, size_scale`, in that order. */
  protected pricedColumns(): Record<string, ColumnBuilder> {
    return { price: this.price, size: this.size, price_scale: this.priceScale, size_scale: this.sizeScale };
  }
}

class TradeBuilder extends PricedBuilder {
  readonly kind = 'trades';
  private readonly side = new DictColumn();
  private readonly tradeId = new Utf8Column();

  append(e: MarketEvent, recvSeq: bigint): void {
    const t = e as Trade;
    this.head(t, recvSeq);
    this.priced(t);
    this.side.push(t.side);
    this.tradeId.push(t.tradeId);
  }

  protected columns(): Record<string, ColumnBuilder> {
    return { ...this.pricedColumns(), side: this.side, trade_id: this.tradeId };
  }
}

class QuoteBuilder extends BaseBuilder {
  readonly kind = 'quotes';
  private readonly bidPrice = new I64Column('int64', true);
  private readonly bidSize = new I64Column('int64');
  private readonly askPrice = new I64Column('int64', true);
  private readonly askSize = new I64Column('int64');
  private readonly priceScale = new UIntColumn(8);
  private readonly sizeScale = new UIntColumn(8);

  append(e: MarketEvent, recvSeq: bigint): void {
    const q = e as Quote;
    this.head(q, recvSeq);
    if (q.bidPrice === null) this.bidPrice.pushNull();
    else this.bidPrice.push(q.bidPrice);
    this.bidSize.push(q.bidSize);
    if (q.askPrice === null) this.askPrice.pushNull();
    else this.askPrice.push(q.askPrice);
    this.askSize.push(q.askSize);
    this.priceScale.push(q.priceScale);
    this.sizeScale.push(q.sizeScale);
  }

  protected columns(): Record<string, ColumnBuilder> {
    return {
      bid_price: this.bidPrice,
      bid_size: this.bidSize,
      ask_price: this.askPrice,
      ask_size: this.askSize,
      price_scale: this.priceScale,
      size_scale: this.sizeScale,
    };
  }
}

class BookBuilder extends PricedBuilder {
  readonly kind = 'book_updates';
  private readonly side = new DictColumn();
  private readonly flags = new UIntColumn(16);

  append(e: MarketEvent, recvSeq: bigint): void {
    const u = e as BookUpdate;
    this.head(u, recvSeq);
    this.side.push(u.side);
    this.priced(u);
    this.flags.push(u.flags);
  }

  protected columns(): Record<string, ColumnBuilder> {
    return { side: this.side, ...this.pricedColumns(), flags: this.flags };
  }
}

class OrderBuilder extends PricedBuilder {
  readonly kind = 'order_updates';
  private readonly action = new DictColumn();
  private readonly orderId = new Utf8Column();
  private readonly orderIdIsInt = new BoolColumn();
  private readonly side = new DictColumn();
  private readonly flags = new UIntColumn(16);

  append(e: MarketEvent, recvSeq: bigint): void {
    const o = e as OrderUpdate;
    this.head(o, recvSeq);
    this.action.push(o.action);
    this.orderId.push(o.orderId.toString());
    this.orderIdIsInt.push(typeof o.orderId === 'bigint');
    this.side.push(o.side);
    this.priced(o);
    this.flags.push(o.flags);
  }

  protected columns(): Record<string, ColumnBuilder> {
    return {
      action: this.action,
      order_id: this.orderId,
      order_id_is_int: this.orderIdIsInt,
      side: this.side,
      ...this.pricedColumns(),
      flags: this.flags,
    };
  }
}

class StatusBuilder extends BaseBuilder {
  readonly kind = 'status';
  private readonly statusKind = new DictColumn();
  private readonly fromSeq = new U64Column(true);
  private readonly toSeq = new U64Column(true);
  private readonly ok = new BoolColumn();
  private readonly detail = new Utf8Column();

  append(e: MarketEvent, recvSeq: bigint): void {
    const s = e as Status;
    this.head(s, recvSeq);
    this.statusKind.push(s.kind);
    this.fromSeq.push(s.fromSeq);
    this.toSeq.push(s.toSeq);
    this.ok.push(s.ok);
    this.detail.push(s.detail);
  }

  protected columns(): Record<string, ColumnBuilder> {
    return { kind: this.statusKind, from_seq: this.fromSeq, to_seq: this.toSeq, ok: this.ok, detail: this.detail };
  }
}

class BarBuilder extends BaseBuilder {
  readonly kind = 'bars';
  private readonly interval = new I32Column();
  private readonly start = new I64Column('timestamp');
  private readonly end = new I64Column('timestamp');
  private readonly open = new I64Column('int64');
  private readonly high = new I64Column('int64');
  private readonly low = new I64Column('int64');
  private readonly close = new I64Column('int64');
  private readonly volume = new I64Column('int64');
  private readonly trades = new UIntColumn(32);
  private readonly priceScale = new UIntColumn(8);
  private readonly sizeScale = new UIntColumn(8);
  private readonly flags = new UIntColumn(16);

  append(e: MarketEvent, recvSeq: bigint): void {
    const b = e as Bar;
    this.head(b, recvSeq);
    this.interval.push(b.interval);
    this.start.push(b.start);
    this.end.push(b.end);
    this.open.push(b.open);
    this.high.push(b.high);
    this.low.push(b.low);
    this.close.push(b.close);
    this.volume.push(b.volume);
    this.trades.push(b.trades);
    this.priceScale.push(b.priceScale);
    this.sizeScale.push(b.sizeScale);
    this.flags.push(b.flags);
  }

  protected columns(): Record<string, ColumnBuilder> {
    return {
      interval: this.interval,
      start: this.start,
      end: this.end,
      open: this.open,
      high: this.high,
      low: this.low,
      close: this.close,
      volume: this.volume,
      trades: this.trades,
      price_scale: this.priceScale,
      size_scale: this.sizeScale,
      flags: this.flags,
    };
  }
}

export function createRowBuilder(kind: CaptureKind): RowBuilder {
  switch (kind) {
    case 'trades':
      return new TradeBuilder();
    case 'quotes':
      return new QuoteBuilder();
    case 'book_updates':
      return new BookBuilder();
    case 'order_updates':
      return new OrderBuilder();
    case 'status':
      return new StatusBuilder();
    case 'bars':
      return new BarBuilder();
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding: a record batch becomes typed arrays, and events are built from them row by row.

type Col = Data;

function col(batch: RecordBatch, name: string): Col {
  const child = batch.getChild(name);
  if (child === null || child.data.length !== 1) throw new Error(`no column ${name} (not written by mdcap?)`);
  return child.data[0] as Col;
}

function isValid(d: Col, i: number): boolean {
  const bm = d.nullBitmap;
  if (bm === undefined || bm === null || bm.length === 0 || d.nullCount === 0) return true;
  const j = d.offset + i;
  return ((bm[j >> 3]! >> (j & 7)) & 1) === 1;
}

function dictStrings(d: Col): string[] {
  const dict = d.dictionary;
  if (dict === undefined) throw new Error('dictionary column without a dictionary');
  return dict.toArray() as string[];
}

const utf8 = new TextDecoder();

/** Reads Utf8 values without a JS decoder call when the bytes are ASCII (ids usually are). */
class TextColumn {
  private readonly offsets: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(private readonly d: Col) {
    this.offsets = d.valueOffsets as Int32Array;
    this.bytes = d.values as Uint8Array;
  }

  at(i: number): string | null {
    if (!isValid(this.d, i)) return null;
    const j = this.d.offset + i;
    const a = this.offsets[j]!;
    const b = this.offsets[j + 1]!;
    const bytes = this.bytes;
    if (b - a <= 32) {
      let s = '';
      for (let k = a; k < b; k++) {
        const c = bytes[k]!;
        if (c >= 0x80) return utf8.decode(bytes.subarray(a, b));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(bytes.subarray(a, b));
  }
}

/** The common columns of a decoded batch. */
export interface DecodedHead {
  readonly kind: CaptureKind;
  readonly length: number;
  readonly tsRecv: BigInt64Array;
  readonly tsEvent: BigInt64Array;
  readonly recvSeq: BigUint64Array;
  readonly venueCodes: Int32Array;
  readonly venues: readonly string[];
  readonly symbolCodes: Int32Array;
  readonly symbols: readonly string[];
  /** recv_seq of row `i` as a number (exact below 2^53), without allocating a bigint. */
  recvSeqNumber(i: number): number;
}

/** A decoded batch of one kind: typed arrays, plus `event(i)` to build row `i`'s event. */
export interface DecodedBatch extends DecodedHead {
  event(i: number): MarketEvent;
}

function typed<T>(d: Col): T {
  const v = d.values as unknown as { subarray(a: number, b: number): T };
  return d.offset === 0 ? (d.values as T) : v.subarray(d.offset, d.offset + d.length);
}

function decodeHead(kind: CaptureKind, batch: RecordBatch): DecodedHead & { seqCol: Col; seq: BigUint64Array } {
  const venue = col(batch, 'venue');
  const symbol = col(batch, 'symbol');
  const seqCol = col(batch, 'seq');
  const recvSeq = typed<BigUint64Array>(col(batch, 'recv_seq'));
  const words = new Uint32Array(recvSeq.buffer, recvSeq.byteOffset, recvSeq.length * 2);
  return {
    kind,
    length: batch.numRows,
    tsRecv: typed<BigInt64Array>(col(batch, 'ts_recv')),
    tsEvent: typed<BigInt64Array>(col(batch, 'ts_event')),
    recvSeq,
    recvSeqNumber: (i: number): number => words[2 * i]! + words[2 * i + 1]! * 4294967296,
    venueCodes: typed<Int32Array>(venue),
    venues: dictStrings(venue),
    symbolCodes: typed<Int32Array>(symbol),
    symbols: dictStrings(symbol),
    seqCol,
    seq: typed<BigUint64Array>(seqCol),
  };
}

/** Decodes a record batch of `kind` (from a segment or a Parquet file). */
export function decodeBatch(kind: CaptureKind, batch: RecordBatch): DecodedBatch {
  const h = decodeHead(kind, batch);
  const { tsRecv, tsEvent, venueCodes, venues, symbolCodes, symbols, seqCol, seq } = h;
  const seqAt =
    seqCol.nullCount === 0 ? (i: number): bigint | null => seq[i]! : (i: number): bigint | null => (isValid(seqCol, i) ? seq[i]! : null);
  switch (kind) {
    case 'trades': {
      const price = typed<BigInt64Array>(col(batch, 'price'));
      const size = typed<BigInt64Array>(col(batch, 'size'));
      const ps = typed<Uint8Array>(col(batch, 'price_scale'));
      const ss = typed<Uint8Array>(col(batch, 'size_scale'));
      const sideCol = col(batch, 'side');
      const sideCodes = typed<Int32Array>(sideCol);
      const sides = dictStrings(sideCol) as AggressorSide[];
      const ids = new TextColumn(col(batch, 'trade_id'));
      return {
        ...h,
        event: (i: number): Trade => ({
          type: 'trade',
          venue: venues[venueCodes[i]!]!,
          symbol: symbols[symbolCodes[i]!]!,
          tsEvent: tsEvent[i]!,
          tsRecv: tsRecv[i]!,
          seq: seqAt(i),
          price: price[i]!,
          size: size[i]!,
          priceScale: ps[i]!,
          sizeScale: ss[i]!,
          side: sides[sideCodes[i]!]!,
          tradeId: ids.at(i),
        }),
      };
    }
    case 'quotes': {
      const bpCol = col(batch, 'bid_price');
      const apCol = col(batch, 'ask_price');
      const bp = typed<BigInt64Array>(bpCol);
      const ap = typed<BigInt64Array>(apCol);
      const bs = typed<BigInt64Array>(col(batch, 'bid_size'));
      const as = typed<BigInt64Array>(col(batch, 'ask_size'));
      const ps = typed<Uint8Array>(col(batch, 'price_scale'));
      const ss = typed<Uint8Array>(col(batch, 'size_scale'));
      return {
        ...h,
        event: (i: number): Quote => ({
          type: 'quote',
          venue: venues[venueCodes[i]!]!,
          symbol: symbols[symbolCodes[i]!]!,
          tsEvent: tsEvent[i]!,
          tsRecv: tsRecv[i]!,
          seq: seqAt(i),
          bidPrice: isValid(bpCol, i) ? bp[i]! : null,
          bidSize: bs[i]!,
          askPrice: isValid(apCol, i) ? ap[i]! : null,
          askSize: as[i]!,
          priceScale: ps[i]!,
          sizeScale: ss[i]!,
        }),
      };
    }
    case 'book_updates': {
      const sideCol = col(batch, 'side');
      const sideCodes = typed<Int32Array>(sideCol);
      const sides = dictStrings(sideCol) as BookSide[];
      const price = typed<BigInt64Array>(col(batch, 'price'));
      const size = typed<BigInt64Array>(col(batch, 'size'));
      const ps = typed<Uint8Array>(col(batch, 'price_scale'));
      const ss = typed<Uint8Array>(col(batch, 'size_scale'));
      const flags = typed<Uint16Array>(col(batch, 'flags'));
      return {
        ...h,
        event: (i: number): BookUpdate => ({
          type: 'book',
          venue: venues[venueCodes[i]!]!,
          symbol: symbols[symbolCodes[i]!]!,
          tsEvent: tsEvent[i]!,
          tsRecv: tsRecv[i]!,
          seq: seqAt(i),
          side: sides[sideCodes[i]!]!,
          price: price[i]!,
          size: size[i]!,
          priceScale: ps[i]!,
          sizeScale: ss[i]!,
          flags: flags[i]!,
        }),
      };
    }
    case 'order_updates': {
      const actionCol = col(batch, 'action');
      const actionCodes = typed<Int32Array>(actionCol);
      const actions = dictStrings(actionCol) as OrderAction[];
      const ids = new TextColumn(col(batch, 'order_id'));
      const isIntCol = col(batch, 'order_id_is_int');
      const isInt = isIntCol.values as Uint8Array;
      const sideCol = col(batch, 'side');
      const sideCodes = typed<Int32Array>(sideCol);
      const sides = dictStrings(sideCol) as BookSide[];
      const price = typed<BigInt64Array>(col(batch, 'price'));
      const size = typed<BigInt64Array>(col(batch, 'size'));
      const ps = typed<Uint8Array>(col(batch, 'price_scale'));
      const ss = typed<Uint8Array>(col(batch, 'size_scale'));
      const flags = typed<Uint16Array>(col(batch, 'flags'));
      return {
        ...h,
        event: (i: number): OrderUpdate => {
          const j = isIntCol.offset + i;
          const text = ids.at(i) ?? '';
          return {
            type: 'order',
            venue: venues[venueCodes[i]!]!,
            symbol: symbols[symbolCodes[i]!]!,
            tsEvent: tsEvent[i]!,
            tsRecv: tsRecv[i]!,
            seq: seqAt(i),
            action: actions[actionCodes[i]!]!,
            orderId: ((isInt[j >> 3]! >> (j & 7)) & 1) === 1 ? BigInt(text) : text,
            side: sides[sideCodes[i]!]!,
            price: price[i]!,
            size: size[i]!,
            priceScale: ps[i]!,
            sizeScale: ss[i]!,
            flags: flags[i]!,
          };
        },
      };
    }
    case 'status': {
      const kindCol = col(batch, 'kind');
      const kindCodes = typed<Int32Array>(kindCol);
      const kinds = dictStrings(kindCol) as StatusKind[];
      const fromCol = col(batch, 'from_seq');
      const toCol = col(batch, 'to_seq');
      const from = typed<BigUint64Array>(fromCol);
      const to = typed<BigUint64Array>(toCol);
      const okCol = col(batch, 'ok');
      const okBits = okCol.values as Uint8Array;
      const detail = new TextColumn(col(batch, 'detail'));
      return {
        ...h,
        event: (i: number): Status => {
          const j = okCol.offset + i;
          return {
            type: 'status',
            venue: venues[venueCodes[i]!]!,
            symbol: symbols[symbolCodes[i]!]!,
            tsEvent: tsEvent[i]!,
            tsRecv: tsRecv[i]!,
            seq: seqAt(i),
            kind: kinds[kindCodes[i]!]!,
            fromSeq: isValid(fromCol, i) ? from[i]! : null,
            toSeq: isValid(toCol, i) ? to[i]! : null,
            ok: isValid(okCol, i) ? ((okBits[j >> 3]! >> (j & 7)) & 1) === 1 : null,
            detail: detail.at(i) ?? '',
          };
        },
      };
    }
    case 'bars': {
      const interval = typed<Int32Array>(col(batch, 'interval'));
      const start = typed<BigInt64Array>(col(batch, 'start'));
      const end = typed<BigInt64Array>(col(batch, 'end'));
      const open = typed<BigInt64Array>(col(batch, 'open'));
      const high = typed<BigInt64Array>(col(batch, 'high'));
      const low = typed<BigInt64Array>(col(batch, 'low'));
      const close = typed<BigInt64Array>(col(batch, 'close'));
      const volume = typed<BigInt64Array>(col(batch, 'volume'));
      const trades = typed<Uint32Array>(col(batch, 'trades'));
      const ps = typed<Uint8Array>(col(batch, 'price_scale'));
      const ss = typed<Uint8Array>(col(batch, 'size_scale'));
      const flags = typed<Uint16Array>(col(batch, 'flags'));
      return {
        ...h,
        event: (i: number): Bar => ({
          type: 'bar',
          venue: venues[venueCodes[i]!]!,
          symbol: symbols[symbolCodes[i]!]!,
          tsEvent: tsEvent[i]!,
          tsRecv: tsRecv[i]!,
          seq: seqAt(i),
          interval: interval[i]!,
          start: start[i]!,
          end: end[i]!,
          open: open[i]!,
          high: high[i]!,
          low: low[i]!,
          close: close[i]!,
          volume: volume[i]!,
          trades: trades[i]!,
          priceScale: ps[i]!,
          sizeScale: ss[i]!,
          flags: flags[i]!,
        }),
      };
    }
  }
}
