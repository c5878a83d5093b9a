import { createTrade, VirtualClock } from '@mdcap/core';
import type { MarketEvent, MdcapError } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { describe, expect, it } from 'vitest';
import { flush, level, ManualProvider, SEC, status, T0, trade } from './helpers.js';

describe('callbacks', () => {
  it('run in registration order; a throwing one is reported through onError and the rest still run', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const calls: string[] = [];
    const errors: MdcapError[] = [];
    engine.onTrade(() => calls.push('first'));
    engine.onTrade(() => {
      calls.push('second');
      throw new Error('strategy bug');
    });
    engine.onTrade(() => calls.push('third'));
    engine.onError((e) => errors.push(e));
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 15000n, 1n), trade('AAPL', T0 + 1n, 15001n, 1n));
    expect(calls).toEqual(['first', 'second', 'third', 'first', 'second', 'third']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({
      code: 'MDCAP_ERR_CALLBACK',
      message: 'onTrade callback #2 threw: strategy bug',
      details: { callback: 'onTrade callback #2' },
    });
    expect((errors[0]!.cause as Error).message).toBe('strategy bug');
    expect(engine.stats()).toMatchObject({ callbackErrors: 2, state: 'running', events: { trade: 2 } });
    await engine.stop();
  });

  it('an onError callback that throws does not break anything', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    engine.onTrade(() => {
      throw new Error('x');
    });
    engine.onError(() => {
      throw new Error('y');
    });
    let after = 0;
    engine.onTrade(() => after++);
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 1n, 1n));
    expect(after).toBe(1);
    await engine.stop();
  });

  it('unsubscribing, and registering during dispatch, take effect from the next event', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const calls: string[] = [];
    const off = engine.onTrade(() => {
      calls.push('a');
      engine.onTrade(() => calls.push('late'));
      off();
    });
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 1n, 1n), trade('AAPL', T0, 1n, 1n));
    expect(calls).toEqual(['a', 'late']);
    await engine.stop();
  });

  it('statuses go to onStatus, then gaps to onGap; onEvent sees provider input first', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const calls: string[] = [];
    engine.onEvent((e) => calls.push(`event ${e.type}`));
    engine.onStatus((s) => calls.push(`status ${s.kind}`));
    engine.onGap((s) => calls.push(`gap ${s.fromSeq}-${s.toSeq}`));
    engine.onQuote(() => calls.push('quote'));
    await engine.start(['AAPL']);
    p.push(status('AAPL', T0, 'gap', { fromSeq: 10n, toSeq: 12n }), status('*', T0, 'stale'));
    expect(calls).toEqual(['event status', 'status gap', 'gap 10-12', 'event status', 'status stale']);
    await engine.stop();
  });

  it('rejects what is not a callback', () => {
    const engine = new RealtimeEngine(new ManualProvider());
    expect(() => engine.onTrade('print' as never)).toThrow(/onTrade: expected a callback function, found "print"/);
  });
});

describe('lifecycle', () => {
  it('start connects, subscribes each symbol, then calls ready(); start again with the same symbols is the same start', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const a = engine.start(['AAPL', 'MSFT']);
    expect(engine.start(['AAPL', 'MSFT'])).toBe(a);
    await a;
    expect(p.subscriptions).toEqual(['AAPL', 'MSFT']);
    expect(p.readies).toBe(1);
    expect(engine.status).toBe('running');
    await expect(engine.start(['TSLA'])).rejects.toMatchObject({ code: 'MDCAP_ERR_ENGINE_STATE' });
    await engine.stop();
  });

  it('stop is idempotent, flushes bars and ends iterators; the engine can start again', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    engine.setBarInterval(60);
    const bars: bigint[] = [];
    engine.onBar((b) => bars.push(b.volume));
    const it = engine.events({ kinds: ['bar'] });
    await engine.start(['AAPL']);
    p.push(trade('AAPL', T0, 15000n, 3n));
    const s1 = engine.stop();
    expect(engine.stop()).toBe(s1);
    await s1;
    await engine.stop();
    expect(bars).toEqual([3n]);
    expect(engine.status).toBe('stopped');
    const collected: MarketEvent[] = [];
    for await (const e of it) collected.push(e);
    expect(collected.map((e) => e.type)).toEqual(['bar']);
    expect(p.sink).toBeNull();
    await engine.start(['AAPL']);
    expect(engine.status).toBe('running');
    await engine.stop();
  });

  it('an unknown symbol fails start with the provider’s error, and the engine is left stopped', async () => {
    const p = new ManualProvider();
    p.known = ['AAPL'];
    const engine = new RealtimeEngine(p);
    await expect(engine.start(['AAPL', 'NOPE'])).rejects.toMatchObject({
      code: 'MDCAP_ERR_UNKNOWN_SYMBOL',
      message: 'test: expected one of AAPL, found "NOPE"',
    });
    expect(engine.status).toBe('stopped');
    expect(p.sink).toBeNull();
  });

  it('a provider that cannot connect fails start with MDCAP_ERR_CONNECT_FAILED', async () => {
    const p = new ManualProvider();
    p.failConnects = 1;
    const engine = new RealtimeEngine(p);
    await expect(engine.start(['AAPL'])).rejects.toMatchObject({
      code: 'MDCAP_ERR_CONNECT_FAILED',
      message: 'could not start test: connection refused',
    });
  });

  it('checks start arguments', () => {
    const engine = new RealtimeEngine(new ManualProvider());
    expect(() => engine.start([])).toThrow(/start: expected a non-empty array of symbols/);
    expect(() => engine.start(['A', 'A'])).toThrow(/expected distinct symbols, found "A" twice/);
    expect(() => engine.start(['*'])).toThrow(/other than "\*"/);
  });
});

describe('the provider contract', () => {
  async function running(validate?: boolean) {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p, validate === undefined ? {} : { validate });
    const errors: string[] = [];
    const trades: bigint[] = [];
    engine.onError((e) => errors.push(`${e.code}: ${e.message}`));
    engine.onTrade((t) => trades.push(t.price));
    await engine.start(['AAPL']);
    return { p, engine, errors, trades };
  }

  it('out-of-order tsRecv is reported with MDCAP_ERR_OUT_OF_ORDER and dropped', async () => {
    const { p, engine, errors, trades } = await running();
    p.push(trade('AAPL', T0, 1n, 1n, T0 + 10n), trade('AAPL', T0, 2n, 1n, T0 + 5n), trade('AAPL', T0, 3n, 1n, T0 + 10n));
    expect(trades).toEqual([1n, 3n]);
    expect(errors).toEqual([
      `MDCAP_ERR_OUT_OF_ORDER: trade test:AAPL: expected tsRecv at or after ${T0 + 10n}, found ${T0 + 5n} (5 ns earlier); events must arrive in tsRecv order`,
    ]);
    expect(engine.stats().rejected).toBe(1);
    await engine.stop();
  });

  it('events for unsubscribed symbols, malformed events and pushes after disconnect are reported, never dispatched', async () => {
    const { p, engine, errors, trades } = await running();
    p.push(trade('MSFT', T0, 1n, 1n));
    p.push({ ...trade('AAPL', T0, 1n, 1n), price: 150.25 } as unknown as MarketEvent);
    p.push({ ...trade('AAPL', T0, 1n, 1n), size: -1n });
    p.push({ type: 'tick' } as unknown as MarketEvent);
    const sink = p.sink!;
    await engine.stop();
    sink.push(trade('AAPL', T0, 1n, 1n));
    expect(trades).toEqual([]);
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'MDCAP_ERR_PROVIDER_CONTRACT',
      'MDCAP_ERR_INVALID_EVENT',
      'MDCAP_ERR_NEGATIVE_SIZE',
      'MDCAP_ERR_INVALID_EVENT',
      'MDCAP_ERR_PROVIDER_CONTRACT',
    ]);
    expect(errors[0]).toContain('trade for test:MSFT, a symbol that was not subscribed (subscribed: AAPL)');
    expect(errors[4]).toContain('push after disconnect');
  });

  it('without onError, errors go to stderr: never silent', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    await engine.start(['AAPL']);
    const original = console.error;
    const printed: string[] = [];
    console.error = (m: string) => void printed.push(m);
    try {
      p.push(trade('MSFT', T0, 1n, 1n));
    } finally {
      console.error = original;
    }
    expect(printed).toEqual([expect.stringMatching(/^mdcap engine: MDCAP_ERR_PROVIDER_CONTRACT: trade for test:MSFT/)]);
    await engine.stop();
  });

  it('something that is neither a provider nor a stream is MDCAP_ERR_PROVIDER_CONTRACT', () => {
    expect(() => new RealtimeEngine({ connect() {} })).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_PROVIDER_CONTRACT',
        message: expect.stringContaining('found an object missing subscribe, disconnect, clock'),
      }),
    );
    expect(() => new RealtimeEngine(42)).toThrow(/found 42/);
  });
});

describe('event streams', () => {
  const stream = (): MarketEvent[] => [
    trade('AAPL', T0, 15000n, 1n),
    trade('MSFT', T0 + SEC, 37500n, 1n),
    trade('AAPL', T0 + 61n * SEC, 15100n, 2n),
    status('*', T0 + 62n * SEC, 'stale'),
  ];

  it('a plain array of events is wrapped automatically; subscriptions filter it; the run ends with the data', async () => {
    const engine = new RealtimeEngine(stream());
    engine.setBarInterval(60);
    const seen: string[] = [];
    engine.onTrade((t) => seen.push(`${t.symbol} ${t.price}`));
    engine.onBar((b) => seen.push(`bar ${b.symbol} ${b.close}`));
    engine.onStatus((s) => seen.push(`status ${s.kind}`));
    await engine.run(['AAPL']);
    expect(seen).toEqual(['AAPL 15000', 'bar AAPL 15000', 'AAPL 15100', 'status stale', 'bar AAPL 15100']);
    expect(engine.status).toBe('ended');
    expect(engine.clock.kind).toBe('virtual');
  });

  it('async generators and objects with events() work too, on the clock they bring', async () => {
    async function* gen() {
      for (const e of stream()) yield await Promise.resolve(e);
    }
    const clock = new VirtualClock(T0 - SEC);
    const fromObject = new RealtimeEngine({ clock, venue: 'test', events: gen });
    const prices: bigint[] = [];
    fromObject.onTrade((t) => prices.push(t.price));
    await fromObject.run(['AAPL', 'MSFT']);
    expect(prices).toEqual([15000n, 37500n, 15100n]);
    expect(fromObject.clock).toBe(clock);
    expect(clock.now()).toBe(T0 + 62n * SEC);
  });

  it('a stream that throws ends the run with the error reported', async () => {
    function* broken() {
      yield trade('AAPL', T0, 1n, 1n);
      throw new Error('file truncated');
    }
    const engine = new RealtimeEngine({ events: broken });
    const errors: string[] = [];
    engine.onError((e) => errors.push(e.message));
    await engine.run(['AAPL']);
    expect(errors).toEqual(['test:AAPL: the event stream failed: file truncated'.replace('test:AAPL', 'stream')]);
    expect(engine.status).toBe('failed');
  });

  it('events() iterates dispatched events, bars included, and breaking out detaches it', async () => {
    const engine = new RealtimeEngine(stream());
    engine.setBarInterval(60);
    const types: string[] = [];
    const iterator = engine.events();
    await engine.start(['AAPL']);
    for await (const e of iterator) {
      types.push(e.type === 'bar' ? `bar@${(e.start - T0) / SEC}` : e.type);
      if (types.length === 3) break;
    }
    expect(types).toEqual(['trade', 'bar@0', 'trade']);
    await engine.done();
    expect(engine.stats().consumerDrops).toBe(0);
  });

  it("events({ overflow: 'drop' }) keeps the newest events and counts the rest", async () => {
    const many = Array.from({ length: 100 }, (_, i) => trade('AAPL', T0 + BigInt(i), BigInt(i), 1n));
    const engine = new RealtimeEngine(many);
    const it = engine.events({ highWaterMark: 16, overflow: 'drop' });
    await engine.run(['AAPL']);
    const prices: bigint[] = [];
    for await (const e of it) if (e.type === 'trade') prices.push(e.price);
    expect(prices).toEqual(Array.from({ length: 16 }, (_, i) => BigInt(84 + i)));
    expect(engine.stats().consumerDrops).toBe(84);
  });

  it("events() under 'block' pauses the provider at the high-water mark and resumes it when drained", async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const it = engine.events({ highWaterMark: 4 });
    await engine.start(['AAPL']);
    for (let i = 0; i < 6; i++) p.push(trade('AAPL', T0 + BigInt(i), BigInt(i), 1n));
    expect([p.pauses, p.resumes]).toEqual([1, 0]);
    const got: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await it.next();
      if (r.done !== true && r.value.type === 'trade') got.push(r.value.price);
    }
    expect(got).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect([p.pauses, p.resumes]).toEqual([1, 1]);
    await engine.stop();
  });
});

describe('batches', () => {
  it('cut at maxEvents or after maxDelayMs of engine time, whichever comes first', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const batches: number[][] = [];
    engine.onBatch((events) => void batches.push(events.map((e) => Number((e.tsRecv - T0) / 1_000_000n))), {
      maxEvents: 3,
      maxDelayMs: 100,
    });
    await engine.start(['AAPL']);
    for (const ms of [0, 10, 20, 30, 40, 200, 250]) p.push(trade('AAPL', T0 + BigInt(ms) * 1_000_000n, 1n, 1n));
    // [30, 40] is cut by its 130 ms timer, which runs before the event at 200 ms
    p.clock.advanceTo(T0 + 299n * 1_000_000n);
    expect(batches).toEqual([
      [0, 10, 20],
      [30, 40],
    ]);
    p.clock.advanceTo(T0 + 300n * 1_000_000n);
    expect(batches).toEqual([
      [0, 10, 20],
      [30, 40],
      [200, 250],
    ]);
    await engine.stop();
  });

  it("a slow async consumer under 'block' pauses the provider and loses nothing", async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const got: number[] = [];
    let release!: () => void;
    engine.onBatch(
      async (events) => {
        got.push(...events.map((e) => Number(e.tsRecv - T0)));
        await new Promise<void>((r) => (release = r));
      },
      { maxEvents: 2, maxPending: 2 },
    );
    await engine.start(['AAPL']);
    for (let i = 0; i < 8; i++) p.push(trade('AAPL', T0 + BigInt(i), 1n, 1n));
    expect(p.pauses).toBe(1);
    const stopping = engine.stop();
    for (let i = 0; i < 6; i++) {
      release();
      await flush();
    }
    await stopping;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(p.resumes).toBe(1);
  });

  it("under 'drop' a slow consumer loses whole batches, counted", async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    let calls = 0;
    engine.onBatch(
      () => {
        calls++;
        return new Promise<void>(() => {}); // never finishes
      },
      { maxEvents: 1, maxPending: 2, overflow: 'drop' },
    );
    await engine.start(['AAPL']);
    for (let i = 0; i < 10; i++) p.push(trade('AAPL', T0 + BigInt(i), 1n, 1n));
    expect(calls).toBe(1);
    expect(engine.stats().consumerDrops).toBe(7);
    expect(p.pauses).toBe(0);
  });

  it("'block' needs a provider that can pause", () => {
    const engine = new RealtimeEngine([
      createTrade({ venue: 'v', symbol: 'A', tsEvent: 0n, tsRecv: 0n, price: 1n, size: 1n, priceScale: 0, sizeScale: 0 }),
    ]);
    expect(() => engine.onBatch(() => {}, { maxEvents: 0 })).toThrow(/onBatch maxEvents: expected a positive integer, found 0/);
    const noPause = {
      ...new ManualProvider(),
      pause: undefined,
      resume: undefined,
      connect: () => Promise.resolve(),
      subscribe: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
    };
    const e2 = new RealtimeEngine(noPause);
    expect(() => e2.onBatch(() => {})).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION', message: expect.stringContaining("use overflow 'drop'") }),
    );
    expect(() => e2.events()).toThrow(/overflow 'block' needs a provider that can pause/);
  });
});

describe('books through the engine', () => {
  it('can be turned off', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p, { books: false });
    let valid = true;
    engine.onBookUpdate((_u, b) => (valid = b.valid));
    await engine.start(['AAPL']);
    p.push(level('AAPL', T0, 'bid', 1n, 1n, 2 | 4));
    expect(valid).toBe(false);
    expect(() => engine.book('AAPL')).toThrow(/order books are turned off/);
    await engine.stop();
  });
});
