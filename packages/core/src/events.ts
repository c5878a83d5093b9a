import { formatDecimal, MAX_SCALE } from './decimal.js';
import { EventError, describeValue } from './errors.js';

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

interface EventHeader {
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

export type StatusKind = 'connected' | 'disconnected' | 'reconnected' | 'gap' | 'resync' | 'checksum' | 'stale' | 'crossed' | 'trading';
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
];

/**
 * Connection, data-quality and market-state events. `gap` carries the missing sequence range in
 * `fromSeq..toSeq` (inclusive); `checksum` carries the result in `ok`; `trading` is a change of
 * the instrument's trading state (halted, quoting, trading), named in `detail`.
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

// ---------------------------------------------------------------------------------------------
// Validation. Factories validate what they build; `validateEvent` checks events of unknown origin.

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const AGGRESSOR_SIDE_SET: ReadonlySet<unknown> = new Set(AGGRESSOR_SIDES);
const BOOK_SIDE_SET: ReadonlySet<unknown> = new Set(BOOK_SIDES);
const ORDER_ACTION_SET: ReadonlySet<unknown> = new Set(ORDER_ACTIONS);
const STATUS_KIND_SET: ReadonlySet<unknown> = new Set(STATUS_KINDS);

function where(e: { readonly type?: unknown; readonly venue?: unknown; readonly symbol?: unknown }): string {
  const t = typeof e.type === 'string' ? e.type : 'event';
  const v = typeof e.venue === 'string' ? e.venue : '?';
  const s = typeof e.symbol === 'string' ? e.symbol : '?';
  return `${t} ${v}:${s}`;
}

function bad(e: object, field: string, expected: string, found: unknown): EventError {
  return new EventError('MDCAP_ERR_INVALID_EVENT', `${where(e)}: ${field}: expected ${expected}, found ${describeValue(found)}`, {
    details: { field, found: describeValue(found) },
  });
}

function checkTimestamp(e: Record<string, unknown>, field: string): void {
  const v = e[field];
  if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) {
    const hint = typeof v === 'number' ? ' (a number; nanosecond timestamps must be bigint, see msToNs/isoToNs)' : '';
    throw new EventError(
      'MDCAP_ERR_INVALID_TIMESTAMP',
      `${where(e)}: ${field}: expected bigint nanoseconds since the Unix epoch, found ${describeValue(v)}${hint}`,
      { details: { field } },
    );
  }
}

function checkHeader(e: Record<string, unknown>): void {
  if (typeof e['venue'] !== 'string' || e['venue'] === '') throw bad(e, 'venue', 'a non-empty string', e['venue']);
  if (typeof e['symbol'] !== 'string' || e['symbol'] === '') throw bad(e, 'symbol', 'a non-empty string', e['symbol']);
  checkTimestamp(e, 'tsEvent');
  checkTimestamp(e, 'tsRecv');
  const seq = e['seq'];
  if (seq !== null && (typeof seq !== 'bigint' || seq < 0n || seq > UINT64_MAX)) {
    throw bad(e, 'seq', 'null or a bigint from 0 to 2^64-1', seq);
  }
}

function checkScales(e: Record<string, unknown>): void {
  for (const f of ['priceScale', 'sizeScale']) {
    const s = e[f];
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > MAX_SCALE) {
      throw bad(e, f, `an integer from 0 to ${MAX_SCALE}`, s);
    }
  }
}

function checkPrice(e: Record<string, unknown>, field: string, nullable = false): void {
  const v = e[field];
  if (nullable && v === null) return;
  if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) {
    const hint = typeof v === 'number' ? ' (a number; parse venue prices with parseDecimal)' : '';
    throw bad(e, field, `a bigint mantissa${nullable ? ' or null' : ''}${hint}`, v);
  }
}

function checkSize(e: Record<string, unknown>, field: string): void {
  const v = e[field];
  if (typeof v !== 'bigint' || v > INT64_MAX) throw bad(e, field, 'a bigint mantissa', v);
  if (v < 0n) {
    throw new EventError('MDCAP_ERR_NEGATIVE_SIZE', `${where(e)}: ${field}: expected a size of 0 or more, found ${v}n`, {
      details: { field, found: `${v}` },
    });
  }
}

function checkIn(e: Record<string, unknown>, field: string, allowed: ReadonlySet<unknown>): void {
  if (!allowed.has(e[field])) throw bad(e, field, `one of ${[...allowed].join(', ')}`, e[field]);
}

function checkFlags(e: Record<string, unknown>): void {
  const f = e['flags'];
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f > 0xffff) throw bad(e, 'flags', 'an integer bit set', f);
}

/**
 * Checks that `value` is a well-formed {@link MarketEvent} and returns it typed.
 * @throws {EventError} naming the event, the field, what was expected and what was found.
 */
export function validateEvent(value: unknown): MarketEvent {
  if (typeof value !== 'object' || value === null) {
    throw new EventError('MDCAP_ERR_INVALID_EVENT', `expected an event object, found ${describeValue(value)}`);
  }
  const e = value as Record<string, unknown>;
  switch (e['type']) {
    case 'trade':
      checkHeader(e);
      checkPrice(e, 'price');
      checkSize(e, 'size');
      checkScales(e);
      checkIn(e, 'side', AGGRESSOR_SIDE_SET);
      if (e['tradeId'] !== null && typeof e['tradeId'] !== 'string') throw bad(e, 'tradeId', 'a string or null', e['tradeId']);
      break;
    case 'quote':
      checkHeader(e);
      checkPrice(e, 'bidPrice', true);
      checkSize(e, 'bidSize');
      checkPrice(e, 'askPrice', true);
      checkSize(e, 'askSize');
      checkScales(e);
      for (const side of ['bid', 'ask']) {
        if (e[`${side}Price`] === null && e[`${side}Size`] !== 0n) {
          throw bad(e, `${side}Size`, `0n for an empty side (${side}Price is null)`, e[`${side}Size`]);
        }
      }
      break;
    case 'book':
      checkHeader(e);
      checkIn(e, 'side', BOOK_SIDE_SET);
      checkPrice(e, 'price');
      checkSize(e, 'size');
      checkScales(e);
      checkFlags(e);
      break;
    case 'order': {
      checkHeader(e);
      checkIn(e, 'action', ORDER_ACTION_SET);
      const id = e['orderId'];
      if (typeof id !== 'bigint' && (typeof id !== 'string' || id === '')) throw bad(e, 'orderId', 'a bigint or a non-empty string', id);
      checkIn(e, 'side', BOOK_SIDE_SET);
      checkPrice(e, 'price');
      checkSize(e, 'size');
      checkScales(e);
      checkFlags(e);
      break;
    }
    case 'bar': {
      checkHeader(e);
      const iv = e['interval'];
      if (typeof iv !== 'number' || !Number.isInteger(iv) || iv <= 0) throw bad(e, 'interval', 'a positive integer of seconds', iv);
      checkTimestamp(e, 'start');
      checkTimestamp(e, 'end');
      for (const f of ['open', 'high', 'low', 'close']) checkPrice(e, f);
      checkSize(e, 'volume');
      const n = e['trades'];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw bad(e, 'trades', 'a count of 0 or more', n);
      checkScales(e);
      checkFlags(e);
      break;
    }
    case 'status':
      checkHeader(e);
      checkIn(e, 'kind', STATUS_KIND_SET);
      for (const f of ['fromSeq', 'toSeq']) {
        const v = e[f];
        if (v !== null && (typeof v !== 'bigint' || v < 0n)) throw bad(e, f, 'null or a bigint of 0 or more', v);
      }
      if (e['fromSeq'] !== null && e['toSeq'] !== null && (e['fromSeq'] as bigint) > (e['toSeq'] as bigint)) {
        throw bad(e, 'toSeq', `a sequence at or after fromSeq ${e['fromSeq'] as bigint}`, e['toSeq']);
      }
      if (e['ok'] !== null && typeof e['ok'] !== 'boolean') throw bad(e, 'ok', 'a boolean or null', e['ok']);
      if (typeof e['detail'] !== 'string') throw bad(e, 'detail', 'a string', e['detail']);
      break;
    default:
      throw bad(e, 'type', `one of ${EVENT_TYPES.join(', ')}`, e['type']);
  }
  return value as MarketEvent;
}

// ---------------------------------------------------------------------------------------------
// The fast check: the same rules as validateEvent, as one boolean expression per kind with
// plain property reads, so the engine can check every event on its hot path. When it says
// no, validateEvent says why.

// `BigInt.asIntN(64, v) === v` is the cheapest int64 range test V8 offers (it lowers to a truncation).
function isInt64(v: bigint): boolean {
  return typeof v === 'bigint' && BigInt.asIntN(64, v) === v;
}

function okHeader(e: EventHeader): boolean {
  const seq = e.seq;
  return (
    typeof e.venue === 'string' &&
    e.venue !== '' &&
    typeof e.symbol === 'string' &&
    e.symbol !== '' &&
    isInt64(e.tsEvent) &&
    isInt64(e.tsRecv) &&
    (seq === null || (typeof seq === 'bigint' && BigInt.asUintN(64, seq) === seq))
  );
}

function okScales(p: number, s: number): boolean {
  return typeof p === 'number' && typeof s === 'number' && p >>> 0 === p && p <= MAX_SCALE && s >>> 0 === s && s <= MAX_SCALE;
}

function okMantissa(v: bigint): boolean {
  return typeof v === 'bigint' && BigInt.asIntN(64, v) === v;
}

function okSize(v: bigint): boolean {
  return typeof v === 'bigint' && v >= 0n && BigInt.asIntN(64, v) === v;
}

function okFlags(f: number): boolean {
  return typeof f === 'number' && f >>> 0 === f && f <= 0xffff;
}

/** True if `e` is a well-formed event (exactly when {@link validateEvent} would not throw). */
export function isWellFormed(e: MarketEvent): boolean {
  if (typeof e !== 'object' || e === null) return false;
  switch (e.type) {
    case 'trade': {
      const side = e.side;
      return (
        okHeader(e) &&
        okMantissa(e.price) &&
        okSize(e.size) &&
        okScales(e.priceScale, e.sizeScale) &&
        (side === 'buy' || side === 'sell' || side === 'none') &&
        (e.tradeId === null || typeof e.tradeId === 'string')
      );
    }
    case 'quote':
      return (
        okHeader(e) &&
        (e.bidPrice === null ? e.bidSize === 0n : okMantissa(e.bidPrice)) &&
        okSize(e.bidSize) &&
        (e.askPrice === null ? e.askSize === 0n : okMantissa(e.askPrice)) &&
        okSize(e.askSize) &&
        okScales(e.priceScale, e.sizeScale)
      );
    case 'book':
      return (
        okHeader(e) &&
        (e.side === 'bid' || e.side === 'ask') &&
        okMantissa(e.price) &&
        okSize(e.size) &&
        okScales(e.priceScale, e.sizeScale) &&
        okFlags(e.flags)
      );
    case 'order': {
      const id = e.orderId;
      return (
        okHeader(e) &&
        ORDER_ACTION_SET.has(e.action) &&
        (typeof id === 'bigint' || (typeof id === 'string' && id !== '')) &&
        (e.side === 'bid' || e.side === 'ask') &&
        okMantissa(e.price) &&
        okSize(e.size) &&
        okScales(e.priceScale, e.sizeScale) &&
        okFlags(e.flags)
      );
    }
    case 'bar':
      return (
        okHeader(e) &&
        typeof e.interval === 'number' &&
        Number.isInteger(e.interval) &&
        e.interval > 0 &&
        isInt64(e.start) &&
        isInt64(e.end) &&
        okMantissa(e.open) &&
        okMantissa(e.high) &&
        okMantissa(e.low) &&
        okMantissa(e.close) &&
        okSize(e.volume) &&
        typeof e.trades === 'number' &&
        Number.isInteger(e.trades) &&
        e.trades >= 0 &&
        okScales(e.priceScale, e.sizeScale) &&
        okFlags(e.flags)
      );
    case 'status':
      return (
        okHeader(e) &&
        STATUS_KIND_SET.has(e.kind) &&
        (e.fromSeq === null || (typeof e.fromSeq === 'bigint' && e.fromSeq >= 0n)) &&
        (e.toSeq === null || (typeof e.toSeq === 'bigint' && e.toSeq >= 0n)) &&
        (e.fromSeq === null || e.toSeq === null || e.fromSeq <= e.toSeq) &&
        (e.ok === null || typeof e.ok === 'boolean') &&
        typeof e.detail === 'string'
      );
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Factories: they fix the property order (one hidden class per kind, so hot paths stay
// monomorphic), fill the optional fields, and validate.

/** Builds and validates a {@link Trade}. */
export function createTrade(init: TradeInit): Trade {
  const e: Trade = {
    type: 'trade',
    venue: init.venue,
    symbol: init.symbol,
    tsEvent: init.tsEvent,
    tsRecv: init.tsRecv,
    seq: init.seq ?? null,
    price: init.price,
    size: init.size,
    priceScale: init.priceScale,
    sizeScale: init.sizeScale,
    side: init.side ?? 'none',
    tradeId: init.tradeId ?? null,
  };
  if (!isWellFormed(e)) validateEvent(e);
  return e;
}

/** Builds and validates a {@link Quote}. */
export function createQuote(init: QuoteInit): Quote {
  const e: Quote = {
    type: 'quote',
    venue: init.venue,
    symbol: init.symbol,
    tsEvent: init.tsEvent,
    tsRecv: init.tsRecv,
    seq: init.seq ?? null,
    bidPrice: init.bidPrice,
    bidSize: init.bidSize,
    askPrice: init.askPrice,
    askSize: init.askSize,
    priceScale: init.priceScale,
    sizeScale: init.sizeScale,
  };
  if (!isWellFormed(e)) validateEvent(e);
  return e;
}

/** Builds and validates a {@link BookUpdate}. */
export function createBookUpdate(init: BookUpdateInit): BookUpdate {
  const e: BookUpdate = {
    type: 'book',
    venue: init.venue,
    symbol: init.symbol,
    tsEvent: init.tsEvent,
    tsRecv: init.tsRecv,
    seq: init.seq ?? null,
    side: init.side,
    price: init.price,
    size: init.size,
    priceScale: init.priceScale,
    sizeScale: init.sizeScale,
    flags: init.flags ?? 0,
  };
  if (!isWellFormed(e)) validateEvent(e);
  return e;
}

/** Builds and validates an {@link OrderUpdate}. */
export function createOrderUpdate(init: OrderUpdateInit): OrderUpdate {
  const e: OrderUpdate = {
    type: 'order',
    venue: init.venue,
    symbol: init.symbol,
    tsEvent: init.tsEvent,
    tsRecv: init.tsRecv,
    seq: init.seq ?? null,
    action: init.action,
    orderId: init.orderId,
    side: init.side,
    price: init.price,
    size: init.size,
    priceScale: init.priceScale,
    sizeScale: init.sizeScale,
    flags: init.flags ?? 0,
  };
  if (!isWellFormed(e)) validateEvent(e);
  return e;
}

/** Builds and validates a {@link Bar}. `tsEvent` and `tsRecv` default to the bar's end. */
export function createBar(init: BarInit): Bar {
  const e: Bar = {
    type: 'bar',
    venue: init.venue,
    symbol: init.symbol,
    tsEvent: init.tsEvent ?? init.end,
    tsRecv: init.tsRecv ?? init.end,
    seq: init.seq ?? null,
    interval: init.interval,
    start: init.start,
    end: init.end,
    open: init.open,
    high: init.high,
    low: init.low,
    close: init.close,
    volume: init.volume,
    trades: init.trades,
    priceScale: init.priceScale,
    sizeScale: init.sizeScale,
    flags: init.flags ?? 0,
  };
  if (!isWellFormed(e)) validateEvent(e);
  return e;
}

/** Builds and validates a {@link Status}. */
export function createStatus(init: StatusInit): Status {
  const e: Status = {
    type: 'status',
    venue: init.venue,
    symbol: init.symbol,
    tsEvent: init.tsEvent,
    tsRecv: init.tsRecv,
    seq: init.seq ?? null,
    kind: init.kind,
    fromSeq: init.fromSeq ?? null,
    toSeq: init.toSeq ?? null,
    ok: init.ok ?? null,
    detail: init.detail ?? '',
  };
  if (!isWellFormed(e)) validateEvent(e);
  return e;
}

// ---------------------------------------------------------------------------------------------
// The canonical JSON form (one object per event): what `mdcap replay --json` prints and what
// determinism tests hash. Prices and sizes are exact decimal strings at the event's scale;
// nanosecond timestamps and other 64-bit integers are decimal strings. Key order is fixed.

export type JsonEventValue = string | number | boolean | null;

function dec(m: bigint | null, scale: number): string | null {
  return m === null ? null : formatDecimal(m, scale);
}

function str(v: bigint | null): string | null {
  return v === null ? null : v.toString();
}

/** The canonical JSON object of an event (see above). */
export function eventToJson(e: MarketEvent): Record<string, JsonEventValue> {
  const head: Record<string, JsonEventValue> = {
    type: e.type,
    venue: e.venue,
    symbol: e.symbol,
    tsEvent: e.tsEvent.toString(),
    tsRecv: e.tsRecv.toString(),
    seq: str(e.seq),
  };
  switch (e.type) {
    case 'trade':
      return { ...head, price: dec(e.price, e.priceScale), size: dec(e.size, e.sizeScale), side: e.side, tradeId: e.tradeId };
    case 'quote':
      return {
        ...head,
        bidPrice: dec(e.bidPrice, e.priceScale),
        bidSize: dec(e.bidSize, e.sizeScale),
        askPrice: dec(e.askPrice, e.priceScale),
        askSize: dec(e.askSize, e.sizeScale),
      };
    case 'book':
      return { ...head, side: e.side, price: dec(e.price, e.priceScale), size: dec(e.size, e.sizeScale), flags: e.flags };
    case 'order':
      return {
        ...head,
        action: e.action,
        orderId: e.orderId.toString(),
        side: e.side,
        price: dec(e.price, e.priceScale),
        size: dec(e.size, e.sizeScale),
        flags: e.flags,
      };
    case 'bar':
      return {
        ...head,
        interval: e.interval,
        start: e.start.toString(),
        end: e.end.toString(),
        open: dec(e.open, e.priceScale),
        high: dec(e.high, e.priceScale),
        low: dec(e.low, e.priceScale),
        close: dec(e.close, e.priceScale),
        volume: dec(e.volume, e.sizeScale),
        trades: e.trades,
        flags: e.flags,
      };
    case 'status':
      return { ...head, kind: e.kind, fromSeq: str(e.fromSeq), toSeq: str(e.toSeq), ok: e.ok, detail: e.detail };
  }
}

/** One line of canonical JSON for an event, without a trailing newline. */
export function formatEventJson(e: MarketEvent): string {
  return JSON.stringify(eventToJson(e));
}

/** Throws unless the two scales are equal; used where mantissas of one instrument meet. */
export function checkSameScale(e: EventHeader & { readonly type: EventType }, field: string, expected: number, found: number): void {
  if (expected !== found) {
    throw new EventError(
      'MDCAP_ERR_SCALE_MISMATCH',
      `${where(e)}: ${field}: expected scale ${expected} as in earlier events of this instrument, found ${found}`,
      { details: { field, expected, found } },
    );
  }
}
