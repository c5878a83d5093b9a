import type { OrderSide, PositionState } from '@mdcap/core';
import type { FeeSchedule } from './models.js';

const TEN = 10n;

export function pow10(n: number): bigint {
  return TEN ** BigInt(n);
}

/**
 * Money as decimal text at any scale (money scales may pass the 18 digits of event scales):
 * `-12345n, 3` → `"-12.345"`; trailing fraction zeros are kept unless `trim`.
 */
export function formatMoney(mantissa: bigint, scale: number, trim = true): string {
  const negative = mantissa < 0n;
  let digits = (negative ? -mantissa : mantissa).toString();
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    let int = digits.slice(0, digits.length - scale);
    let frac = digits.slice(digits.length - scale);
    if (trim) frac = frac.replace(/0+$/, '');
    if (int === '') int = '0';
    digits = frac === '' ? int : `${int}.${frac}`;
  }
  return negative && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

/** The same amount at a higher scale (exact: money never loses a digit). */
export function toScale(mantissa: bigint, from: number, to: number): bigint {
  return to === from ? mantissa : mantissa * pow10(to - from);
}

/**
 * One symbol's position and money, first in first out. Prices are at `priceScale`, the mark at
 * `priceScale + 1` (a mid is exact there), money at `moneyScale = priceScale + 1 + sizeScale + fee digits`.
 */
export class Account {
  readonly moneyScale: number;
  size = 0n;
  cash = 0n;
  realized = 0n;
  fees = 0n;
  bought = 0n;
  sold = 0n;
  turnover = 0n;
  /** Open lots (signed sizes, all of one sign) and their prices, oldest first from `head`. */
  private lotSizes: bigint[] = [];
  private lotPrices: bigint[] = [];
  private head = 0;
  /** price × size (at priceScale + sizeScale) → money. */
  private readonly notionalUp: bigint;

  constructor(
    readonly venue: string,
    readonly symbol: string,
    readonly priceScale: number,
    readonly sizeScale: number,
    readonly fee: FeeSchedule,
  ) {
    this.moneyScale = priceScale + 1 + sizeScale + fee.scale;
    this.notionalUp = pow10(1 + fee.scale);
  }

  /** The fee of a fill, at money scale (rate × notional, exact). */
  feeOf(price: bigint, size: bigint, maker: boolean): bigint {
    return price * size * TEN * (maker ? this.fee.maker : this.fee.taker);
  }

  /** Books a fill; returns its fee. */
  apply(side: OrderSide, price: bigint, size: bigint, maker: boolean): bigint {
    const fee = this.feeOf(price, size, maker);
    const notional = price * size * this.notionalUp;
    this.fees += fee;
    this.turnover += notional;
    this.cash += (side === 'buy' ? -notional : notional) - fee;
    if (side === 'buy') this.bought += size;
    else this.sold += size;
    let left = side === 'buy' ? size : -size;
    // Close opposite lots first, oldest first.
    while (left !== 0n && this.head < this.lotSizes.length && this.lotSizes[this.head]! > 0n !== left > 0n) {
      const lot = this.lotSizes[this.head]!;
      const lotPrice = this.lotPrices[this.head]!;
      const close = abs(lot) < abs(left) ? -lot : left; // signed, the fill's sign
      // A long lot closed by a sale: (sale − cost) × size; a short lot bought back: (proceeds − cost) × size.
      this.realized += (lotPrice - price) * close * this.notionalUp;
      this.lotSizes[this.head] = lot + close;
      left -= close;
      if (this.lotSizes[this.head] === 0n) this.head++;
    }
    if (this.head === this.lotSizes.length) {
      this.lotSizes.length = 0;
      this.lotPrices.length = 0;
      this.head = 0;
    }
    if (left !== 0n) {
      this.lotSizes.push(left);
      this.lotPrices.push(price);
    }
    this.size += side === 'buy' ? size : -size;
    return fee;
  }

  /** Open quantity at `mark` (priceScale + 1), before fees, at money scale. */
  unrealized(mark: bigint | null): bigint {
    if (mark === null) return 0n;
    const up = pow10(this.fee.scale);
    let u = 0n;
    for (let i = this.head; i < this.lotSizes.length; i++) u += (mark - this.lotPrices[i]! * TEN) * this.lotSizes[i]! * up;
    return u;
  }

  state(mark: bigint | null): PositionState {
    const unrealized = this.unrealized(mark);
    return {
      venue: this.venue,
      symbol: this.symbol,
      size: this.size,
      priceScale: this.priceScale,
      sizeScale: this.sizeScale,
      moneyScale: this.moneyScale,
      cash: this.cash,
      realized: this.realized,
      unrealized,
      fees: this.fees,
      pnl: this.realized + unrealized - this.fees,
      mark: mark === null ? null : mark * pow10(this.fee.scale),
      bought: this.bought,
      sold: this.sold,
      turnover: this.turnover,
    };
  }
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}
