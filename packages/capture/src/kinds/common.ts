import { Table } from 'apache-arrow';
import type { Data, RecordBatch } from 'apache-arrow';
import type { BookUpdate, EventType, MarketEvent, OrderUpdate, Trade, TradeColumns } from '@mdcap/core';
import { DictColumn, I64Column, U64Column, UIntColumn } from '../columns.js';
import type { ColumnBuilder } from '../columns.js';

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

export abstract class BaseBuilder implements RowBuilder {
  abstract readonly kind: CaptureKind;
  protected readonly tsRecv: I64Column = new I64Column('timestamp');
  protected readonly tsEvent: I64Column = new I64Column('timestamp');
  protected readonly recvSeq: U64Column = new U64Column();
  protected readonly venue: DictColumn = new DictColumn();
  protected readonly symbol: DictColumn = new DictColumn();
  protected readonly seq: U64Column = new U64Column(true);

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
export abstract class PricedBuilder extends BaseBuilder {
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

// ---------------------------------------------------------------------------------------------
// Decoding: a record batch becomes typed arrays, and events are built from them row by row.

export type Col = Data;

export function col(batch: RecordBatch, name: string): Col {
  const child = batch.getChild(name);
  if (child === null || child.data.length !== 1) throw new Error(`no column ${name} (not written by mdcap?)`);
  return child.data[0] as Col;
}

export function isValid(d: Col, i: number): boolean {
  const bm = d.nullBitmap;
  if (bm === undefined || bm === null || bm.length === 0 || d.nullCount === 0) return true;
  const j = d.offset + i;
  return ((bm[j >> 3]! >> (j & 7)) & 1) === 1;
}

export function dictStrings(d: Col): string[] {
  const dict = d.dictionary;
  if (dict === undefined) throw new Error('dictionary column without a dictionary');
  return dict.toArray() as string[];
}

const utf8 = new TextDecoder();

/** Reads Utf8 values without a JS decoder call when the bytes are ASCII (ids usually are). */
export class TextColumn {
  private readonly offsets: Int32Array;
  private readonly bytes: Uint8Array;
  /** 0: every row valid; 1: every row null; 2: look at the bitmap (decided once per batch, not per row). */
  private readonly nulls: 0 | 1 | 2;

  constructor(private readonly d: Col) {
    this.offsets = d.valueOffsets as Int32Array;
    this.bytes = d.values as Uint8Array;
    const n = d.nullCount;
    this.nulls = n <= 0 ? 0 : n === d.length ? 1 : 2;
  }

  at(i: number): string | null {
    if (this.nulls !== 0 && (this.nulls === 1 || !isValid(this.d, i))) return null;
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
  /** A batch of trades: its columns, for column-batch dispatch (`engine.onTrades`). */
  readonly trades?: TradeColumns;
}

export function typed<T>(d: Col): T {
  const v = d.values as unknown as { subarray(a: number, b: number): T };
  return d.offset === 0 ? (d.values as T) : v.subarray(d.offset, d.offset + d.length);
}

export function decodeHead(kind: CaptureKind, batch: RecordBatch): DecodedHead & { seqCol: Col; seq: BigUint64Array } {
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
