import { ConfigError, NS_PER_SECOND, describeValue } from '@mdcap/core';
import type { Fill, OrderState, PnlState, PositionState } from '@mdcap/core';
import type { RealtimeEngine } from '@mdcap/engine';
import { pow10, toScale } from './account.js';
import { attachBroker } from './broker.js';
import type { BrokerOptions, SimulatedBroker } from './broker.js';

/** One point of the equity curve: the whole book's money at a bar close (and at the end). */
export interface EquityPoint extends PnlState {
  readonly ts: bigint;
}

/** What a backtest did, in numbers: money exact at `moneyScale`, ratios as numbers. */
export interface BacktestSummary extends PnlState {
  readonly start: bigint | null;
  readonly end: bigint | null;
  /** The equity curve's interval, seconds: Sharpe is on its returns. */
  readonly interval: number;
  /** Largest fall of PnL from an earlier peak on the equity curve (≥ 0). */
  readonly maxDrawdown: bigint;
  /** Mean over standard deviation of the curve's PnL changes, times √(intervals per year); null with fewer than 2 changes or none varying. */
  readonly sharpe: number | null;
  readonly orders: number;
  readonly rejected: number;
  readonly cancelled: number;
  readonly fills: number;
  readonly makerFills: number;
  readonly takerFills: number;
  /** Filled size over submitted size (0..1), null before any order. */
  readonly fillRatio: number | null;
  readonly positions: PositionState[];
}

export interface BacktestOptions extends BrokerOptions {
  /** Seconds between equity points (default 60). */
  readonly interval?: number;
}

/**
 * A broker on an engine plus the record a backtest keeps: every order update and fill, and an
 * equity curve sampled on the clock every `interval` seconds from the first event.
 * `summary()` at the end. The same for a replay and for paper trading on a live feed.
 */
export class BacktestSession {
  readonly broker: SimulatedBroker;
  readonly fills: Fill[] = [];
  readonly orderUpdates: OrderState[] = [];
  readonly equity: EquityPoint[] = [];
  readonly interval: number;
  private start: bigint | null = null;
  private timer: number | null = null;
  private finished = false;

  constructor(
    readonly engine: RealtimeEngine,
    options: BacktestOptions = {},
  ) {
    const interval = options.interval ?? 60;
    if (!Number.isInteger(interval) || interval <= 0) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `interval: expected a positive integer number of seconds, found ${describeValue(interval)}`,
      );
    }
    this.interval = interval;
    this.broker = attachBroker(engine, options);
    this.broker.onFill((f) => this.fills.push(f));
    this.broker.onOrder((o) => this.orderUpdates.push(o));
    const first = (): void => {
      if (this.start !== null) return;
      this.start = engine.clock.now();
      this.schedule(this.start);
      offs.forEach((off) => off());
    };
    const offs = [engine.onTrade(first), engine.onBookUpdate(first), engine.onOrderUpdate(first), engine.onQuote(first)];
  }

  private schedule(from: bigint): void {
    const step = BigInt(this.interval) * NS_PER_SECOND;
    const next = (from / step + 1n) * step;
    this.timer = this.engine.setTimer(next, () => {
      this.timer = null;
      if (this.finished) return;
      this.sample(next);
      this.schedule(next);
    });
  }

  private sample(ts: bigint): void {
    const p = this.broker.pnl();
    this.equity.push({
      ts,
      moneyScale: p.moneyScale,
      pnl: p.pnl,
      realized: p.realized,
      unrealized: p.unrealized,
      fees: p.fees,
      turnover: p.turnover,
    });
  }

  /**
   * Delivers the reports still on their way (see `flushReports`), stops sampling and takes the
   * last point at the clock's time. Call after the engine is done.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== null) this.engine.clearTimer(this.timer);
    this.timer = null;
    this.broker.flushReports();
    const now = this.engine.clock.now();
    if (this.start !== null && (this.equity.length === 0 || this.equity[this.equity.length - 1]!.ts < now)) this.sample(now);
  }

  summary(): BacktestSummary {
    const p = this.broker.pnl();
    const st = this.broker.stats();
    const scale = this.equity.reduce((m, e) => Math.max(m, e.moneyScale), p.moneyScale);
    let peak: bigint | null = null;
    let maxDrawdown = 0n;
    const changes: number[] = [];
    let prev: bigint | null = null;
    const unit = Number(pow10(Math.min(scale, 300)));
    for (const e of this.equity) {
      const v = toScale(e.pnl, e.moneyScale, scale);
      if (peak === null || v > peak) peak = v;
      if (peak - v > maxDrawdown) maxDrawdown = peak - v;
      if (prev !== null) changes.push(Number(v - prev) / unit);
      prev = v;
    }
    return {
      start: this.start,
      end: this.finished ? this.engine.clock.now() : null,
      interval: this.interval,
      moneyScale: scale,
      pnl: toScale(p.pnl, p.moneyScale, scale),
      realized: toScale(p.realized, p.moneyScale, scale),
      unrealized: toScale(p.unrealized, p.moneyScale, scale),
      fees: toScale(p.fees, p.moneyScale, scale),
      turnover: toScale(p.turnover, p.moneyScale, scale),
      maxDrawdown,
      sharpe: sharpe(changes, this.interval),
      orders: st.submitted,
      rejected: st.rejected,
      cancelled: st.cancelled,
      fills: st.fills,
      makerFills: st.makerFills,
      takerFills: st.takerFills,
      fillRatio: st.submittedSize === 0n ? null : ratio(st.filledSize, st.submittedSize),
      positions: this.broker.positions(),
    };
  }
}

const SECONDS_PER_YEAR = 365 * 24 * 3600;

function sharpe(changes: readonly number[], interval: number): number | null {
  if (changes.length < 2) return null;
  let sum = 0;
  for (const c of changes) sum += c;
  const mean = sum / changes.length;
  let ss = 0;
  for (const c of changes) ss += (c - mean) ** 2;
  const sd = Math.sqrt(ss / (changes.length - 1));
  if (!(sd > 0)) return null;
  return (mean / sd) * Math.sqrt(SECONDS_PER_YEAR / interval);
}

function ratio(a: bigint, b: bigint): number {
  // Six significant digits are plenty for a ratio; the sizes themselves stay exact.
  return Number((a * 1_000_000n) / b) / 1_000_000;
}
