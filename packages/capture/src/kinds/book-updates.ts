import type { RecordBatch } from 'apache-arrow';
import type { BookSide, BookUpdate, MarketEvent } from '@mdcap/core';
import { DictColumn, UIntColumn } from '../columns.js';
import type { ColumnBuilder } from '../columns.js';
import { PricedBuilder, col, dictStrings, typed } from './common.js';
import type { DecodedBatch, DecodedHead } from './common.js';

/** The `book_updates` codec: events into Arrow columns (below: back into events). */
export class BookBuilder extends PricedBuilder {
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

/** Decodes a record batch of `book_updates`. */
export function decodeBookUpdates(batch: RecordBatch, h: DecodedHead, seqAt: (i: number) => bigint | null): DecodedBatch {
  const { tsRecv, tsEvent, venueCodes, venues, symbolCodes, symbols } = h;
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
