import { BarFlags, createTrade, isWellFormed, SUBSCRIPTION_KINDS, VirtualClock } from '@mdcap/core';
import type { DataProvider, EventSink, MarketEvent } from '@mdcap/core';
import { OrderBook, RealtimeEngine } from '@mdcap/engine';
import { describe, expect, it } from 'vitest';
import { advance, flush, level, ManualProvider, SEC, status, T0, trade } from './helpers.js';

/** Regressions for bugs found in review: each test failed before its fix. */

describe('lifecycle races', () => {
  it('a reconnect attempt still running through stop() and start() does not touch the new run', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    engine.onError(() => {});
    await engine.start(['AAPL']);
    let release!: () => void;
    const realConnect = p.connect.bind(p);
    // A connect that hangs; when it finally resolves, the provider has long moved on (the contract:
    // a new connect() abandons a pending one).
    p.connect = () => new Promise<void>((r) => (release = r));
    p.drop();
    p.clock.advanceTo(T0 + SEC); // the attempt starts and hangs in connect
    await flush();
    await engine.stop();
    p.connect = realConnect;
    await engine.start(['AAPL']);
    const newSink = p.sink;
    release(); // the old attempt's connect finally resolves
    await flush();
    expect(engine.status).toBe('running');
    expect(p.sink).toBe(newSink); // the old attempt did not disconnect the new run's connection
    const got: bigint[] = [];
    engine.onTrade((t) => got.push(t.price));
    newSink!.push(trade('AAPL', T0 + 2n * SEC, 7n, 1n));
    expect(got).toEqual([7n]);
  });

  it('a connection lost while start() subscribes is retried once start() is done', async () => {
    const p = new ManualProvider();
    const realSubscribe = p.subscribe.bind(p);
    p.subscribe = (symbol, kinds) => {
      p.sink!.lost(new Error('reset during subscribe'));
      return realSubscribe(symbol, kinds);
    };
    const engine = new RealtimeEngine(p);
    const statuses: string[] = [];
    engine.onStatus((s) => statuses.push(s.kind));
    await engine.start(['AAPL']);
    p.subscribe = realSubscribe;
    expect(statuses).toEqual(['disconnected']);
    await advance(p.clock, T0 + 2n * SEC);
    expect(statuses).toEqual(['disconnected', 'reconnected']);
    expect(engine.stats().reconnects).toEqual({ attempts: 1, succeeded: 1, gaveUp: 0 });
    await engine.stop();
  });

  it('an events() iterator created while the engine finishes ends instead of hanging', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    let release!: () => void;
    engine.onBatch(() => new Promise<void>((r) => (release = r)), { maxEvents: 1 });
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 1n, 1n));
    const stopping = engine.stop();
    await flush();
    const it = engine.events();
    const next = it.next();
    release();
    await stopping;
    expect(await next).toEqual({ value: undefined, done: true });
  });

  it('backpressure holds across a reconnect', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    engine.events({ highWaterMark: 2 });
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 1n, 1n), trade('AAPL', T0, 1n, 1n));
    expect(p.pauses).toBe(1);
    p.drop();
    await advance(p.clock, T0 + 2n * SEC);
    expect(p.pauses).toBe(2); // paused again on the new connection
    await engine.stop();
  });
});

describe('consumers', () => {
  it("onBatch with maxPending 1 under 'block' resumes the provider", async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    let release: (() => void) | null = null;
    engine.onBatch(() => new Promise<void>((r) => (release = r)), { maxEvents: 1, maxPending: 1 });
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 1n, 1n), trade('AAPL', T0, 2n, 1n));
    expect(p.pauses).toBe(1);
    (release as unknown as () => void)();
    await flush();
    expect(p.resumes).toBe(1);
    (release as unknown as () => void)();
    await engine.stop();
  });

  it("events({ overflow: 'drop' }) keeps exactly highWaterMark events", async () => {
    const many = Array.from({ length: 10 }, (_, i) => trade('AAPL', T0 + BigInt(i), BigInt(i), 1n));
    const engine = new RealtimeEngine(many);
    const it = engine.events({ highWaterMark: 3, overflow: 'drop' });
    await engine.run(['AAPL']);
    const prices: bigint[] = [];
    for await (const e of it) if (e.type === 'trade') prices.push(e.price);
    expect(prices).toEqual([7n, 8n, 9n]);
    expect(engine.stats().consumerDrops).toBe(7);
  });

  it('a consumer added by a callback starts with the next event', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    let it: AsyncIterableIterator<MarketEvent> | null = null;
    engine.onTrade(() => (it ??= engine.events()));
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 1n, 1n), trade('AAPL', T0, 2n, 1n));
    const first = await it!.next();
    expect(first.value).toMatchObject({ price: 2n });
    await engine.stop();
  });
});

describe('time and bars', () => {
  it('a malformed event in a plain stream moves neither the clock nor the bars', async () => {
    const clock = new VirtualClock(T0);
    const bad = { ...trade('AAPL', T0 + 30n * SEC, 1n, 1n), tsRecv: 2n ** 64n - 1n } as MarketEvent;
    expect(isWellFormed(bad)).toBe(false);
    const events = [trade('AAPL', T0 + SEC, 15000n, 1n), bad, trade('AAPL', T0 + 2n * SEC, 15100n, 1n)];
    const engine = new RealtimeEngine({ clock, events: () => events });
    engine.setBarInterval(60);
    const bars: string[] = [];
    engine.onBar((b) => bars.push(`${b.trades} trades, flags ${b.flags}`));
    const errors: string[] = [];
    engine.onError((e) => errors.push(e.code));
    await engine.run(['AAPL']);
    expect(errors).toEqual(['MDCAP_ERR_INVALID_TIMESTAMP']);
    expect(bars).toEqual([`2 trades, flags ${BarFlags.Partial}`]);
    expect(engine.stats().bars.lateTrades).toBe(0);
  });

  it('a buffering provider delivers what it holds before a bar timer runs (poll)', async () => {
    const clock = new VirtualClock(T0);
    const held: MarketEvent[] = [];
    let sink: EventSink | null = null;
    const polls: bigint[] = [];
    const p: DataProvider = {
      venue: 'test',
      clock,
      kinds: SUBSCRIPTION_KINDS,
      connect: (s) => {
        sink = s;
        return Promise.resolve();
      },
      subscribe: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      poll: (before) => {
        polls.push(before);
        while (held.length > 0 && held[0]!.tsRecv < before) sink!.push(held.shift()!);
      },
    };
    const engine = new RealtimeEngine(p, { barGraceMs: 0 });
    engine.setBarInterval(60);
    const bars: number[] = [];
    engine.onBar((b) => bars.push(b.trades));
    await engine.start(['AAPL']);
    sink!.push(trade('AAPL', T0 + SEC, 1n, 1n));
    held.push(trade('AAPL', T0 + 59n * SEC, 2n, 1n), trade('AAPL', T0 + 61n * SEC, 3n, 1n));
    clock.advanceTo(T0 + 60n * SEC); // the bar timer: the trade at 59 s is still in the buffer
    expect(polls).toEqual([T0 + 60n * SEC]);
    expect(bars).toEqual([2]);
    expect(held).toHaveLength(1); // the trade at 61 s stays until its time
    expect(engine.stats().bars.lateTrades).toBe(0);
    await engine.stop();
  });

  it('bars that close together come out in the order their symbols first traded', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    engine.setBarInterval(60);
    const order: string[] = [];
    engine.onBar((b) => order.push(b.symbol));
    await engine.start(['A', 'B']);
    p.push(status('B', T0, 'resync'), trade('A', T0 + SEC, 1n, 1n), trade('B', T0 + 2n * SEC, 1n, 1n));
    p.clock.advanceTo(T0 + 2n * 60n * SEC);
    expect(order).toEqual(['A', 'B']);
    await engine.stop();
  });

  it('a trade that would overflow a bar volume is left out of every interval', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    engine.setBarInterval(60, 300);
    const errors: string[] = [];
    engine.onError((e) => errors.push(e.code));
    const bars: string[] = [];
    engine.onBar((b) => bars.push(`${b.interval}: high ${b.high} close ${b.close} n ${b.trades}`));
    await engine.start(['A']);
    const big = 2n ** 63n - 10n;
    p.push(trade('A', T0 + SEC, 5n, 1n), trade('A', T0 + 70n * SEC, 6n, big), trade('A', T0 + 80n * SEC, 999n, 100n));
    p.clock.advanceTo(T0 + 301n * SEC);
    expect(errors).toEqual(['MDCAP_ERR_DECIMAL_RANGE']);
    expect(bars).toEqual(['60: high 5 close 5 n 1', '60: high 6 close 6 n 1', '300: high 6 close 6 n 2']);
    await engine.stop();
  });
});

describe('books', () => {
  it('an empty snapshot is not a removed missing level', () => {
    const b = new OrderBook('test', 'A');
    b.applyBookUpdate(level('A', T0, 'bid', 0n, 0n, 1 | 2 | 4 | 8));
    expect(b.stats().removedMissingLevel).toBe(0);
  });

  it('books: false creates no books in stats', async () => {
    const engine = new RealtimeEngine(
      [
        createTrade({ venue: 'test', symbol: 'A', tsEvent: T0, tsRecv: T0, price: 1n, size: 1n, priceScale: 0, sizeScale: 0 }),
        level('A', T0, 'bid', 1n, 1n, 6),
      ],
      { books: false },
    );
    await engine.run(['A']);
    expect(engine.stats().books).toBe(0);
  });
});

describe('second review', () => {
  it('a callback registered during an event starts with the next event, even from onEvent', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const seen: bigint[] = [];
    let added = false;
    engine.onEvent(() => {
      if (!added) engine.onTrade((t) => seen.push(t.price));
      added = true;
    });
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 1n, 1n), trade('AAPL', T0, 2n, 1n));
    expect(seen).toEqual([2n]);
    await engine.stop();
  });

  it('book(symbol) asked before any update is the book the first venue fills', async () => {
    const events = [level('AAPL', T0, 'bid', 100n, 5n, 2 | 4 | 8, 'demo')];
    const engine = new RealtimeEngine(events); // the stream's own venue name is "stream"
    const early: { valid: boolean; venue: string }[] = [];
    await engine.start(['AAPL']);
    const book = engine.book('AAPL');
    await engine.done();
    early.push({ valid: book.valid, venue: book.venue });
    expect(early).toEqual([{ valid: true, venue: 'demo' }]);
    expect(engine.book('AAPL')).toBe(book);
  });

  it('start() with the same symbols in another order is the same start', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const a = engine.start(['A', 'B']);
    expect(engine.start(['B', 'A'])).toBe(a);
    await a;
    await engine.stop();
  });
});
