import type { RecordBatch } from 'apache-arrow';
import type { Bar, MarketEvent } from '@mdcap/core';
import { I32Column, I64Column, UIntColumn } from '../columns.js';
import type { ColumnBuilder } from '../columns.js';
import { BaseBuilder, col, typed } from './common.js';
import type { DecodedBatch, DecodedHead } from './common.js';

/** The `bars` codec: events into Arrow columns (below: back into events). */
export class BarBuilder extends BaseBuilder {
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

/** Decodes a record batch of `bars`. */
export function decodeBars(batch: RecordBatch, h: DecodedHead, seqAt: (i: number) => bigint | null): DecodedBatch {
  const { tsRecv, tsEvent, venueCodes, venues, symbolCodes, symbols } = h;
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
