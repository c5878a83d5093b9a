/**
 * @mdcap/engine: the RealtimeEngine (callbacks, bars, books, reconnects, batches, async
 * iteration) over any DataProvider. Pure: no I/O; time only from the provider's clock.
 */
export { RealtimeEngine } from './engine.js';
export type { EngineOptions, EngineState, EngineStats } from './options.js';
export { BarAggregator } from './bars.js';
export type { BarTimestamp, EmptyBarPolicy, BarOptions, BarStats, TradeRows } from './bars.js';
export { OrderBook, BookTopBuffer } from './book.js';
export type { BookLevel, BookTop, BookView, BookStats } from './book.js';
export type { EventStreamOptions, BatchOptions, BatchCallback, SlowConsumerPolicy } from './consumers.js';
export { DEFAULT_RECONNECT_POLICY, checkReconnectPolicy, reconnectDelayMs } from './reconnect.js';
export type { ReconnectPolicy } from './reconnect.js';
