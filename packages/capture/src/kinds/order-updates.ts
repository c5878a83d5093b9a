import type { RecordBatch } from 'apache-arrow';
import type { BookSide, MarketEvent, OrderAction, OrderUpdate } from '@mdcap/core';
import { BoolColumn, DictColumn, UIntColumn, Utf8Column } from '../columns.js';
import type { ColumnBuilder } from '../columns.js';
import { PricedBuilder, col, dictStrings, TextColumn, typed } from './common.js';
import type { DecodedBatch, DecodedHead } from './common.js';

/** The `order_updates` codec: events into Arrow columns (below: back into events). */
export class OrderBuilder extends PricedBuilder {
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

/** Decodes a record batch of `order_updates`. */
export function decodeOrderUpdates(batch: RecordBatch, h: DecodedHead, seqAt: (i: number) => bigint | null): DecodedBatch {
  const { tsRecv, tsEvent, venueCodes, venues, symbolCodes, symbols } = h;
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
