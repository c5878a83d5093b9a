import type { RecordBatch } from 'apache-arrow';
import type { MarketEvent, Quote } from '@mdcap/core';
import { I64Column, UIntColumn } from '../columns.js';
import type { ColumnBuilder } from '../columns.js';
import { BaseBuilder, col, isValid, typed } from './common.js';
import type { DecodedBatch, DecodedHead } from './common.js';

/** The `quotes` codec: events into Arrow columns (below: back into events). */
export class QuoteBuilder extends BaseBuilder {
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

/** Decodes a record batch of `quotes`. */
export function decodeQuotes(batch: RecordBatch, h: DecodedHead, seqAt: (i: number) => bigint | null): DecodedBatch {
  const { tsRecv, tsEvent, venueCodes, venues, symbolCodes, symbols } = h;
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
