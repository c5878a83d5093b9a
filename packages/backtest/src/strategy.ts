import type { Broker } from '@mdcap/core';
import type { RealtimeEngine } from '@mdcap/engine';

/** What a strategy is given: the engine (market data callbacks, books, bars), its broker, its parameters. */
export interface StrategyContext<P extends Record<string, unknown> = Record<string, unknown>> {
  readonly engine: RealtimeEngine;
  readonly broker: Broker;
  /** The run's parameters: the strategy module's `params` export overlaid by the run's own (a sweep's row). */
  readonly params: P;
  readonly symbols: readonly string[];
}

/**
 * A strategy: registers its callbacks on `ctx.engine` and trades through `ctx.broker`. The same
 * function runs on a replay (`mdcap backtest`) and live in paper mode (`mdcap backtest --feed`).
 * A module exports it as `default` (or `strategy`), and may export default `params`.
 */
export type Strategy<P extends Record<string, unknown> = Record<string, unknown>> = (ctx: StrategyContext<P>) => void | Promise<void>;

/** Types a strategy function (an identity at run time). */
export function defineStrategy<P extends Record<string, unknown> = Record<string, unknown>>(fn: Strategy<P>): Strategy<P> {
  return fn;
}
