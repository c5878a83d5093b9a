/**
 * The execution model: a strategy's own orders, their fills and its positions, the same for a
 * backtest on a replay and for paper trading on a live feed (see `@mdcap/backtest` and
 * docs/backtest.md). Prices, sizes and money are bigint mantissas with their scales, like
 * market events; timestamps are bigint ns on the engine's clock.
 */

/** The strategy's side of an order: `buy` takes asks and rests on the bid. */
export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';
/** `gtc` rests until filled or cancelled; `ioc` fills what it can at once; `fok` all at once or nothing. */
export type TimeInForce = 'gtc' | 'ioc' | 'fok';
/**
 * `pending`: sent, not yet at the venue (order latency); `open`: resting (possibly partly
 * filled); `filled`, `cancelled` (by the strategy, or the unfilled rest of an IOC/FOK/market
 * order) and `rejected` are final.
 */
export type OrderStatus = 'pending' | 'open' | 'filled' | 'cancelled' | 'rejected';
export const ORDER_STATUSES: readonly OrderStatus[] = ['pending', 'open', 'filled', 'cancelled', 'rejected'];

/** Why the simulated venue refused an order, a cancel or a replace. */
export type RejectReason =
  | 'unknown-symbol'
  | 'book-invalid'
  | 'tick-size'
  | 'lot-size'
  | 'scale'
  | 'post-only-would-cross'
  | 'position-limit'
  | 'unknown-order'
  | 'too-late'
  | 'bad-replace';

/**
 * What a strategy submits. Prices and sizes are mantissas at the book's scales, or decimal text
 * (`"101.25"`) that is parsed at those scales exactly (never rounded: more digits are a
 * `scale` rejection).
 */
export interface OrderRequest {
  readonly symbol: string;
  /** The venue, when the symbol is subscribed on more than one. */
  readonly venue?: string;
  readonly side: OrderSide;
  /** Default: `limit` when a price is given, else `market`. */
  readonly type?: OrderType;
  readonly price?: bigint | string;
  readonly size: bigint | string;
  /** Default `gtc` for limit orders; market orders are always `ioc`. */
  readonly tif?: TimeInForce;
  /** Rejected (`post-only-would-cross`) instead of taking liquidity. */
  readonly postOnly?: boolean;
  /** The strategy's own label, echoed on every update and fill. */
  readonly clientId?: string;
}

/** A replace: a new price and/or size. A price change or a larger size loses the queue place. */
export interface ReplaceRequest {
  readonly price?: bigint | string;
  readonly size?: bigint | string;
}

/** An order as the strategy knows it after an update: an immutable snapshot. */
export interface OrderState {
  /** Sequential per broker, from 1. */
  readonly id: number;
  readonly clientId: string | null;
  readonly venue: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  readonly postOnly: boolean;
  /** Limit price, null for market orders. */
  readonly price: bigint | null;
  readonly size: bigint;
  readonly filled: bigint;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly status: OrderStatus;
  /** Set when rejected (or a cancel/replace of it was refused: the order itself goes on). */
  readonly reject: RejectReason | null;
  /** Human-readable context of the last change: the reason, what was expected and found. */
  readonly detail: string;
  /** Clock time of the submit. */
  readonly tsSubmit: bigint;
  /** Venue time of this change (when the venue decided it). */
  readonly tsVenue: bigint;
  /** Clock time at which the strategy learns of it (after the acknowledgement latency). */
  readonly tsRecv: bigint;
  /**
   * The size the venue model places ahead of a resting order in its level's queue (an exact
   * count on L3 books, an estimate on L2); null while not resting.
   */
  readonly queueAhead: bigint | null;
}

export type Liquidity = 'maker' | 'taker';

/** One execution of one order. Money (`fee`) is at `moneyScale`; a negative fee is a rebate. */
export interface Fill {
  /** Sequential per broker, from 1. */
  readonly fillId: number;
  readonly orderId: number;
  readonly clientId: string | null;
  readonly venue: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly price: bigint;
  readonly size: bigint;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly liquidity: Liquidity;
  readonly fee: bigint;
  readonly moneyScale: number;
  /** The symbol's position after this fill (signed, at `sizeScale`). */
  readonly position: bigint;
  readonly tsVenue: bigint;
  readonly tsRecv: bigint;
}

/**
 * A position and its money, exact: `cash` starts at 0 and moves by every fill's notional and fee,
 * so `cash + size × mark = realized + unrealized − fees` at all times.
 */
export interface PositionState {
  readonly venue: string;
  readonly symbol: string;
  /** Signed: positive long, negative short, at `sizeScale`. */
  readonly size: bigint;
  readonly priceScale: number;
  readonly sizeScale: number;
  /** Money: cash, PnL and fees, all at `moneyScale` (price scale + 1 + size scale + fee digits). */
  readonly moneyScale: number;
  readonly cash: bigint;
  /** PnL of closed quantity, first in first out, before fees. */
  readonly realized: bigint;
  /** Open quantity marked at `mark`, before fees. */
  readonly unrealized: bigint;
  readonly fees: bigint;
  /** `realized + unrealized − fees`. */
  readonly pnl: bigint;
  /** The mark at `moneyScale − sizeScale` (the book's mid, else the last trade), null before any. */
  readonly mark: bigint | null;
  /** Bought and sold size, and the notional traded (money scale). */
  readonly bought: bigint;
  readonly sold: bigint;
  readonly turnover: bigint;
}

/** The sum over every symbol, at the largest money scale of them (quote currencies are not converted). */
export interface PnlState {
  readonly moneyScale: number;
  readonly realized: bigint;
  readonly unrealized: bigint;
  readonly fees: bigint;
  readonly pnl: bigint;
  readonly turnover: bigint;
}

/**
 * The orders interface a strategy trades through: the simulated venue on a replay, and the same
 * simulation against a live feed in paper mode.
 */
export interface Broker {
  /**
   * Sends an order; returns it as `pending` (or already `rejected` when the request itself is
   * refused). Its updates follow through `onOrder`, its executions through `onFill`.
   * @throws {ConfigError} `MDCAP_ERR_INVALID_ORDER` for a malformed request (no side, a size
   *   that is not a decimal, …): a program error, not a venue's answer.
   */
  submit(request: OrderRequest): OrderState;
  /** Asks the venue to cancel; a cancel that comes too late is answered `too-late` on the order. */
  cancel(orderId: number): void;
  /** Asks the venue to change price and/or size (see {@link ReplaceRequest}). */
  replace(orderId: number, request: ReplaceRequest): void;
  /** The latest state of an order, or undefined. */
  order(orderId: number): OrderState | undefined;
  /** Orders not yet final (pending or open), oldest first; of one symbol if given. */
  openOrders(symbol?: string): OrderState[];
  /** The position of a symbol (zero before any fill). */
  position(symbol: string, venue?: string): PositionState;
  /** Every symbol traded so far. */
  positions(): PositionState[];
  /** The sum of every position. */
  pnl(): PnlState;
  onFill(cb: (fill: Fill) => void): () => void;
  onOrder(cb: (order: OrderState) => void): () => void;
}
