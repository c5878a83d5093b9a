import type {
  Bar,
  BookUpdate,
  OrderUpdate,
  Quote,
  Status,
  Trade,
  TradeInit,
  QuoteInit,
  BookUpdateInit,
  OrderUpdateInit,
  BarInit,
  StatusInit,
} from './events.js';
import { isWellFormed, validateEvent } from './validate.js';

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
