import type { BacktestSummary } from '@mdcap/backtest';
import type {
  Fill,
  Liquidity,
  OrderRequest,
  OrderSide,
  OrderState,
  OrderStatus,
  OrderType,
  PositionState,
  RejectReason,
  ReplaceRequest,
  TimeInForce,
} from '@mdcap/core';
import {
  Liquidity as PbLiquidity,
  OrderSide as PbSide,
  OrderStatus as PbStatus,
  OrderType as PbType,
  TimeInForce as PbTif,
} from './gen/mdcap/v1/execution.js';
import type {
  BacktestSummary as PbSummary,
  CancelOrder as PbCancel,
  Fill as PbFill,
  OrderRequest as PbOrderRequest,
  OrderState as PbOrderState,
  Position as PbPosition,
  ReplaceOrder as PbReplace,
} from './gen/mdcap/v1/execution.js';

// @mdcap/core's execution types <-> the messages of proto/mdcap/v1/execution.proto (the Trade
// call: the server's worker and the Node client). Money travels as mantissa digits (it can pass
// 64 bits); prices, sizes and times as the integers they are.

const SIDE_PB: Record<OrderSide, PbSide> = { buy: PbSide.ORDER_SIDE_BUY, sell: PbSide.ORDER_SIDE_SELL };
const SIDE_OF: Partial<Record<number, OrderSide>> = { [PbSide.ORDER_SIDE_BUY]: 'buy', [PbSide.ORDER_SIDE_SELL]: 'sell' };
const TYPE_PB: Record<OrderType, PbType> = { market: PbType.ORDER_TYPE_MARKET, limit: PbType.ORDER_TYPE_LIMIT };
const TYPE_OF: Partial<Record<number, OrderType>> = { [PbType.ORDER_TYPE_MARKET]: 'market', [PbType.ORDER_TYPE_LIMIT]: 'limit' };
const TIF_PB: Record<TimeInForce, PbTif> = { gtc: PbTif.TIME_IN_FORCE_GTC, ioc: PbTif.TIME_IN_FORCE_IOC, fok: PbTif.TIME_IN_FORCE_FOK };
const TIF_OF: Partial<Record<number, TimeInForce>> = {
  [PbTif.TIME_IN_FORCE_GTC]: 'gtc',
  [PbTif.TIME_IN_FORCE_IOC]: 'ioc',
  [PbTif.TIME_IN_FORCE_FOK]: 'fok',
};
const STATUS_PB: Record<OrderStatus, PbStatus> = {
  pending: PbStatus.ORDER_STATUS_PENDING,
  open: PbStatus.ORDER_STATUS_OPEN,
  filled: PbStatus.ORDER_STATUS_FILLED,
  cancelled: PbStatus.ORDER_STATUS_CANCELLED,
  rejected: PbStatus.ORDER_STATUS_REJECTED,
};
const STATUSES: readonly OrderStatus[] = ['pending', 'open', 'filled', 'cancelled', 'rejected'];
const LIQ_PB: Record<Liquidity, PbLiquidity> = { maker: PbLiquidity.LIQUIDITY_MAKER, taker: PbLiquidity.LIQUIDITY_TAKER };

type PbNumber = { $case: 'priceMantissa'; value: bigint } | { $case: 'priceText'; value: string } | undefined;
type PbSize = { $case: 'sizeMantissa'; value: bigint } | { $case: 'sizeText'; value: string } | undefined;

function pbPrice(v: bigint | string | undefined): PbNumber {
  if (v === undefined) return undefined;
  return typeof v === 'bigint' ? { $case: 'priceMantissa', value: v } : { $case: 'priceText', value: v };
}

function pbSize(v: bigint | string | undefined): PbSize {
  if (v === undefined) return undefined;
  return typeof v === 'bigint' ? { $case: 'sizeMantissa', value: v } : { $case: 'sizeText', value: v };
}

/** A strategy's order request as the message the client sends. */
export function orderRequestToPb(r: OrderRequest): PbOrderRequest {
  return {
    symbol: r.symbol,
    venue: r.venue ?? '',
    side: SIDE_PB[r.side] ?? PbSide.ORDER_SIDE_UNSPECIFIED,
    type: r.type === undefined ? PbType.ORDER_TYPE_UNSPECIFIED : TYPE_PB[r.type],
    price: pbPrice(r.price),
    size: pbSize(r.size),
    tif: r.tif === undefined ? PbTif.TIME_IN_FORCE_UNSPECIFIED : TIF_PB[r.tif],
    postOnly: r.postOnly === true,
    clientId: r.clientId ?? '',
  };
}

/**
 * The request the broker is given. Unset or unknown enums become absent fields, so the broker
 * refuses them with the error a TypeScript strategy would get (`MDCAP_ERR_INVALID_ORDER`).
 */
export function orderRequestFromPb(m: PbOrderRequest): OrderRequest {
  const r: Record<string, unknown> = { symbol: m.symbol, side: SIDE_OF[m.side] };
  if (m.venue !== '') r['venue'] = m.venue;
  if (m.type !== PbType.ORDER_TYPE_UNSPECIFIED) r['type'] = TYPE_OF[m.type] ?? `unknown(${m.type})`;
  if (m.price !== undefined) r['price'] = m.price.value;
  if (m.size !== undefined) r['size'] = m.size.value;
  if (m.tif !== PbTif.TIME_IN_FORCE_UNSPECIFIED) r['tif'] = TIF_OF[m.tif] ?? `unknown(${m.tif})`;
  if (m.postOnly) r['postOnly'] = true;
  if (m.clientId !== '') r['clientId'] = m.clientId;
  return r as unknown as OrderRequest;
}

export function cancelToPb(orderId: number): PbCancel {
  return { orderId: BigInt(orderId) };
}

export function replaceToPb(orderId: number, r: ReplaceRequest): PbReplace {
  return { orderId: BigInt(orderId), price: pbPrice(r.price), size: pbSize(r.size) };
}

export function replaceFromPb(m: PbReplace): { orderId: number; request: ReplaceRequest } {
  const r: { price?: bigint | string; size?: bigint | string } = {};
  if (m.price !== undefined) r.price = m.price.value;
  if (m.size !== undefined) r.size = m.size.value;
  return { orderId: orderIdOf(m.orderId), request: r };
}

/** An order id from the wire as the broker's number (ids beyond 2^53 name no order). */
export function orderIdOf(id: bigint): number {
  return id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : -1;
}

export function orderStateToPb(o: OrderState): PbOrderState {
  return {
    id: BigInt(o.id),
    clientId: o.clientId ?? undefined,
    venue: o.venue,
    symbol: o.symbol,
    side: SIDE_PB[o.side],
    type: TYPE_PB[o.type],
    tif: TIF_PB[o.tif],
    postOnly: o.postOnly,
    price: o.price ?? undefined,
    size: o.size,
    filled: o.filled,
    priceScale: o.priceScale,
    sizeScale: o.sizeScale,
    status: STATUS_PB[o.status],
    reject: o.reject ?? '',
    detail: o.detail,
    tsSubmit: o.tsSubmit,
    tsVenue: o.tsVenue,
    tsRecv: o.tsRecv,
    queueAhead: o.queueAhead ?? undefined,
  };
}

export function orderStateFromPb(m: PbOrderState): OrderState {
  return {
    id: Number(m.id),
    clientId: m.clientId ?? null,
    venue: m.venue,
    symbol: m.symbol,
    side: SIDE_OF[m.side] ?? 'buy',
    type: TYPE_OF[m.type] ?? 'limit',
    tif: TIF_OF[m.tif] ?? 'gtc',
    postOnly: m.postOnly,
    price: m.price ?? null,
    size: m.size,
    filled: m.filled,
    priceScale: m.priceScale,
    sizeScale: m.sizeScale,
    status: STATUSES[m.status] ?? 'pending',
    reject: m.reject === '' ? null : (m.reject as RejectReason),
    detail: m.detail,
    tsSubmit: m.tsSubmit,
    tsVenue: m.tsVenue,
    tsRecv: m.tsRecv,
    queueAhead: m.queueAhead ?? null,
  };
}

export function fillToPb(f: Fill): PbFill {
  return {
    fillId: BigInt(f.fillId),
    orderId: BigInt(f.orderId),
    clientId: f.clientId ?? undefined,
    venue: f.venue,
    symbol: f.symbol,
    side: SIDE_PB[f.side],
    price: f.price,
    size: f.size,
    priceScale: f.priceScale,
    sizeScale: f.sizeScale,
    liquidity: LIQ_PB[f.liquidity],
    fee: f.fee.toString(),
    moneyScale: f.moneyScale,
    position: f.position,
    tsVenue: f.tsVenue,
    tsRecv: f.tsRecv,
  };
}

export function fillFromPb(m: PbFill): Fill {
  return {
    fillId: Number(m.fillId),
    orderId: Number(m.orderId),
    clientId: m.clientId ?? null,
    venue: m.venue,
    symbol: m.symbol,
    side: SIDE_OF[m.side] ?? 'buy',
    price: m.price,
    size: m.size,
    priceScale: m.priceScale,
    sizeScale: m.sizeScale,
    liquidity: m.liquidity === PbLiquidity.LIQUIDITY_TAKER ? 'taker' : 'maker',
    fee: money(m.fee),
    moneyScale: m.moneyScale,
    position: m.position,
    tsVenue: m.tsVenue,
    tsRecv: m.tsRecv,
  };
}

/** Money mantissa digits from the wire ("" is 0). */
function money(text: string): bigint {
  return text === '' ? 0n : BigInt(text);
}

function positionToPb(p: PositionState): PbPosition {
  return {
    venue: p.venue,
    symbol: p.symbol,
    size: p.size,
    priceScale: p.priceScale,
    sizeScale: p.sizeScale,
    moneyScale: p.moneyScale,
    cash: p.cash.toString(),
    realized: p.realized.toString(),
    unrealized: p.unrealized.toString(),
    fees: p.fees.toString(),
    pnl: p.pnl.toString(),
    mark: p.mark === null ? undefined : p.mark.toString(),
    bought: p.bought,
    sold: p.sold,
    turnover: p.turnover.toString(),
  };
}

function positionFromPb(m: PbPosition): PositionState {
  return {
    venue: m.venue,
    symbol: m.symbol,
    size: m.size,
    priceScale: m.priceScale,
    sizeScale: m.sizeScale,
    moneyScale: m.moneyScale,
    cash: money(m.cash),
    realized: money(m.realized),
    unrealized: money(m.unrealized),
    fees: money(m.fees),
    pnl: money(m.pnl),
    mark: m.mark === undefined ? null : money(m.mark),
    bought: m.bought,
    sold: m.sold,
    turnover: money(m.turnover),
  };
}

export function summaryToPb(s: BacktestSummary): PbSummary {
  return {
    start: s.start ?? undefined,
    end: s.end ?? undefined,
    interval: s.interval,
    moneyScale: s.moneyScale,
    pnl: s.pnl.toString(),
    realized: s.realized.toString(),
    unrealized: s.unrealized.toString(),
    fees: s.fees.toString(),
    turnover: s.turnover.toString(),
    maxDrawdown: s.maxDrawdown.toString(),
    sharpe: s.sharpe ?? undefined,
    orders: BigInt(s.orders),
    rejected: BigInt(s.rejected),
    cancelled: BigInt(s.cancelled),
    fills: BigInt(s.fills),
    makerFills: BigInt(s.makerFills),
    takerFills: BigInt(s.takerFills),
    fillRatio: s.fillRatio ?? undefined,
    positions: s.positions.map(positionToPb),
  };
}

export function summaryFromPb(m: PbSummary): BacktestSummary {
  return {
    start: m.start ?? null,
    end: m.end ?? null,
    interval: m.interval,
    moneyScale: m.moneyScale,
    pnl: money(m.pnl),
    realized: money(m.realized),
    unrealized: money(m.unrealized),
    fees: money(m.fees),
    turnover: money(m.turnover),
    maxDrawdown: money(m.maxDrawdown),
    sharpe: m.sharpe ?? null,
    orders: Number(m.orders),
    rejected: Number(m.rejected),
    cancelled: Number(m.cancelled),
    fills: Number(m.fills),
    makerFills: Number(m.makerFills),
    takerFills: Number(m.takerFills),
    fillRatio: m.fillRatio ?? null,
    positions: m.positions.map(positionFromPb),
  };
}
