/**
 * @mdcap/core: the exact event model, decimals, instruments, clocks, errors and the provider
 * contract. Pure: no I/O, no dependencies, and time only from an injected clock.
 */
export {
  ERROR_CODES,
  MdcapError,
  DecimalError,
  EventError,
  InstrumentError,
  ClockError,
  ConfigError,
  ProviderError,
  EngineStateError,
  CallbackError,
  RingError,
  CaptureError,
  describeValue,
} from './errors.js';
export type { MdcapErrorCode, MdcapErrorOptions } from './errors.js';

export { MAX_SCALE, checkScale, parseDecimal, parseDecimalExact, formatDecimal, rescale } from './decimal.js';

export { EVENT_TYPES, AGGRESSOR_SIDES, BOOK_SIDES, ORDER_ACTIONS, STATUS_KINDS, ALL_SYMBOLS, BookFlags, BarFlags } from './events.js';
export { validateEvent, isWellFormed } from './validate.js';
export { createTrade, createQuote, createBookUpdate, createOrderUpdate, createBar, createStatus } from './factories.js';
export { eventToJson, formatEventJson, checkSameScale } from './event-json.js';
export { TradeBatchView } from './columns.js';
export type { TradeBatch, TradeColumns } from './columns.js';
export type {
  EventType,
  AggressorSide,
  BookSide,
  Trade,
  Quote,
  BookUpdate,
  OrderAction,
  OrderUpdate,
  Bar,
  StatusKind,
  Status,
  MarketEvent,
  EventOf,
  TradeInit,
  QuoteInit,
  BookUpdateInit,
  OrderUpdateInit,
  BarInit,
  StatusInit,
} from './events.js';
export type { JsonEventValue } from './event-json.js';

export { ORDER_STATUSES } from './execution.js';
export type {
  OrderSide,
  OrderType,
  TimeInForce,
  OrderStatus,
  RejectReason,
  OrderRequest,
  ReplaceRequest,
  OrderState,
  Liquidity,
  Fill,
  PositionState,
  PnlState,
  Broker,
} from './execution.js';

export { InstrumentRegistry } from './instruments.js';
export type { Instrument, InstrumentKind } from './instruments.js';

export { VirtualClock, LiveClock } from './clock.js';
export { nextTurn, printError, utf8Decoder, utf8Encoder } from './host.js';
export { PauseGate } from './pause-gate.js';
export type { Clock, LiveClockAnchor, TimerId, TimerScheduler } from './clock.js';

export { NS_PER_US, NS_PER_MS, NS_PER_SECOND, msToNs, usToNs, secondsToNs, isoToNs, nsToIso, parseDuration, timeFraction } from './time.js';

export { SUBSCRIPTION_KINDS, isDataProvider, toDataProvider, streamProvider } from './provider.js';
export type {
  SequenceRule,
  SubscriptionKind,
  EventSink,
  DataProvider,
  EventSource,
  EventStreamProvider,
  StreamProviderOptions,
} from './provider.js';
