import { BookFlags, checkSameScale } from '@mdcap/core';
import type { BookSide, BookUpdate, OrderUpdate } from '@mdcap/core';

export interface BookLevel {
  readonly price: bigint;
  readonly size: bigint;
}

export interface BookTop {
  readonly bids: BookLevel[];
  readonly asks: BookLevel[];
}

/**
 * A caller's reusable buffer for {@link BookView.topInto}: the best levels of each side, best
 * first, in arrays that grow once to the depth asked and are then only overwritten. Entries past
 * `bids` / `asks` are left over from earlier reads: read only the first `bids` and `asks`.
 *
 * ```ts
 * const top = new BookTopBuffer();
 * engine.onBookUpdate((_u, book) => {
 *   book.topInto(10, top);
 *   for (let i = 0; i < top.bids; i++) use(top.bidPrices[i]!, top.bidSizes[i]!);
 * });
 * ```
 */
export class BookTopBuffer {
  readonly bidPrices: bigint[] = [];
  readonly bidSizes: bigint[] = [];
  readonly askPrices: bigint[] = [];
  readonly askSizes: bigint[] = [];
  /** Levels filled on each side by the last read. */
  bids = 0;
  asks = 0;
}

/** Counters a book keeps about what it was fed. */
export interface BookStats {
  /** Book and order updates applied. */
  readonly applied: number;
  /** Updates ignored because the book was invalid (after a gap, before the next snapshot). */
  readonly ignoredWhileInvalid: number;
  /** Level removals (size 0) for a price that had no level. */
  readonly removedMissingLevel: number;
  /** Order updates naming an order id the book does not hold (cancel, fill, modify). */
  readonly unknownOrders: number;
  /** Adds for an order id the book already holds (the old order is replaced). */
  readonly duplicateOrders: number;
  /** Cancels and fills larger than the order's remaining size. */
  readonly overfills: number;
  /** Times the book was invalidated (gap, disconnect, resync, failed checksum). */
  readonly invalidations: number;
  /** Times the book turned crossed (best bid ≥ best ask) at a packet boundary. */
  readonly crossings: number;
}

/** Read-only view of a book, what callbacks and `engine.book()` hand out. */
export interface BookView {
  readonly venue: string;
  readonly symbol: string;
  /** Scales of the book's mantissas; -1 until the first update. */
  readonly priceScale: number;
  readonly sizeScale: number;
  /** True after a complete snapshot (or an L3 `clear`) and until the next gap or disconnect. */
  readonly valid: boolean;
  /** Best bid ≥ best ask at the last packet boundary. */
  readonly crossed: boolean;
  bestBidPrice(): bigint | null;
  bestBidSize(): bigint;
  bestAskPrice(): bigint | null;
  bestAskSize(): bigint;
  /** Number of price levels on a side. */
  depth(side: BookSide): number;
  /** The i-th best level of a side (0 = best), or undefined. */
  level(side: BookSide, i: number): BookLevel | undefined;
  /** The best `n` levels of each side, best first (new objects: see {@link topInto} for a read without any). */
  top(n: number): BookTop;
  /** The best `n` levels of each side into a caller's reusable buffer; allocates nothing once the buffer has grown. */
  topInto(n: number, out: BookTopBuffer): BookTopBuffer;
  /** The price of the i-th best level of a side (0 = best), or null: {@link level} without an object. */
  levelPrice(side: BookSide, i: number): bigint | null;
  /** The size of the i-th best level of a side, or 0. */
  levelSize(side: BookSide, i: number): bigint;
  /** Aggregate size at a price (0 if there is no level). */
  sizeAt(side: BookSide, price: bigint): bigint;
  /** Number of resting orders known by id (L3 books; 0 for L2). */
  readonly orderCount: number;
  /**
   * The resting orders known by id at one price of a side (L3 books), in the order the book
   * learned of them (the venue's time priority where its feed adds orders in that order); empty
   * for L2 books. A scan of every order: for occasional use, not per event.
   */
  ordersAt(side: BookSide, price: bigint): { readonly orderId: bigint | string; readonly size: bigint }[];
  /** Implied levels (`BookFlags.Implied`: CME's implied book) on a side: kept apart from the outright levels above. */
  impliedDepth(side: BookSide): number;
  /** The i-th best implied level of a side (0 = best), or undefined. */
  impliedLevel(side: BookSide, i: number): BookLevel | undefined;
  stats(): BookStats;
}

interface RestingOrder {
  side: BookSide;
  price: bigint;
  size: bigint;
}

/**
 * One side of a price-level book: parallel arrays sorted so that the best level is last
 * (bids ascending, asks descending). Most updates touch the top, so inserts and removals there
 * are pushes and pops; a binary search finds the rest.
 */
class BookSideLevels {
  readonly prices: bigint[] = [];
  readonly sizes: bigint[] = [];

  constructor(private readonly ascending: boolean) {}

  /** Index of `price`, or -(insertion point) - 1. */
  find(price: bigint): number {
    const p = this.prices;
    let lo = 0;
    let hi = p.length - 1;
    // Fast path: the top of book.
    if (hi >= 0 && p[hi] === price) return hi;
    if (this.ascending) {
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = p[mid]!;
        if (v < price) lo = mid + 1;
        else if (v > price) hi = mid - 1;
        else return mid;
      }
    } else {
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = p[mid]!;
        if (v > price) lo = mid + 1;
        else if (v < price) hi = mid - 1;
        else return mid;
      }
    }
    return -lo - 1;
  }

  /** Sets the aggregate size at a price; 0 removes. Returns false if it removed a missing level. */
  set(price: bigint, size: bigint): boolean {
    const i = this.find(price);
    if (i >= 0) {
      if (size === 0n) this.removeAt(i);
      else this.sizes[i] = size;
      return true;
    }
    if (size === 0n) return false;
    const at = -i - 1;
    if (at === this.prices.length) {
      this.prices.push(price);
      this.sizes.push(size);
    } else {
      this.prices.splice(at, 0, price);
      this.sizes.splice(at, 0, size);
    }
    return true;
  }

  /** Adds `delta` (may be negative) to the size at a price; the level goes when it reaches 0 or below. */
  add(price: bigint, delta: bigint): void {
    const i = this.find(price);
    if (i >= 0) {
      const s = this.sizes[i]! + delta;
      if (s <= 0n) this.removeAt(i);
      else this.sizes[i] = s;
    } else if (delta > 0n) {
      this.set(price, delta);
    }
  }

  get(price: bigint): bigint {
    const i = this.find(price);
    return i >= 0 ? this.sizes[i]! : 0n;
  }

  private removeAt(i: number): void {
    if (i === this.prices.length - 1) {
      this.prices.pop();
      this.sizes.pop();
    } else {
      this.prices.splice(i, 1);
      this.sizes.splice(i, 1);
    }
  }

  clear(): void {
    this.prices.length = 0;
    this.sizes.length = 0;
  }

  get length(): number {
    return this.prices.length;
  }

  best(): bigint | null {
    const n = this.prices.length;
    return n === 0 ? null : this.prices[n - 1]!;
  }

  bestSize(): bigint {
    const n = this.sizes.length;
    return n === 0 ? 0n : this.sizes[n - 1]!;
  }

  level(i: number): BookLevel | undefined {
    const n = this.prices.length;
    if (!Number.isInteger(i) || i < 0 || i >= n) return undefined;
    return { price: this.prices[n - 1 - i]!, size: this.sizes[n - 1 - i]! };
  }

  /** The best `k` levels into parallel arrays, best first; returns how many. */
  topInto(k: number, prices: bigint[], sizes: bigint[]): number {
    const p = this.prices;
    const z = this.sizes;
    const n = p.length;
    const m = Number.isInteger(k) && k > 0 ? Math.min(k, n) : 0;
    for (let j = 0; j < m; j++) {
      prices[j] = p[n - 1 - j]!;
      sizes[j] = z[n - 1 - j]!;
    }
    return m;
  }

  priceAt(i: number): bigint | null {
    const n = this.prices.length;
    return Number.isInteger(i) && i >= 0 && i < n ? this.prices[n - 1 - i]! : null;
  }

  sizeAtLevel(i: number): bigint {
    const n = this.sizes.length;
    return Number.isInteger(i) && i >= 0 && i < n ? this.sizes[n - 1 - i]! : 0n;
  }

  top(k: number): BookLevel[] {
    const n = this.prices.length;
    const out: BookLevel[] = [];
    for (let i = n - 1; i >= 0 && out.length < k; i--) out.push({ price: this.prices[i]!, size: this.sizes[i]! });
    return out;
  }
}

/**
 * A price-level book with an optional order layer. Book updates (L2) set a level's aggregate
 * size; order updates (L3) move orders and keep the aggregate in step, so an L3 book exposes
 * the same L2 view. The two mix: a book seeded from a level snapshot then driven by orders
 * treats the seeded size as anonymous resting liquidity (cancels of unknown orders that carry a
 * price reduce it, and are counted).
 *
 * Validity: a book starts invalid; `SnapshotBegin` clears it, `SnapshotEnd` makes it valid,
 * and an order `clear` makes it valid and empty. `invalidate()` (on a gap or disconnect) clears
 * it; until the next snapshot, updates are ignored and counted.
 */
export class OrderBook implements BookView {
  private readonly bids = new BookSideLevels(true);
  private readonly asks = new BookSideLevels(false);
  priceScale = -1;
  sizeScale = -1;
  valid = false;
  crossed = false;
  private building = false;
  private orders: Map<bigint | string, RestingOrder> | null = null;
  /** The implied book (`BookFlags.Implied`), made at its first level. */
  private implied: Record<BookSide, BookSideLevels> | null = null;
  private counters = {
    applied: 0,
    ignoredWhileInvalid: 0,
    removedMissingLevel: 0,
    unknownOrders: 0,
    duplicateOrders: 0,
    overfills: 0,
    invalidations: 0,
    crossings: 0,
  };

  private venueName: string;

  constructor(
    venue: string,
    readonly symbol: string,
  ) {
    this.venueName = venue;
  }

  get venue(): string {
    return this.venueName;
  }

  /** Binds a book handed out before its venue was known to the venue that first updates it. */
  bindVenue(venue: string): void {
    this.venueName = venue;
  }

  private sideOf(side: BookSide): BookSideLevels {
    return side === 'bid' ? this.bids : this.asks;
  }

  private checkScales(u: BookUpdate | OrderUpdate): void {
    if (this.priceScale === -1) {
      this.priceScale = u.priceScale;
      this.sizeScale = u.sizeScale;
      return;
    }
    checkSameScale(u, 'priceScale', this.priceScale, u.priceScale);
    checkSameScale(u, 'sizeScale', this.sizeScale, u.sizeScale);
  }

  /**
   * Applies an L2 update. Returns true if the book turned crossed at this update (a packet
   * boundary: `Last` or `SnapshotEnd`).
   * @throws {EventError} `MDCAP_ERR_SCALE_MISMATCH` if the scales differ from earlier updates.
   */
  applyBookUpdate(u: BookUpdate): boolean {
    this.checkScales(u);
    const flags = u.flags;
    if ((flags & BookFlags.SnapshotBegin) !== 0) this.beginSnapshot();
    else if (!this.valid && !this.building) {
      this.counters.ignoredWhileInvalid++;
      return false;
    }
    // An implied level is a book of its own: the outright levels (and whether they cross) are not its.
    const levels =
      (flags & BookFlags.Implied) === 0
        ? this.sideOf(u.side)
        : (this.implied ??= { bid: new BookSideLevels(true), ask: new BookSideLevels(false) })[u.side];
    // A removal inside a snapshot is how an empty snapshot is written, not a missing level.
    if (!levels.set(u.price, u.size) && (flags & BookFlags.Snapshot) === 0 && (flags & BookFlags.SnapshotBegin) === 0) {
      this.counters.removedMissingLevel++;
    }
    this.counters.applied++;
    return this.endOfUpdate(flags);
  }

  /**
   * Applies an L3 update. Returns true if the book turned crossed at this update.
   * @throws {EventError} `MDCAP_ERR_SCALE_MISMATCH` if the scales differ from earlier updates.
   */
  applyOrderUpdate(u: OrderUpdate): boolean {
    this.checkScales(u);
    const flags = u.flags;
    if (u.action === 'clear') {
      this.clearLevels();
      this.building = (flags & BookFlags.Snapshot) !== 0 && (flags & BookFlags.SnapshotEnd) === 0;
      this.valid = !this.building;
      this.counters.applied++;
      return this.endOfUpdate(flags);
    }
    if ((flags & BookFlags.SnapshotBegin) !== 0) this.beginSnapshot();
    else if (!this.valid && !this.building) {
      this.counters.ignoredWhileInvalid++;
      return false;
    }
    const orders = (this.orders ??= new Map<bigint | string, RestingOrder>());
    const existing = orders.get(u.orderId);
    switch (u.action) {
      case 'add':
        if (existing !== undefined) {
          this.counters.duplicateOrders++;
          this.sideOf(existing.side).add(existing.price, -existing.size);
        }
        if (u.size > 0n) {
          orders.set(u.orderId, { side: u.side, price: u.price, size: u.size });
          this.sideOf(u.side).add(u.price, u.size);
        } else if (existing !== undefined) {
          orders.delete(u.orderId);
        }
        break;
      case 'modify':
        if (existing === undefined) {
          this.counters.unknownOrders++;
          if (u.size > 0n) {
            orders.set(u.orderId, { side: u.side, price: u.price, size: u.size });
            this.sideOf(u.side).add(u.price, u.size);
          }
        } else {
          this.sideOf(existing.side).add(existing.price, -existing.size);
          if (u.size > 0n) {
            existing.side = u.side;
            existing.price = u.price;
            existing.size = u.size;
            this.sideOf(u.side).add(u.price, u.size);
          } else {
            orders.delete(u.orderId);
          }
        }
        break;
      case 'cancel':
      case 'fill':
        if (existing === undefined) {
          this.counters.unknownOrders++;
          // Liquidity the book knows only as a level (seeded from a level snapshot).
          const levels = this.sideOf(u.side);
          const have = levels.get(u.price);
          if (u.size > have) this.counters.overfills++;
          if (have > 0n) levels.add(u.price, -(u.size === 0n || u.size > have ? have : u.size));
        } else {
          let take = u.size === 0n ? existing.size : u.size;
          if (take > existing.size) {
            this.counters.overfills++;
            take = existing.size;
          }
          this.sideOf(existing.side).add(existing.price, -take);
          existing.size -= take;
          if (existing.size === 0n) orders.delete(u.orderId);
        }
        break;
    }
    this.counters.applied++;
    return this.endOfUpdate(flags);
  }

  private beginSnapshot(): void {
    this.clearLevels();
    this.building = true;
    this.valid = false;
  }

  private endOfUpdate(flags: number): boolean {
    if ((flags & BookFlags.SnapshotEnd) !== 0 && this.building) {
      this.building = false;
      this.valid = true;
    }
    if ((flags & (BookFlags.Last | BookFlags.SnapshotEnd)) === 0 || this.building) return false;
    const b = this.bids.best();
    const a = this.asks.best();
    const crossed = b !== null && a !== null && b >= a;
    const turned = crossed && !this.crossed;
    this.crossed = crossed;
    if (turned) this.counters.crossings++;
    return turned;
  }

  private clearLevels(): void {
    this.bids.clear();
    this.asks.clear();
    this.orders?.clear();
    this.implied?.bid.clear();
    this.implied?.ask.clear();
    this.crossed = false;
  }

  /** Clears the book and marks it invalid until the next snapshot. */
  invalidate(): void {
    this.clearLevels();
    this.building = false;
    if (this.valid) this.counters.invalidations++;
    this.valid = false;
  }

  bestBidPrice(): bigint | null {
    return this.bids.best();
  }
  bestBidSize(): bigint {
    return this.bids.bestSize();
  }
  bestAskPrice(): bigint | null {
    return this.asks.best();
  }
  bestAskSize(): bigint {
    return this.asks.bestSize();
  }
  depth(side: BookSide): number {
    return this.sideOf(side).length;
  }
  level(side: BookSide, i: number): BookLevel | undefined {
    return this.sideOf(side).level(i);
  }
  top(n: number): BookTop {
    return { bids: this.bids.top(n), asks: this.asks.top(n) };
  }
  topInto(n: number, out: BookTopBuffer): BookTopBuffer {
    out.bids = this.bids.topInto(n, out.bidPrices, out.bidSizes);
    out.asks = this.asks.topInto(n, out.askPrices, out.askSizes);
    return out;
  }
  levelPrice(side: BookSide, i: number): bigint | null {
    return this.sideOf(side).priceAt(i);
  }
  levelSize(side: BookSide, i: number): bigint {
    return this.sideOf(side).sizeAtLevel(i);
  }
  sizeAt(side: BookSide, price: bigint): bigint {
    return this.sideOf(side).get(price);
  }
  impliedDepth(side: BookSide): number {
    return this.implied?.[side].length ?? 0;
  }
  impliedLevel(side: BookSide, i: number): BookLevel | undefined {
    return this.implied?.[side].level(i);
  }
  get orderCount(): number {
    return this.orders?.size ?? 0;
  }
  ordersAt(side: BookSide, price: bigint): { readonly orderId: bigint | string; readonly size: bigint }[] {
    const out: { orderId: bigint | string; size: bigint }[] = [];
    if (this.orders === null) return out;
    for (const [orderId, o] of this.orders) if (o.side === side && o.price === price) out.push({ orderId, size: o.size });
    return out;
  }
  stats(): BookStats {
    return { ...this.counters };
  }
}
