import { MdcapError } from '@mdcap/core';

/**
 * The state an MDP3 channel describes, and the entries that change it: level books (MBP, by
 * MDPriceLevel), order books (MBO, by OrderID), RptSeq, last trade and trading status per
 * instrument. The exchange plans entries against one such state (its model) and a recovering
 * client rebuilds another from the same entries; both go through {@link ChannelState.apply}, so
 * what a snapshot says is exactly what the incremental entries up to it imply.
 *
 * Prices here are wire mantissas (PRICE9: units of 1e-9 of the price *before* the display
 * factor), always bigint.
 */

export type BookSide = 'Bid' | 'Offer';
export type UpdateAction = 'New' | 'Change' | 'Delete';
export type Aggressor = 'Buy' | 'Sell' | 'NoAggressor';

/** MBP depth: MDPriceLevel runs 1..10, the depth of Databento's MBP-10 and of CME's outright books. */
export const BOOK_DEPTH = 10;

/** One price level of a level-indexed book. */
export interface Level {
  /** PRICE9 mantissa. */
  readonly price: bigint;
  readonly size: number;
  readonly orders: number;
}

/** An MDIncrementalRefreshBook46 entry. */
export interface BookEntry {
  readonly kind: 'book';
  readonly securityId: number;
  readonly action: UpdateAction;
  readonly side: BookSide;
  /** MDPriceLevel, 1-based, as the book stands before this entry. */
  readonly level: number;
  readonly price: bigint;
  readonly size: number;
  readonly orders: number;
  readonly rptSeq: number;
}

/** An MDIncrementalRefreshOrderBook47 entry (no RptSeq: CME does not count MBO entries). */
export interface OrderEntry {
  readonly kind: 'order';
  readonly securityId: number;
  readonly action: UpdateAction;
  readonly side: BookSide;
  readonly orderId: bigint;
  readonly priority: bigint;
  readonly price: bigint;
  readonly qty: number;
}

/** An MDIncrementalRefreshTradeSummary48 entry. */
export interface TradeEntry {
  readonly kind: 'trade';
  readonly securityId: number;
  readonly price: bigint;
  readonly size: number;
  readonly aggressor: Aggressor;
  readonly rptSeq: number;
}

/** A SecurityStatus30 message (names of the schema's enums). */
export interface StatusEntry {
  readonly kind: 'status';
  readonly securityId: number;
  readonly status: string;
  readonly haltReason: string;
  readonly event: string;
}

export type Entry = BookEntry | OrderEntry | TradeEntry | StatusEntry;

/** An order resting in an instrument's MBO book. */
export interface RestingOrder {
  readonly orderId: bigint;
  readonly side: BookSide;
  readonly price: bigint;
  readonly qty: number;
  readonly priority: bigint;
}

/** What the channel says about one instrument. */
export class InstrumentState {
  readonly bids: Level[] = [];
  readonly offers: Level[] = [];
  /** Resting orders in the order they were added (Map order: deterministic). */
  readonly orders: Map<bigint, RestingOrder> = new Map();
  /** The RptSeq of the instrument's last counted entry (0: none yet). */
  rptSeq = 0;
  /** TransactTime of the last entry concerning it, null before any. */
  transactTime: bigint | null = null;
  /** SecurityTradingStatus name, null before any status. */
  status: string | null = null;
  lastTrade: { readonly price: bigint; readonly size: number } | null = null;

  constructor(readonly securityId: number) {}

  levels(side: BookSide): Level[] {
    return side === 'Bid' ? this.bids : this.offers;
  }
}

function inconsistent(what: string): never {
  throw new MdcapError('MDCAP_ERR_INVALID_EVENT', what);
}

/** Every instrument of a channel, and the one way entries change them. */
export class ChannelState {
  private readonly byId = new Map<number, InstrumentState>();
  /** MDOrderPriority source: one counter for the channel, so priority follows arrival. */
  private priority = 0n;

  constructor(securityIds: Iterable<number>) {
    for (const id of securityIds) this.byId.set(id, new InstrumentState(id));
  }

  instrument(securityId: number): InstrumentState {
    const s = this.byId.get(securityId);
    if (s === undefined) {
      throw new MdcapError(
        'MDCAP_ERR_UNKNOWN_INSTRUMENT',
        `expected an instrument with a definition (SecurityID ${[...this.byId.keys()].join(', ')}), found SecurityID ${securityId}`,
      );
    }
    return s;
  }

  /** The next MDOrderPriority: orders that arrive later (or lose priority) rank behind. */
  nextPriority(): bigint {
    this.priority += 1n;
    return this.priority;
  }

  /**
   * Applies one entry as a client does: a New at level k inserts there and pushes the levels
   * below down (the one pushed past {@link BOOK_DEPTH} is gone, as CME sends no Delete for it), a
   * Delete at k pulls them up, a Change replaces the level's size and order count.
   * @throws {MdcapError} `MDCAP_ERR_INVALID_EVENT` for an entry the state cannot take (a level
   *   out of range, a Change of another price, an order added twice or changed before added).
   */
  apply(e: Entry, transactTime: bigint): void {
    const s = this.instrument(e.securityId);
    s.transactTime = transactTime;
    switch (e.kind) {
      case 'book': {
        const levels = s.levels(e.side);
        // (The text of an error is built only when there is one: this runs for every entry.)
        const where = (): string => `SecurityID ${e.securityId} ${e.side} ${e.action} at MDPriceLevel ${e.level}`;
        const max = Math.min(e.action === 'New' ? levels.length + 1 : levels.length, BOOK_DEPTH);
        if (e.level < 1 || e.level > max) inconsistent(`${where()}: expected a level from 1 to ${max}, found ${e.level}`);
        const level: Level = { price: e.price, size: e.size, orders: e.orders };
        if (e.action === 'New') {
          levels.splice(e.level - 1, 0, level);
          if (levels.length > BOOK_DEPTH) levels.length = BOOK_DEPTH;
        } else if (e.action === 'Change') {
          const old = levels[e.level - 1]!;
          if (old.price !== e.price) inconsistent(`${where()}: expected the level's price ${old.price}, found ${e.price}`);
          levels[e.level - 1] = level;
        } else {
          levels.splice(e.level - 1, 1);
        }
        s.rptSeq = e.rptSeq;
        return;
      }
      case 'order': {
        const had = s.orders.get(e.orderId);
        const where = (): string => `SecurityID ${e.securityId} order ${e.orderId} ${e.action}`;
        if (e.action === 'New' && had !== undefined) inconsistent(`${where()}: expected a new OrderID, found it resting`);
        if (e.action !== 'New' && had === undefined) inconsistent(`${where()}: expected a resting order, found none`);
        if (e.action === 'Delete') s.orders.delete(e.orderId);
        else s.orders.set(e.orderId, { orderId: e.orderId, side: e.side, price: e.price, qty: e.qty, priority: e.priority });
        return;
      }
      case 'trade':
        s.lastTrade = { price: e.price, size: e.size };
        s.rptSeq = e.rptSeq;
        return;
      case 'status':
        s.status = e.status;
        return;
    }
  }

  /**
   * The Book46 entries that turn `securityId`'s `side` into `target` (best level first, at most
   * {@link BOOK_DEPTH}), applied to this state as they are made; each takes the next RptSeq.
   */
  bookEntries(securityId: number, side: BookSide, target: readonly Level[], transactTime: bigint): BookEntry[] {
    const s = this.instrument(securityId);
    const out: BookEntry[] = [];
    for (const op of levelOps(s.levels(side), target, side)) {
      const e: BookEntry = {
        kind: 'book',
        securityId,
        side,
        action: op.action,
        level: op.level,
        price: op.price,
        size: op.size,
        orders: op.orders,
        rptSeq: s.rptSeq + 1,
      };
      this.apply(e, transactTime);
      out.push(e);
    }
    return out;
  }

  /** A TradeSummary48 entry with the next RptSeq, applied. */
  tradeEntry(securityId: number, price: bigint, size: number, aggressor: Aggressor, transactTime: bigint): TradeEntry {
    const e: TradeEntry = { kind: 'trade', securityId, price, size, aggressor, rptSeq: this.instrument(securityId).rptSeq + 1 };
    this.apply(e, transactTime);
    return e;
  }

  /** Applies and returns `e` (order and status entries, which take no RptSeq). */
  add<E extends OrderEntry | StatusEntry>(e: E, transactTime: bigint): E {
    this.apply(e, transactTime);
    return e;
  }
}

interface LevelOp {
  readonly action: UpdateAction;
  readonly level: number;
  readonly price: bigint;
  readonly size: number;
  readonly orders: number;
}

/**
 * The level operations that turn `before` into `after` under the level-indexed rules of
 * {@link ChannelState.apply}. Both are sorted best first, so one walk from the top decides each
 * level: the same price on both sides is kept (a Change when its size or order count moved), a
 * price only `after` has is a New at that level, a price only `before` has is a Delete, and
 * levels past the end of `after` are deleted. A price move is thus a Delete and a New, as CME
 * sends it.
 * @throws {MdcapError} `MDCAP_ERR_INVALID_EVENT` when `after` is not strictly sorted best first
 *   or is deeper than {@link BOOK_DEPTH}.
 */
export function levelOps(before: readonly Level[], after: readonly Level[], side: BookSide): LevelOp[] {
  const better = side === 'Bid' ? (a: bigint, b: bigint): boolean => a > b : (a: bigint, b: bigint): boolean => a < b;
  if (after.length > BOOK_DEPTH) inconsistent(`${side} levels: expected at most ${BOOK_DEPTH}, found ${after.length}`);
  for (let i = 1; i < after.length; i++) {
    if (!better(after[i - 1]!.price, after[i]!.price)) {
      inconsistent(
        `${side} levels: expected prices ${side === 'Bid' ? 'falling' : 'rising'} level by level, found ${after[i - 1]!.price} then ${after[i]!.price} at levels ${i} and ${i + 1}`,
      );
    }
  }
  const work = before.slice();
  const ops: LevelOp[] = [];
  const op = (action: UpdateAction, k: number, l: Level): void => {
    ops.push({ action, level: k + 1, price: l.price, size: l.size, orders: l.orders });
  };
  let k = 0;
  while (k < after.length || k < work.length) {
    const want = after[k];
    const have = work[k];
    if (want === undefined) {
      op('Delete', k, have!);
      work.splice(k, 1);
    } else if (have === undefined || better(want.price, have.price)) {
      op('New', k, want);
      work.splice(k, 0, want);
      if (work.length > BOOK_DEPTH) work.length = BOOK_DEPTH;
      k++;
    } else if (want.price === have.price) {
      if (want.size !== have.size || want.orders !== have.orders) op('Change', k, want);
      work[k] = want;
      k++;
    } else {
      op('Delete', k, have);
      work.splice(k, 1);
    }
  }
  return ops;
}

const NS_PER_HOUR = 3_600_000_000_000n;
const NS_PER_DAY = 24n * NS_PER_HOUR;
const MS_PER_DAY = 86_400_000;

/** Days since the epoch of the `n`th Sunday of `month` (0-based) in `year`. */
function nthSunday(year: number, month: number, n: number): bigint {
  const first = Date.UTC(year, month, 1) / MS_PER_DAY; // a whole number of days
  const weekday = (first + 4) % 7; // 1970-01-01 was a Thursday; 0 is Sunday
  return BigInt(first + ((7 - weekday) % 7) + 7 * (n - 1));
}

/**
 * CME's trade date (days since the epoch, MDP3's LocalMktDate) of an instant. Globex sessions
 * open at 17:00 Chicago time and belong to the next day's date, so the trade date is the Chicago
 * date seven hours later; Chicago is UTC−6, or UTC−5 from the second Sunday of March to the first
 * Sunday of November (02:00 local, US rules since 2007).
 */
export function cmeTradeDate(tsNs: bigint): number {
  const year = new Date(Number(tsNs / 1_000_000n)).getUTCFullYear();
  const dstStart = nthSunday(year, 2, 2) * NS_PER_DAY + 8n * NS_PER_HOUR; // 02:00 CST
  const dstEnd = nthSunday(year, 10, 1) * NS_PER_DAY + 7n * NS_PER_HOUR; // 02:00 CDT
  const offset = tsNs >= dstStart && tsNs < dstEnd ? 5n : 6n;
  return Number((tsNs - offset * NS_PER_HOUR + 7n * NS_PER_HOUR) / NS_PER_DAY);
}
