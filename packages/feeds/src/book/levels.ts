/**
 * One side of an L2 book as a feed handler keeps it to check a venue's checksum or to truncate
 * to the venue's depth: price mantissas sorted best first, with their sizes. Binary search on a
 * plain array: books of a few hundred to a few thousand levels, updated near the top.
 */
export class SideLevels {
  readonly prices: bigint[] = [];
  readonly sizes: bigint[] = [];
  /** Per level, the price and size digits (`price.toString() + size.toString()`), kept only with `digits: true`. */
  readonly digits: string[] = [];

  constructor(
    readonly side: 'bid' | 'ask',
    private readonly keepDigits = false,
  ) {}

  get length(): number {
    return this.prices.length;
  }

  clear(): void {
    this.prices.length = 0;
    this.sizes.length = 0;
    this.digits.length = 0;
  }

  /** Index of `price`, or of where it would go (as `-(index + 1)`). */
  private find(price: bigint): number {
    const p = this.prices;
    const bid = this.side === 'bid';
    let lo = 0;
    let hi = p.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = p[mid]!;
      if (v === price) return mid;
      // Best first: bids descending, asks ascending.
      if (bid ? v > price : v < price) lo = mid + 1;
      else hi = mid - 1;
    }
    return -(lo + 1);
  }

  /** Sets the size at `price`; size 0 removes the level. */
  set(price: bigint, size: bigint): void {
    const i = this.find(price);
    const keep = this.keepDigits;
    if (size === 0n) {
      if (i >= 0) {
        this.prices.splice(i, 1);
        this.sizes.splice(i, 1);
        if (keep) this.digits.splice(i, 1);
      }
    } else if (i >= 0) {
      this.sizes[i] = size;
      if (keep) this.digits[i] = price.toString() + size.toString();
    } else {
      const at = -i - 1;
      this.prices.splice(at, 0, price);
      this.sizes.splice(at, 0, size);
      if (keep) this.digits.splice(at, 0, price.toString() + size.toString());
    }
  }

  /** Removes the levels beyond the best `depth`; returns their prices (worst last). */
  truncate(depth: number): bigint[] {
    if (this.prices.length <= depth) return [];
    this.sizes.length = depth;
    if (this.keepDigits) this.digits.length = depth;
    return this.prices.splice(depth);
  }
}
