import { describeWithDataset } from '@mdcap/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { MS, SYMBOL, T0, at, order, runEvents, snapshot, trade } from './helpers.js';
import { brokerOutcome, lobsterData, MBO_DATASET, mboData, oracle, topAt, topsByMessage } from './l3-data.js';
import type { L3Data, Outcome, Placement } from './l3-data.js';

/**
 * L3 truth (issue 15): on real L3 data, a simulated limit order placed behind real orders fills
 * exactly when the data shows the orders ahead of it executed or cancelled.
 *
 * The expected answer comes from `oracle` (l3-data.ts), which reads the raw messages of the
 * files by itself (not the engine, not the broker): every order resting at the order's price and
 * side at placement is ahead (for LOBSTER also the seed's size from before the sample, whose ids
 * show up only when they leave); they leave by their own cancels, executions and price changes;
 * the order fills at the first execution at its price of an order not ahead (placed later, or
 * hidden) once nothing is ahead, by that execution's size, and in full on an execution at a
 * worse price. Each placement runs the events through an engine and a BacktestSession (zero
 * latency); the order is placed right after a message, and probed at later messages by cutting
 * its size by one (a replace that keeps the queue place), which reports `queueAhead` again.
 * Compared: `queueAhead` at placement and at every probe, and every fill (the message that
 * caused it, and its size).
 */

const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v));

interface Case {
  readonly p: Placement;
  readonly want: Outcome;
  readonly got: Outcome & { level: bigint };
}

const describePlacement = (c: Case): string => `${c.p.side} ${c.p.size} at ${c.p.price} after message ${c.p.after}`;

/** Placements on a grid of times, both sides, the best and the second level. */
async function run(data: L3Data, afters: readonly number[], probeGaps: readonly number[], size: bigint): Promise<Case[]> {
  const tops = await topsByMessage(data);
  const last = data.messages[data.messages.length - 1]!.n;
  const cases: Case[] = [];
  for (const after of afters) {
    const top = topAt(tops, after);
    for (const side of ['buy', 'sell'] as const) {
      for (const level of [0, 1]) {
        const price = (side === 'buy' ? top.bids : top.asks)[level];
        if (price === undefined) continue;
        const probes = probeGaps
          .map((g) => data.boundaries.find((b) => b >= after + g))
          .filter((b): b is number => b !== undefined && b < last);
        const p: Placement = { after, side, price, size, probes };
        cases.push({ p, want: oracle(data, p), got: await brokerOutcome(data, p) });
      }
    }
  }
  return cases;
}

const queues = (o: Outcome): string => show(o.ahead);
const fills = (o: Outcome): string => show(o.fills);

describeWithDataset('lobster', 'L3 truth: LOBSTER AAPL (fill, then trade)', () => {
  let cases: Case[] = [];
  beforeAll(async () => {
    const data = lobsterData();
    // Every 50 messages from 25 to 975; three early placements while the seed's liquidity still
    // rests; and three where a real order later arrives priced through the simulated one.
    const afters = [2, 10, 15, ...Array.from({ length: 20 }, (_, i) => 25 + 50 * i), 260, 263, 470];
    cases = await run(data, afters, [50, 150, 300], 300n);
  });
  const clean = (): Case[] => cases.filter((c) => c.want.seededAhead === 0n && c.want.crossedBy.length === 0);
  const seeded = (): Case[] => cases.filter((c) => c.want.seededAhead > 0n);
  const crossed = (): Case[] => cases.filter((c) => c.want.seededAhead === 0n && c.want.crossedBy.length > 0);

  it('the oracle is sound: its queue at placement is the engine book’s level size, and price-time priority explains every execution', () => {
    expect(cases.length).toBeGreaterThan(80);
    for (const c of cases) {
      expect(c.want.ahead[0], describePlacement(c)).toBe(c.got.level);
      expect(c.want.anomalies, describePlacement(c)).toEqual([]);
    }
  });

  it('behind real orders known by id: queueAhead at placement and at every probe, and every fill, as the data shows', () => {
    const cs = clean();
    // The grid covers what it should: fills and no fills, both sides, both levels, partial fills.
    expect(cs.length).toBeGreaterThan(60);
    const filled = cs.filter((c) => c.want.fills.length > 0);
    expect(filled.length).toBeGreaterThan(20);
    expect(cs.length - filled.length).toBeGreaterThan(5);
    expect(new Set(filled.map((c) => c.p.side)).size).toBe(2);
    expect(filled.some((c) => c.want.fills.length > 1)).toBe(true);
    expect(filled.some((c) => c.want.ahead[0]! > 0n)).toBe(true);
    const wrong = cs.filter((c) => queues(c.got) !== queues(c.want) || fills(c.got) !== fills(c.want));
    expect(
      wrong.map(
        (c) =>
          `${describePlacement(c)}: queue ${queues(c.got)} fills ${fills(c.got)}, expected queue ${queues(c.want)} fills ${fills(c.want)}`,
      ),
    ).toEqual([]);
  });

  it('a few hand-checked placements (read off the message file)', () => {
    const find = (after: number, side: string, price: bigint): Case => {
      const c = cases.find((x) => x.p.after === after && x.p.side === side && x.p.price === price);
      if (c === undefined) throw new Error(`no placement ${side} at ${price} after ${after}`);
      return c;
    };
    // Sell 300 at 585.75 after message 25. Ahead: orders 3570647 (50), 3647221 (5) and 3647222 (7),
    // added by messages 20, 22, 24; message 26 adds 5230851 (20) behind ours. Messages 37 and 40
    // execute 3570647 (25 + 25), 41 and 42 the 5 and the 7: nothing is ahead any more. Message 43
    // executes 5230851, which is behind ours: ours would have traded first, 20. Message 44
    // executes an ask at 585.78, through our price: the other 280.
    const a = find(25, 'sell', 5_857_500n);
    expect(a.want.ahead[0]).toBe(62n);
    expect(a.want.fills).toEqual([
      [43, 20n],
      [44, 280n],
    ]);
    expect(show(a.got.ahead[0])).toBe(show(62n));
    expect(a.got.fills).toEqual(a.want.fills);
    // Every placement that fills does so at one of the data's executions on its side: never at a message without one.
    for (const c of clean()) for (const [n] of c.got.fills) expect(n, describePlacement(c)).toBeGreaterThan(c.p.after);
  });

  it('behind liquidity resting before the sample (seeded from the orderbook file): fills as the data shows', () => {
    const cs = seeded();
    expect(cs.length).toBeGreaterThan(3);
    const wrong = cs.filter((c) => fills(c.got) !== fills(c.want));
    expect(wrong.map((c) => `${describePlacement(c)}: fills ${fills(c.got)}, expected ${fills(c.want)}`)).toEqual([]);
  });

  // On an L3 book seeded from a level snapshot (LOBSTER's first orderbook row), the size at the
  // price beyond the orders known by id is real orders resting before the sample: ahead too.
  it('behind liquidity resting before the sample: queueAhead counts it', () => {
    const wrong = seeded().filter((c) => queues(c.got) !== queues(c.want));
    expect(wrong.map((c) => `${describePlacement(c)}: queue ${queues(c.got)}, expected ${queues(c.want)}`)).toEqual([]);
  });

  it('a real order arriving priced through the resting order fills it at the message the data shows', () => {
    const cs = crossed();
    expect(cs.length).toBeGreaterThan(0);
    for (const c of cs) {
      expect(c.got.fills[0]?.[0], describePlacement(c)).toBe(c.want.crossedBy[0]);
      expect(c.got.ahead[0], describePlacement(c)).toBe(c.want.ahead[0]);
    }
  });

  // On L3 data the crossing order's size is known (18, 66 or 1 against 300): the fill is that
  // size, not the whole rest (L2 books cannot say, and fill the rest).
  it('a real order arriving priced through the resting order fills it by that order’s size', () => {
    const wrong = crossed().filter((c) => fills(c.got) !== fills(c.want));
    expect(wrong.map((c) => `${describePlacement(c)}: fills ${fills(c.got)}, expected ${fills(c.want)}`)).toEqual([]);
  });
});

describeWithDataset(MBO_DATASET, 'L3 truth: Databento MBO, CME ESM4 (trade, then cancel or modify)', () => {
  let cases: Case[] = [];
  let data: L3Data;
  beforeAll(async () => {
    data = mboData();
    // Packet boundaries from the end of the start-of-day snapshot on, every 15th: placements before, during and after the trades.
    const live = data.boundaries.filter((b) => b >= 13_600);
    const afters = live.filter((_b, i) => i % 15 === 0);
    cases = await run(data, afters, [10, 40, 80, 120], 50n);
  });

  it('the oracle is sound: its queue at placement is the engine book’s level size, and price-time priority explains every execution', () => {
    expect(cases.length).toBeGreaterThan(40);
    for (const c of cases) {
      expect(c.want.ahead[0], describePlacement(c)).toBe(c.got.level);
      expect(c.want.anomalies, describePlacement(c)).toEqual([]);
      expect(c.want.seededAhead).toBe(0n);
    }
  });

  it('behind real orders: queueAhead at placement and at every probe follows their cancels, modifies and executions; no fill while any is ahead', () => {
    // The data's executions (5 trades, 6 lots, all lifting the ask at 5214.25) hit orders ahead of
    // any order placed in the live window: the truth is no fill, while the queue ahead shrinks by them.
    const trades = data.messages.filter((m) => m.kind === 'trade');
    expect(trades.map((m) => [m.side, m.price, m.size])).toEqual([
      ['ask', 5_214_250_000_000n, 1n],
      ['ask', 5_214_250_000_000n, 1n],
      ['ask', 5_214_250_000_000n, 1n],
      ['ask', 5_214_250_000_000n, 1n],
      ['ask', 5_214_250_000_000n, 2n],
    ]);
    const atTradedPrice = cases.filter((c) => c.p.side === 'sell' && c.p.price === 5_214_250_000_000n && c.p.after < trades[0]!.n);
    expect(atTradedPrice.length).toBeGreaterThan(3);
    // The queue ahead moved while the order waited (the probes see it), on both sides.
    expect(cases.filter((c) => new Set(c.want.ahead.map(String)).size > 1).length).toBeGreaterThan(20);
    for (const c of cases) expect(c.want.fills, describePlacement(c)).toEqual([]);
    const wrong = cases.filter((c) => queues(c.got) !== queues(c.want) || fills(c.got) !== fills(c.want));
    expect(
      wrong.map(
        (c) =>
          `${describePlacement(c)}: queue ${queues(c.got)} fills ${fills(c.got)}, expected queue ${queues(c.want)} fills ${fills(c.want)}`,
      ),
    ).toEqual([]);
  });

  it('a probe between the trade and the cancel that books it counts the execution once', () => {
    // Sell at 5214.25 placed before the first trade, probed right after every trade's packet.
    const trades = data.messages.filter((m) => m.kind === 'trade').map((m) => m.n);
    const probes = trades.map((n) => data.boundaries.find((b) => b > n)!);
    const p: Placement = { after: 13_700, side: 'sell', price: 5_214_250_000_000n, size: 50n, probes };
    const want = oracle(data, p);
    return brokerOutcome(data, p).then((got) => {
      expect(want.ahead.length).toBe(probes.length + 1);
      expect(queues(got)).toBe(queues(want));
      expect(got.fills).toEqual([]);
    });
  });
});

/** Seeded level size ahead, and a hidden execution, each in a few hand-made events. */
describe('L3 truth: minimal cases', () => {
  // 10 rest at 100.00 from an L2 seed (orders from before the sample); the book turns L3 with an
  // add elsewhere; a buy of 2 at 100.00 joins behind the 10. An execution of 4 of the seeded
  // orders (an id the book never saw added) leaves 6 ahead: no fill.
  it('an execution of seeded liquidity ahead does not fill the order', async () => {
    const events = [
      ...snapshot(T0, [[10000n, 10n]], [[10100n, 5n]]),
      order(T0 + MS, 'add', 1n, 'bid', 9900n, 1n),
      order(T0 + 3n * MS, 'fill', 99n, 'bid', 10000n, 4n),
      trade(T0 + 3n * MS, 10000n, 4n, 'sell'),
    ];
    const s = await runEvents(events, (session, engine) => {
      at(engine, T0 + 2n * MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '2' }));
    });
    expect(s.orderUpdates[0]!.queueAhead).toBe(10n);
    expect(s.fills).toEqual([]);
  });

  // A trade-only message (LOBSTER type 5, a hidden execution) at the order's price while orders
  // are ahead must not count against the next message: when that is the fill of the last order
  // ahead (fill, then its trade), the trade must not seem to exceed the queue (no fill of 3 with
  // nothing behind executed).
  it('a hidden execution while orders are ahead does not carry over to the next message', async () => {
    const events = [
      order(T0, 'clear', 0n, 'bid', 0n, 0n),
      order(T0, 'add', 1n, 'bid', 10000n, 5n),
      order(T0, 'add', 2n, 'ask', 10100n, 5n),
      trade(T0 + 2n * MS, 10000n, 3n, 'sell'), // hidden execution: no order update
      order(T0 + 3n * MS, 'fill', 1n, 'bid', 10000n, 5n), // the order ahead executes in full …
      trade(T0 + 3n * MS, 10000n, 5n, 'sell'), // … and prints
    ];
    const s = await runEvents(events, (session, engine) => {
      at(engine, T0 + MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '10' }));
    });
    expect(s.orderUpdates[0]!.queueAhead).toBe(5n);
    expect(s.fills).toEqual([]);
  });

  it('the same without the hidden execution: no fill, and the next execution at the price fills (control)', async () => {
    const events = [
      order(T0, 'clear', 0n, 'bid', 0n, 0n),
      order(T0, 'add', 1n, 'bid', 10000n, 5n),
      order(T0, 'add', 2n, 'ask', 10100n, 5n),
      order(T0 + 3n * MS, 'fill', 1n, 'bid', 10000n, 5n),
      trade(T0 + 3n * MS, 10000n, 5n, 'sell'),
      trade(T0 + 4n * MS, 10000n, 3n, 'sell'),
    ];
    const s = await runEvents(events, (session, engine) => {
      at(engine, T0 + MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '10' }));
    });
    expect(s.orderUpdates[0]!.queueAhead).toBe(5n);
    expect(s.fills.map((f) => [f.size, f.tsVenue - T0])).toEqual([[3n, 4n * MS]]);
  });
});
