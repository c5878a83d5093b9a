/**
 * The normalized event model. Every event is a plain readonly object tagged by `type`, with
 * the venue's timestamp `tsEvent` and the local receive timestamp `tsRecv` as bigint
 * nanoseconds since the Unix epoch, and the venue's sequence number where it has one.
 * Prices and sizes are bigint mantissas; `priceScale`/`sizeScale` say how many of their
 * digits are fraction digits (see `decimal.ts`). Events carry their scales so that any
 * event can be printed or compared without a registry at hand.
 *
 * Events are values: once a provider delivers one, nobody mutates it, and consumers may keep it.
 */

export type EventType = 'trade' | 'quote' | 'book' | 'order' | 'bar' | 'status';

/** Every event type, in the fixed priority order used to break ties (see docs/engine.md). */
export const EVENT_TYPES: readonly EventType[] = ['status', 'book', 'order', 'quote', 'trade', 'bar'];

/** Aggressor side of a trade: `buy` means a buyer lifted the ask. `none` when the venue does not say. */
export type AggressorSide = 'buy' | 'sell' | 'none';
export type BookSide = 'bid' | 'ask';
export const AGGRESSOR_SIDES: readonly AggressorSide[] = ['buy', 'sell', 'none'];
export const BOOK_SIDES: readonly BookSide[] = ['bid', 'ask'];

/** The symbol of a status that applies to every symbol of its venue (a dropped connection, say). */
export const ALL_SYMBOLS = '*';

export interface EventHeader {
  readonly venue: string;
  readonly symbol: string;
  /** Venue timestamp, ns since the Unix epoch. */
  readonly tsEvent: bigint;
  /** Local receive timestamp, ns since the Unix epoch, from the provider's clock. */
  readonly tsRecv: bigint;
  /** The venue's sequence number, or null where the venue has none. */
  readonly seq: bigint | null;
}

export interface Trade extends EventHeader {
  readonly type: 'trade';
  readonly price: bigint;
  readonly size: bigint;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly side: AggressorSide;
  readonly tradeId: string | null;
}

/** Top of book. A side with no orders has a null price and size 0. */
export interface Quote extends EventHeader {
  readonly type: 'quote';
  readonly bidPrice: bigint | null;
  readonly bidSize: bigint;
  readonly askPrice: bigint | null;
  readonly askSize: bigint;
  readonly priceScale: number;
  readonly sizeScale: number;
}

/** Flags on book and order updates. Combine with `|`. */
export const BookFlags = {
  /** The update belongs to a snapshot. */
  Snapshot: 1,
  /** First update of a snapshot: the book is cleared before it is applied. */
  SnapshotBegin: 2,
  /** Last update of a snapshot: the book is complete and valid after it. */
  SnapshotEnd: 4,
  /** Last update of a venue packet: the book is consistent (not mid-update) after it. */
  Last: 8,
  /**
   * An implied level (CME: a price the exchange derives from spread and outright orders): a book
   * of its own beside the outright levels, which it never changes (the engine keeps it apart).
   */
  Implied: 16,
} as const;

/**
 * L2: the aggregate size at one price level. Size 0 removes the level. An empty snapshot is a
 * single update flagged `SnapshotBegin | SnapshotEnd` with size 0.
 */
export interface BookUpdate extends EventHeader {
  readonly type: 'book';
  readonly side: BookSide;
  readonly price: bigint;
  readonly size: bigint;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly flags: number;
}

/**
 * L3 actions: `add` a new order; `modify` sets its new price and size; `cancel` and `fill`
 * remove `size` from it (the whole order when it reaches 0); `clear` empties the book.
 */
export type OrderAction = 'add' | 'modify' | 'cancel' | 'fill' | 'clear';
export const ORDER_ACTIONS: readonly OrderAction[] = ['add', 'modify', 'cancel', 'fill', 'clear'];

/** L3: one order's change. Order ids are opaque: numeric ids as bigint, others as strings. */
export interface OrderUpdate extends EventHeader {
  readonly type: 'order';
  readonly action: OrderAction;
  readonly orderId: bigint | string;
  readonly side: BookSide;
  readonly price: bigint;
  readonly size: bigint;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly flags: number;
}

/** Flags on bars. */
export const BarFlags = {
  /** The bucket saw a sequence gap, disconnect, resync or failed checksum: trades may be missing. */
  Gap: 1,
  /** No trade fell in the bucket; OHLC repeat the previous close (`emptyBars: 'emit'`). */
  Empty: 2,
  /** The bucket had not closed when the engine stopped. */
  Partial: 4,
} as const;

export interface Bar extends EventHeader {
  readonly type: 'bar';
  /** Interval in seconds. */
  readonly interval: number;
  /** Bucket start (inclusive) and end (exclusive), ns since the epoch. */
  readonly start: bigint;
  readonly end: bigint;
  readonly open: bigint;
  readonly high: bigint;
  readonly low: bigint;
  readonly close: bigint;
  readonly volume: bigint;
  /** Number of trades in the bucket. */
  readonly trades: number;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly flags: number;
}

export type StatusKind =
  'connected' | 'disconnected' | 'reconnected' | 'gap' | 'resync' | 'checksum' | 'stale' | 'crossed' | 'trading' | 'corrupt';
export const STATUS_KINDS: readonly StatusKind[] = [
  'connected',
  'disconnected',
  'reconnected',
  'gap',
  'resync',
  'checksum',
  'stale',
  'crossed',
  'trading',
  // Appended: the ring's status codes are positions in this list.
  'corrupt',
];

/**
 * Connection, data-quality and market-state events. `gap` carries the missing sequence range in
 * `fromSeq..toSeq` (inclusive); `checksum` carries the result in `ok`; `trading` is a change of
 * the instrument's trading state (halted, quoting, trading), named in `detail`; `corrupt` is a
 * packet or message that failed its integrity check (could not be decoded) and was not used: it
 * says nothing of loss by itself (another line's copy may fill it), a `gap` status does.
 */
export interface Status extends EventHeader {
  readonly type: 'status';
  readonly kind: StatusKind;
  readonly fromSeq: bigint | null;
  readonly toSeq: bigint | null;
  /** Checksum result for `checksum`; null for other kinds. */
  readonly ok: boolean | null;
  /** Human-readable context: the error that dropped a connection, the crossed prices, … */
  readonly detail: string;
}

export type MarketEvent = Trade | Quote | BookUpdate | OrderUpdate | Bar | Status;

/** The events a provider delivers (bars may come from a vendor too). */
export type EventOf<T extends EventType> = Extract<MarketEvent, { type: T }>;

type Init<E extends EventHeader & { type: EventType }, Optional extends keyof E> = Omit<E, 'type' | Optional> & Partial<Pick<E, Optional>>;

export type TradeInit = Init<Trade, 'seq' | 'side' | 'tradeId'>;
export type QuoteInit = Init<Quote, 'seq'>;
export type BookUpdateInit = Init<BookUpdate, 'seq' | 'flags'>;
export type OrderUpdateInit = Init<OrderUpdate, 'seq' | 'flags'>;
export type BarInit = Init<Bar, 'seq' | 'flags' | 'tsEvent' | 'tsRecv'>;
export type StatusInit = Init<Status, 'seq' | 'fromSeq' | 'toSeq' | 'ok' | 'detail'>;
