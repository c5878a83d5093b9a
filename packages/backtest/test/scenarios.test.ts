import type { MdcapError } from '@mdcap/core';
import type { Fill, MarketEvent, OrderState } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { describe, expect, it } from 'vitest';
import { BacktestSession, formatMoney } from '../src/index.js';
import { MS, SYMBOL, T0, VENUE, at, gap, level, runEvents, snapshot, trade } from './helpers.js';

/** The book all scenarios start from: bids 100.00×10, 99.99×20; asks 100.01×5, 100.02×7, 100.05×50. */
const BOOK: readonly MarketEvent[] = snapshot(
  T0,
  [
    [10000n, 10n],
    [9999n, 20n],
  ],
  [
    [10001n, 5n],
    [10002n, 7n],
    [10005n, 50n],
  ],
);

const fillRows = (fills: readonly Fill[]) =>
  fills.map((f) => [f.orderId, f.side, f.price, f.size, f.liquidity, f.tsVenue - T0, f.tsRecv - T0]);
const lastOf = (s: BacktestSession, id: number): OrderState => s.orderUpdates.filter((o) => o.id === id).at(-1)!;

describe('a resting limit order and its queue (L2, conservative)', () => {
  it('fills exactly when the trades at its price pass the size ahead of it, partly then fully', async () => {
    const events = [
      ...BOOK,
      trade(T0 + 2n * MS, 10000n, 6n, 'sell'), // 10 ahead → 4
      level(T0 + 2n * MS, 'bid', 10000n, 4n),
      trade(T0 + 3n * MS, 10000n, 3n, 'buy'), // a buyer lifting an ask at 100.00 cannot hit a bid
      trade(T0 + 4n * MS, 10000n, 5n, 'sell'), // 4 ahead: 1 fills this order (3 left)
      level(T0 + 4n * MS, 'bid', 10000n, 0n),
      level(T0 + 5n * MS, 'bid', 10000n, 8n), // new orders join behind
      trade(T0 + 6n * MS, 10000n, 2n, 'sell'), // nothing ahead: 2 more (1 left)
      trade(T0 + 7n * MS, 10000n, 9n, 'sell'), // the last 1
    ];
    const s = await runEvents(events, (session, engine) => {
      at(engine, T0 + MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '4' }));
    });
    expect(fillRows(s.fills)).toEqual([
      [1, 'buy', 10000n, 1n, 'maker', 4n * MS, 4n * MS],
      [1, 'buy', 10000n, 2n, 'maker', 6n * MS, 6n * MS],
      [1, 'buy', 10000n, 1n, 'maker', 7n * MS, 7n * MS],
    ]);
    expect(s.orderUpdates.map((o) => [o.status, o.queueAhead, o.filled])).toEqual([
      ['open', 10n, 0n],
      ['filled', null, 4n],
    ]);
  });

  it("the strategy's own earlier order at the same price is ahead of its later one", async () => {
    const events = [
      ...BOOK,
      trade(T0 + MS, 10001n, 1n, 'buy'),
      trade(T0 + 2n * MS, 10000n, 13n, 'sell'),
      trade(T0 + 3n * MS, 10000n, 5n, 'sell'),
    ];
    const s = await runEvents(events, (session, engine) => {
      at(engine, T0 + MS, () => {
        session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '2' });
        session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '3' });
      });
    });
    // 13 traded: 10 real ahead, then order 1's 2, then 1 for order 2; then 5 more: order 2's last 2.
    expect(s.fills.map((f) => [f.orderId, f.size, f.tsVenue - T0])).toEqual([
      [1, 2n, 2n * MS],
      [2, 1n, 2n * MS],
      [2, 2n, 3n * MS],
    ]);
  });

  it('a cancel ahead moves the order up only when the level shrinks below the size ahead', async () => {
    const events = [
      ...BOOK,
      level(T0 + 2n * MS, 'bid', 10000n, 16n), // 6 joined behind: 10 ahead
      level(T0 + 3n * MS, 'bid', 10000n, 9n), // 7 cancelled: the level is 9, so at most 9 ahead
      trade(T0 + 4n * MS, 10000n, 9n, 'sell'), // all 9 ahead trade: nothing for this order
      trade(T0 + 5n * MS, 10000n, 1n, 'sell'), // 1 of 2
    ];
    const s = await runEvents(events, (session, engine) => {
      at(engine, T0 + MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '2' }));
    });
    expect(fillRows(s.fills)).toEqual([[1, 'buy', 10000n, 1n, 'maker', 5n * MS, 5n * MS]]);
  });

  it('the prob model takes a share of each cancel from ahead: f(x) = x²', async () => {
    const events = [
      ...BOOK,
      level(T0 + 2n * MS, 'bid', 10000n, 20n), // 10 behind, 10 ahead
      level(T0 + 3n * MS, 'bid', 10000n, 10n), // 10 cancelled: 10·10²/(10²+10²) = 5 from ahead
      trade(T0 + 4n * MS, 10000n, 6n, 'sell'), // 5 ahead: 1 fills
    ];
    const s = await runEvents(
      events,
      (session, engine) => {
        at(engine, T0 + MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '3' }));
      },
      { queue: { kind: 'prob', power: 2 } },
    );
    expect(fillRows(s.fills)).toEqual([[1, 'buy', 10000n, 1n, 'maker', 4n * MS, 4n * MS]]);
  });

  it('a trade through the price, or the other side reaching it, fills the rest at the order price', async () => {
    const events = [
      ...BOOK,
      trade(T0 + MS, 10001n, 1n, 'buy'),
      trade(T0 + 2n * MS, 9999n, 1n, 'sell'), // a seller went below 100.00: every bid at 100.00 traded
      level(T0 + 3n * MS, 'ask', 10001n, 0n),
      level(T0 + 4n * MS, 'ask', 10002n, 0n), // the asks now start at 100.05
      level(T0 + 6n * MS, 'ask', 10003n, 4n), // a seller at 100.03 meets the bid at 100.03
    ];
    const s = await runEvents(events, (session, engine) => {
      at(engine, T0 + MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '2' }));
      at(engine, T0 + 5n * MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.03', size: '3' }));
    });
    // The sale at 99.99 went through 100.00 (order 1); the ask that came down to 100.03 reached order 2,
    // alone at its price (nothing ahead), without the book crossing.
    expect(fillRows(s.fills)).toEqual([
      [1, 'buy', 10000n, 2n, 'maker', 2n * MS, 2n * MS],
      [2, 'buy', 10003n, 3n, 'maker', 6n * MS, 6n * MS],
    ]);
  });
});

describe('orders that take liquidity', () => {
  it('a market order pays the walk through the book at its arrival', async () => {
    const s = await runEvents(BOOK.concat(trade(T0 + 5n * MS, 10001n, 1n, 'buy')), (session, engine) => {
      at(engine, T0 + 5n * MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', size: '15' }));
    });
    // 5 @ 100.01, 7 @ 100.02, 3 @ 100.05: 1500.34 in all.
    expect(fillRows(s.fills)).toEqual([
      [1, 'buy', 10001n, 5n, 'taker', 5n * MS, 5n * MS],
      [1, 'buy', 10002n, 7n, 'taker', 5n * MS, 5n * MS],
      [1, 'buy', 10005n, 3n, 'taker', 5n * MS, 5n * MS],
    ]);
    const notional = s.fills.reduce((n, f) => n + f.price * f.size, 0n);
    expect(notional).toBe(150034n);
    expect(lastOf(s, 1).status).toBe('filled');
  });

  it('a market order larger than the book fills what is there and cancels the rest', async () => {
    const s = await runEvents(BOOK.concat(trade(T0 + MS, 10001n, 1n, 'buy')), (session, engine) => {
      at(engine, T0 + MS, () => session.broker.submit({ symbol: SYMBOL, side: 'sell', size: '35' }));
    });
    expect(s.fills.map((f) => [f.price, f.size])).toEqual([
      [10000n, 10n],
      [9999n, 20n],
    ]);
    expect(lastOf(s, 1)).toMatchObject({ status: 'cancelled', filled: 30n });
    expect(lastOf(s, 1).detail).toMatch(/rest \(5 of 35\) found no liquidity/);
  });

  it('IOC takes what the limit allows and cancels the rest; FOK all or nothing; post-only never takes', async () => {
    const s = await runEvents(BOOK.concat(trade(T0 + MS, 10001n, 1n, 'buy')), (session, engine) => {
      at(engine, T0 + MS, () => {
        const b = session.broker;
        b.submit({ symbol: SYMBOL, side: 'buy', price: '100.02', size: '20', tif: 'ioc' }); // 1: 5 + 7, rest cancelled
        b.submit({ symbol: SYMBOL, side: 'buy', price: '100.02', size: '13', tif: 'fok' }); // 2: 12 available: nothing
        b.submit({ symbol: SYMBOL, side: 'buy', price: '100.02', size: '12', tif: 'fok' }); // 3: all 12
        b.submit({ symbol: SYMBOL, side: 'buy', price: '100.01', size: '1', postOnly: true }); // 4: would cross
        b.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '1', postOnly: true }); // 5: rests
      });
    });
    expect(s.fills.map((f) => [f.orderId, f.price, f.size])).toEqual([
      [1, 10001n, 5n],
      [1, 10002n, 7n],
      [3, 10001n, 5n],
      [3, 10002n, 7n],
    ]);
    expect([1, 2, 3, 4, 5].map((id) => [lastOf(s, id).status, lastOf(s, id).reject])).toEqual([
      ['cancelled', null],
      ['cancelled', null],
      ['filled', null],
      ['rejected', 'post-only-would-cross'],
      ['open', null],
    ]);
    expect(lastOf(s, 2).detail).toMatch(/fill-or-kill: only 12 of 13/);
  });
});

describe('latency', () => {
  // Between the submit (1 ms) and the arrival the asks change at 3 ms.
  const events = [
    ...BOOK,
    trade(T0 + MS, 10001n, 1n, 'buy'),
    level(T0 + 3n * MS, 'ask', 10001n, 0n),
    level(T0 + 3n * MS, 'bid', 10000n, 25n),
    trade(T0 + 8n * MS, 10000n, 30n, 'sell'),
  ];
  const strategy = (session: BacktestSession, engine: RealtimeEngine) =>
    at(engine, T0 + MS, () => {
      session.broker.submit({ symbol: SYMBOL, side: 'buy', size: '3' });
      session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '2' });
    });

  it('without latency the orders meet the book of their submit', async () => {
    const s = await runEvents(events, strategy);
    // The market order takes 100.01; the limit joins behind 10 and 30 − 10 = 20 ≥ 2 fill it.
    expect(fillRows(s.fills)).toEqual([
      [1, 'buy', 10001n, 3n, 'taker', MS, MS],
      [2, 'buy', 10000n, 2n, 'maker', 8n * MS, 8n * MS],
    ]);
  });

  it('an entry latency of 4 ms meets the book 4 ms later; an ack latency of 1 ms reports 1 ms after the venue', async () => {
    const s = await runEvents(events, strategy, { latency: { entry: '4ms', ack: '1ms' } });
    // At 5 ms the asks start at 100.02 and the bid level is 25 ahead: 30 − 25 = 5 ≥ 2.
    expect(fillRows(s.fills)).toEqual([
      [1, 'buy', 10002n, 3n, 'taker', 5n * MS, 6n * MS],
      [2, 'buy', 10000n, 2n, 'maker', 8n * MS, 9n * MS],
    ]);
    expect(s.orderUpdates.filter((o) => o.id === 2).map((o) => [o.status, o.queueAhead, o.tsVenue - T0, o.tsRecv - T0])).toEqual([
      ['open', 25n, 5n * MS, 6n * MS],
      ['filled', null, 8n * MS, 9n * MS],
    ]);
  });

  it('a feed latency moves the match later on the clock but keeps venue time; a report never precedes its data', async () => {
    const s = await runEvents(events, strategy, { latency: { entry: '1ms', feed: '2ms', ack: '500us' } });
    // Venue time 2 ms, seen on the clock at 4 ms (after the 3 ms change): reported at max(2.5 ms, 4 ms).
    expect(fillRows(s.fills)[0]).toEqual([1, 'buy', 10002n, 3n, 'taker', 2n * MS, 4n * MS]);
    expect(s.fills.every((f) => f.tsRecv >= f.tsVenue)).toBe(true);
  });

  it('a cancel that arrives after the fill is answered too-late', async () => {
    const s = await runEvents(
      events.concat(trade(T0 + 10n * MS, 10002n, 1n, 'buy')),
      (session, engine) => {
        at(engine, T0 + MS, () => {
          const o = session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '2' });
          engine.setTimer(T0 + 8n * MS, () => session.broker.cancel(o.id)); // before the trade at 8 ms, arriving after it
        });
      },
      { latency: { entry: '100us' } },
    );
    expect(s.fills.map((f) => f.size)).toEqual([2n]);
    expect(lastOf(s, 1)).toMatchObject({ status: 'filled', reject: 'too-late' });
  });
});

describe('cancel and replace', () => {
  it('a smaller size keeps the queue place; a new price goes to the back of the new level', async () => {
    const events = [
      ...BOOK,
      level(T0 + 2n * MS, 'bid', 10000n, 14n), // 4 join behind order 1
      trade(T0 + 4n * MS, 10000n, 11n, 'sell'), // order 1 (10 ahead, now size 2): 1 fills
      trade(T0 + 6n * MS, 9999n, 25n, 'sell'), // through order 1's 100.00: its last 1; order 2 moved to 99.99 behind 20: 3
    ];
    const s = await runEvents(events, (session, engine) => {
      at(engine, T0 + MS, () => {
        session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '5' });
        session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '3' });
      });
      at(engine, T0 + 3n * MS, () => {
        session.broker.replace(1, { size: '2' });
        session.broker.replace(2, { price: '99.99' });
      });
    });
    expect(s.fills.map((f) => [f.orderId, f.price, f.size])).toEqual([
      [1, 10000n, 1n],
      [1, 10000n, 1n],
      [2, 9999n, 3n],
    ]);
    const o1 = s.orderUpdates.filter((o) => o.id === 1).map((o) => [o.status, o.size, o.queueAhead]);
    expect(o1).toEqual([
      ['open', 5n, 10n],
      ['open', 2n, 10n],
      ['filled', 2n, null],
    ]);
    expect(s.orderUpdates.filter((o) => o.id === 2).map((o) => [o.price, o.queueAhead])).toEqual([
      [10000n, 10n],
      [9999n, 20n],
      [9999n, null],
    ]);
  });

  it('cancels remove a resting order; openOrders follows what the strategy was told', async () => {
    const seen: number[] = [];
    const s = await runEvents(
      BOOK.concat(trade(T0 + MS, 10001n, 1n, 'buy'), trade(T0 + 5n * MS, 10000n, 50n, 'sell')),
      (session, engine) => {
        at(engine, T0 + MS, () => {
          const o = session.broker.submit({ symbol: SYMBOL, side: 'buy', price: '100.00', size: '1' });
          seen.push(session.broker.openOrders().length);
          session.broker.cancel(o.id);
          seen.push(session.broker.openOrders().length);
        });
      },
      { latency: { entry: '1ms' } },
    );
    expect(seen).toEqual([1, 1]); // the cancel is on its way
    expect(s.fills).toEqual([]);
    expect(lastOf(s, 1).status).toBe('cancelled');
    expect(s.broker.openOrders()).toEqual([]);
  });
});

describe('rejections', () => {
  it('unknown symbol, off the tick, more digits than the book, a position limit, an invalid book', async () => {
    const events = [...BOOK, trade(T0 + MS, 10001n, 1n, 'buy'), gap(T0 + 2n * MS), trade(T0 + 3n * MS, 10001n, 1n, 'buy')];
    const engine = new RealtimeEngine(events, {
      instruments: [{ venue: VENUE, symbol: SYMBOL, priceScale: 2, sizeScale: 0, tickSize: 5n }],
    });
    const session = new BacktestSession(engine, { maxPosition: { [SYMBOL]: '10' } });
    const b = session.broker;
    at(engine, T0 + MS, () => {
      b.submit({ symbol: 'NOPE', side: 'buy', size: '1' });
      b.submit({ symbol: SYMBOL, side: 'buy', price: '100.01', size: '1' }); // tick 0.05
      b.submit({ symbol: SYMBOL, side: 'buy', price: '100.001', size: '1' });
      b.submit({ symbol: SYMBOL, side: 'sell', price: '100.05', size: '11' });
      b.submit({ symbol: SYMBOL, side: 'sell', price: '100.05', size: '10' }); // within the limit: rests
    });
    at(engine, T0 + 3n * MS, () => b.submit({ symbol: SYMBOL, side: 'buy', size: '1' }));
    await engine.run([SYMBOL]);
    session.finish();
    expect(session.orderUpdates.filter((o) => o.status === 'rejected').map((o) => [o.id, o.reject])).toEqual([
      [1, 'unknown-symbol'],
      [2, 'tick-size'],
      [3, 'scale'],
      [4, 'position-limit'],
      [6, 'book-invalid'],
    ]);
    expect(session.orderUpdates.find((o) => o.id === 3)!.detail).toMatch(/at most 2 fraction digits/);
    expect(session.summary()).toMatchObject({ orders: 6, rejected: 5 });
  });

  it('a malformed request is a program error, MDCAP_ERR_INVALID_ORDER', () => {
    const engine = new RealtimeEngine(BOOK);
    const b = new BacktestSession(engine).broker;
    const bad = [
      { symbol: SYMBOL, side: 'long', size: '1' },
      { symbol: SYMBOL, side: 'buy', size: 1 },
      { symbol: SYMBOL, side: 'buy', type: 'market', price: '1', size: '1' },
      { symbol: SYMBOL, side: 'buy', type: 'limit', size: '1' },
      { symbol: SYMBOL, side: 'buy', size: '1', tif: 'day' },
    ];
    for (const r of bad) {
      expect(() => b.submit(r as never)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_ORDER' }) as MdcapError);
    }
  });
});

describe('money', () => {
  it('positions, cash, realized and unrealized PnL and fees are exact', async () => {
    const events = [
      ...BOOK,
      trade(T0 + MS, 10001n, 1n, 'buy'),
      level(T0 + 2n * MS, 'ask', 10001n, 5n),
      ...snapshot(T0 + 5n * MS, [[10010n, 10n]], [[10012n, 10n]]),
    ];
    const s = await runEvents(
      events,
      (session, engine) => {
        at(engine, T0 + MS, () => session.broker.submit({ symbol: SYMBOL, side: 'buy', size: '7' })); // 5 @ 100.01, 2 @ 100.02
        at(engine, T0 + 2n * MS, () => session.broker.submit({ symbol: SYMBOL, side: 'sell', size: '3' })); // 3 @ 100.00
      },
      { fees: { maker: '-0.0001', taker: '0.0004' } },
    );
    const p = s.broker.position(SYMBOL);
    expect(p.size).toBe(4n);
    expect(p.moneyScale).toBe(2 + 1 + 0 + 4);
    // Taker fees: (500.05 + 200.04 + 300.00) × 0.0004 = 0.400036.
    expect(formatMoney(p.fees, p.moneyScale)).toBe('0.400036');
    // FIFO: the 3 sold close 3 of the 5 bought at 100.01: 3 × (100.00 − 100.01) = −0.03.
    expect(formatMoney(p.realized, p.moneyScale)).toBe('-0.03');
    // Open: 2 @ 100.01 and 2 @ 100.02, marked at the mid 100.11: 0.20 + 0.18.
    expect(formatMoney(p.mark!, p.moneyScale - p.sizeScale)).toBe('100.11');
    expect(formatMoney(p.unrealized, p.moneyScale)).toBe('0.38');
    expect(formatMoney(p.pnl, p.moneyScale)).toBe('-0.050036');
    // cash + size × mark = pnl
    expect(p.cash + p.size * p.mark!).toBe(p.pnl);
    const sum = s.summary();
    expect(sum.pnl).toBe(p.pnl);
    expect(sum.turnover).toBe(p.turnover);
    expect(sum.fillRatio).toBe(1);
  });
});

describe('the engine side', () => {
  it('engine.orders, onFill and onOrder reach the attached broker; without one they say so', async () => {
    const bare = new RealtimeEngine(BOOK);
    expect(() => bare.orders).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_NO_BROKER' }) as MdcapError);
    expect(() => bare.onFill(() => undefined)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_NO_BROKER' }) as MdcapError);
    const fills: bigint[] = [];
    const statuses: string[] = [];
    const s = await runEvents(BOOK.concat(trade(T0 + MS, 10001n, 1n, 'buy')), (_session, engine) => {
      engine.onFill((f) => fills.push(f.size));
      engine.onOrder((o) => statuses.push(o.status));
      at(engine, T0 + MS, () => engine.orders.submit({ symbol: SYMBOL, side: 'buy', size: '2' }));
    });
    expect(fills).toEqual([2n]);
    expect(statuses).toEqual(['filled']);
    expect(s.broker.pnl().turnover).toBeGreaterThan(0n);
  });

  it('the equity curve is sampled on the clock from the first event, and the same run twice is identical', async () => {
    const events = [...BOOK];
    for (let i = 1; i <= 300; i++)
      events.push(trade(T0 + BigInt(i) * 1_000n * MS, i % 2 === 0 ? 10001n : 10000n, 1n, i % 2 === 0 ? 'buy' : 'sell'));
    const run = () =>
      runEvents(
        events,
        (session, engine) => {
          let n = 0;
          engine.onTrade(() => {
            if (++n % 25 === 0) session.broker.submit({ symbol: SYMBOL, side: n % 50 === 0 ? 'sell' : 'buy', size: '1' });
          });
        },
        { interval: 60 },
      );
    const a = await run();
    const b = await run();
    // T0 is on a minute: points at 1..5 minutes, the last one at the end of the data.
    expect(a.equity.map((e) => (e.ts - T0) / (60_000n * MS))).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(JSON.stringify(a.fills, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(
      JSON.stringify(b.fills, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    );
    expect(a.summary()).toEqual(b.summary());
    expect(a.summary().maxDrawdown).toBeGreaterThanOrEqual(0n);
  });
});
