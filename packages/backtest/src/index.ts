/**
 * @mdcap/backtest: simulated execution over the engine's books (orders, queue position, latency,
 * fees, exact positions and PnL), the same broker for a replay and for paper trading on a live
 * feed. Pure: time only from the engine's clock. See docs/backtest.md.
 */
export { attachBroker, SimulatedBroker } from './broker.js';
export type { BrokerOptions, BrokerStats } from './broker.js';
export { Account, formatMoney } from './account.js';
export { latencyModel, queueModel, feeSchedule } from './models.js';
export type { LatencySpec, LatencyModel, QueueModelSpec, QueueModel, FeeRates, FeeSpec, FeeSchedule } from './models.js';
export { BacktestSession } from './session.js';
export type { BacktestOptions, BacktestSummary, EquityPoint } from './session.js';
export { defineStrategy } from './strategy.js';
export type { Strategy, StrategyContext } from './strategy.js';
