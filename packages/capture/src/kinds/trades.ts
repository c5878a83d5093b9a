import type { RecordBatch } from 'apache-arrow';
import type { AggressorSide, MarketEvent, Trade, TradeColumns } from '@mdcap/core';
import { DictColumn, Utf8Column } from '../columns.js';
import type { ColumnBuilder } from '../columns.js';
import { PricedBuilder, col, dictStrings, TextColumn, typed } from './common.js';
import type { DecodedBatch, DecodedHead } from './common.js';

/** The `trades` codec: events into Arrow columns (below: back into events). */
export class TradeBuilder extends PricedBuilder {
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

/** Decodes a record batch of `trades`. */
export function decodeTrades(batch: RecordBatch, h: DecodedHead, seqAt: (i: number) => bigint | null): DecodedBatch {
  const { tsRecv, tsEvent, venueCodes, venues, symbolCodes, symbols } = h;
  const price = typed<BigInt64Array>(col(batch, 'price'));
  const size = typed<BigInt64Array>(col(batch, 'size'));
  const ps = typed<Uint8Array>(col(batch, 'price_scale'));
  const ss = typed<Uint8Array>(col(batch, 'size_scale'));
  const sideCol = col(batch, 'side');
  const sideCodes = typed<Int32Array>(sideCol);
  const sides = dictStrings(sideCol) as AggressorSide[];
  const ids = new TextColumn(col(batch, 'trade_id'));
  const event = (i: number): Trade => ({
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
  });
  const trades: TradeColumns = {
    tsRecv,
    tsEvent,
    price,
    size,
    priceScale: ps,
    sizeScale: ss,
    venueCodes,
    venues,
    symbolCodes,
    symbols,
    sideCodes,
    sides,
    trade: event,
    seqAt,
    tradeIdAt: (i: number): string | null => ids.at(i),
  };
  return { ...h, event, trades };
}
