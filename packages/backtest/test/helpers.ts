import { BookFlags, createBookUpdate, createOrderUpdate, createStatus, createTrade } from '@mdcap/core';
import type { AggressorSide, BookSide, BookUpdate, MarketEvent, OrderAction, OrderUpdate, Status, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { BacktestSession } from '../src/index.js';
import type { BacktestOptions } from '../src/index.js';

/** 2024-01-02T14:30:00Z */
export const T0 = 1_704_205_800_000_000_000n;
export const US = 1_000n;
export const MS = 1_000_000n;
export const VENUE = 'x';
export const SYMBOL = 'ABC';

const head = (t: bigint) => ({ venue: VENUE, symbol: SYMBOL, tsEvent: t, tsRecv: t, priceScale: 2, sizeScale: 0 });

/** An L2 level (price in cents, size in units), the last of its packet unless `more`. */
export function level(t: bigint, side: BookSide, price: bigint, size: bigint, flags: number = BookFlags.Last): BookUpdate {
  return createBookUpdate({ ...head(t), side, price, size, flags });
}

/** A complete two-sided L2 snapshot. */
export function snapshot(t: bigint, bids: [bigint, bigint][], asks: [bigint, bigint][]): BookUpdate[] {
  const all: [BookSide, bigint, bigint][] = [
    ...bids.map(([p, s]) => ['bid', p, s] as [BookSide, bigint, bigint]),
    ...asks.map(([p, s]) => ['ask', p, s] as [BookSide, bigint, bigint]),
  ];
  return all.map(([side, price, size], i) =>
    level(
      t,
      side,
      price,
      size,
      BookFlags.Snapshot | (i === 0 ? BookFlags.SnapshotBegin : 0) | (i === all.length - 1 ? BookFlags.SnapshotEnd | BookFlags.Last : 0),
    ),
  );
}

export function trade(t: bigint, price: bigint, size: bigint, side: AggressorSide): Trade {
  return createTrade({ ...head(t), price, size, side });
}

export function order(t: bigint, action: OrderAction, orderId: bigint, side: BookSide, price: bigint, size: bigint): OrderUpdate {
  return createOrderUpdate({ ...head(t), action, orderId, side, price, size, flags: BookFlags.Last });
}

export function gap(t: bigint): Status {
  return createStatus({ ...head(t), kind: 'gap', detail: 'test gap' });
}

/**
 * Runs `events` through an engine with a backtest session; `strategy` registers its callbacks
 * (after the broker, as a real run does). Returns the finished session.
 */
export async function runEvents(
  events: readonly MarketEvent[],
  strategy: (s: BacktestSession, engine: RealtimeEngine) => void,
  options: BacktestOptions = {},
): Promise<BacktestSession> {
  const engine = new RealtimeEngine(events);
  const session = new BacktestSession(engine, options);
  strategy(session, engine);
  await engine.run([SYMBOL]);
  session.finish();
  return session;
}

/** Calls `fn` once, at the first event at or after `t`. */
export function at(engine: RealtimeEngine, t: bigint, fn: () => void): void {
  let done = false;
  engine.onEvent(() => {
    if (!done && engine.clock.now() >= t) {
      done = true;
      fn();
    }
  });
}
