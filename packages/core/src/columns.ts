import type { AggressorSide, Trade } from './events.js';

/**
 * Consecutive trades as typed columns: rows `start` to `end` (exclusive) of the arrays, in
 * dispatch order. A view handed to `engine.onTrades` callbacks and valid only during the call:
 * the arrays belong to the replay's decoded batch and the object is reused for the next batch,
 * so copy what you keep (`trade(i)` builds an immutable event of a row). Prices and sizes are
 * the exact mantissas of the event model, with their scales per row.
 *
 * ```ts
 * engine.onTrades((b) => {
 *   for (let i = b.start; i < b.end; i++) volume += b.size[i]!;
 * });
 * ```
 */
export interface TradeBatch {
  readonly start: number;
  readonly end: number;
  readonly tsRecv: BigInt64Array;
  readonly tsEvent: BigInt64Array;
  readonly price: BigInt64Array;
  readonly size: BigInt64Array;
  readonly priceScale: Uint8Array;
  readonly sizeScale: Uint8Array;
  /** Index into `venues` per row. */
  readonly venueCodes: Int32Array;
  readonly venues: readonly string[];
  /** Index into `symbols` per row. */
  readonly symbolCodes: Int32Array;
  readonly symbols: readonly string[];
  /** Index into `sides` per row. */
  readonly sideCodes: Int32Array;
  readonly sides: readonly AggressorSide[];
  /** Row `i` (an index of the arrays, from `start` to `end`) as a new immutable `Trade`. */
  trade(i: number): Trade;
  /** The venue's sequence number of row `i` (null where it has none). */
  seqAt(i: number): bigint | null;
  /** The trade id of row `i` (null where it has none). */
  tradeIdAt(i: number): string | null;
}

/** The columns of a {@link TradeBatch} without its row range: what a decoded batch of trades holds. */
export type TradeColumns = Omit<TradeBatch, 'start' | 'end'>;

/** A reusable {@link TradeBatch}: `set` points it at a row range of some columns (no allocation). */
export class TradeBatchView implements TradeBatch {
  start: number = 0;
  end: number = 0;
  tsRecv: BigInt64Array = new BigInt64Array(0);
  tsEvent: BigInt64Array = new BigInt64Array(0);
  price: BigInt64Array = new BigInt64Array(0);
  size: BigInt64Array = new BigInt64Array(0);
  priceScale: Uint8Array = new Uint8Array(0);
  sizeScale: Uint8Array = new Uint8Array(0);
  venueCodes: Int32Array = new Int32Array(0);
  venues: readonly string[] = [];
  symbolCodes: Int32Array = new Int32Array(0);
  symbols: readonly string[] = [];
  sideCodes: Int32Array = new Int32Array(0);
  sides: readonly AggressorSide[] = [];
  private source: TradeColumns | null = null;

  set(c: TradeColumns, start: number, end: number): this {
    // Every field each time: `c` may itself be a reused view now over other arrays.
    this.source = c;
    this.tsRecv = c.tsRecv;
    this.tsEvent = c.tsEvent;
    this.price = c.price;
    this.size = c.size;
    this.priceScale = c.priceScale;
    this.sizeScale = c.sizeScale;
    this.venueCodes = c.venueCodes;
    this.venues = c.venues;
    this.symbolCodes = c.symbolCodes;
    this.symbols = c.symbols;
    this.sideCodes = c.sideCodes;
    this.sides = c.sides;
    this.start = start;
    this.end = end;
    return this;
  }

  trade(i: number): Trade {
    if (this.source === null || i < this.start || i >= this.end) {
      throw new RangeError(`trade(${i}): expected a row from ${this.start} to ${this.end - 1} of this batch`);
    }
    return this.source.trade(i);
  }

  seqAt(i: number): bigint | null {
    return this.source!.seqAt(i);
  }

  tradeIdAt(i: number): string | null {
    return this.source!.tradeIdAt(i);
  }
}
