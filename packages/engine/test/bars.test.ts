import { BarFlags, formatDecimal } from '@mdcap/core';
import type { Bar } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { describe, expect, it } from 'vitest';
import { ManualProvider, MS, SEC, T0, status, trade } from './helpers.js';

const MIN = 60n * SEC;

async function setup(options: ConstructorParameters<typeof RealtimeEngine>[1] = {}, symbols = ['AAPL', 'MSFT']) {
  const p = new ManualProvider();
  const engine = new RealtimeEngine(p, options);
  const bars: Bar[] = [];
  engine.onBar((b) => bars.push(b));
  engine.setBarInterval(60);
  await engine.start(symbols);
  return { p, engine, bars };
}

function ohlcv(b: Bar): string {
  const f = (m: bigint) => formatDecimal(m, b.priceScale);
  return `O=${f(b.open)} H=${f(b.high)} L=${f(b.low)} C=${f(b.close)} V=${b.volume} n=${b.trades}`;
}

describe('time bars', () => {
  it('the reference example: four trades in one 60 s bucket', async () => {
    const { p, engine, bars } = await setup();
    p.push(
      trade('AAPL', T0 + 1n * SEC, 15000n, 100n),
      trade('AAPL', T0 + 10n * SEC, 15050n, 200n),
      trade('AAPL', T0 + 20n * SEC, 14980n, 50n),
      trade('AAPL', T0 + 59n * SEC, 15020n, 100n),
    );
    p.clock.advanceTo(T0 + 2n * MIN);
    expect(bars).toHaveLength(1);
    expect(ohlcv(bars[0]!)).toBe('O=150.00 H=150.50 L=149.80 C=150.20 V=450 n=4');
    expect(bars[0]).toMatchObject({
      symbol: 'AAPL',
      interval: 60,
      start: T0,
      end: T0 + MIN,
      flags: 0,
      tsEvent: T0 + MIN,
      tsRecv: T0 + MIN + 250n * MS,
    });
    await engine.stop();
  });

  it('a bucket closes when the clock passes its end plus grace, with no further trade', async () => {
    const { p, engine, bars } = await setup({ barGraceMs: 500 });
    p.push(trade('AAPL', T0 + 30n * SEC, 15000n, 1n));
    p.clock.advanceTo(T0 + MIN + 499n * MS);
    expect(bars).toHaveLength(0);
    p.clock.advanceTo(T0 + MIN + 500n * MS);
    expect(bars).toHaveLength(1);
    expect(engine.stats().bars.emitted).toBe(1);
    await engine.stop();
  });

  it('the bar closes before the first event stamped at or after its close time', async () => {
    const { p, engine } = await setup({ barGraceMs: 0 });
    const seen: string[] = [];
    engine.onBar((b) => seen.push(`bar ${b.start}`));
    engine.onTrade((t) => seen.push(`trade ${t.tsEvent}`));
    p.push(trade('AAPL', T0 + 1n * SEC, 15000n, 1n), trade('AAPL', T0 + MIN, 15001n, 1n));
    expect(seen).toEqual([`trade ${T0 + SEC}`, `bar ${T0}`, `trade ${T0 + MIN}`]);
    await engine.stop();
  });

  it('a silent symbol gives no bar, however long the clock runs', async () => {
    const { p, engine, bars } = await setup();
    p.push(trade('AAPL', T0 + SEC, 15000n, 1n));
    p.clock.advanceTo(T0 + 30n * MIN);
    expect(bars.map((b) => b.symbol)).toEqual(['AAPL']);
    await engine.stop();
    expect(bars.map((b) => b.symbol)).toEqual(['AAPL']);
  });

  it("emptyBars 'emit' fills quiet buckets at the previous close, flagged Empty", async () => {
    const { p, engine, bars } = await setup({ emptyBars: 'emit' });
    p.push(trade('AAPL', T0 + SEC, 15000n, 5n), trade('AAPL', T0 + 2n * SEC, 15100n, 5n));
    p.clock.advanceTo(T0 + 3n * MIN + SEC);
    expect(bars.map(ohlcv)).toEqual([
      'O=150.00 H=151.00 L=150.00 C=151.00 V=10 n=2',
      'O=151.00 H=151.00 L=151.00 C=151.00 V=0 n=0',
      'O=151.00 H=151.00 L=151.00 C=151.00 V=0 n=0',
    ]);
    expect(bars.map((b) => b.flags)).toEqual([0, BarFlags.Empty, BarFlags.Empty]);
    p.push(trade('AAPL', T0 + 3n * MIN + 2n * SEC, 15200n, 1n));
    p.clock.advanceTo(T0 + 4n * MIN + SEC);
    expect(ohlcv(bars[3]!)).toBe('O=152.00 H=152.00 L=152.00 C=152.00 V=1 n=1');
    await engine.stop();
    expect(bars.filter((b) => b.symbol === 'MSFT')).toEqual([]);
  });

  it('trades for a closed bucket follow the drop policy: counted, left out, still delivered to onTrade', async () => {
    const { p, engine, bars } = await setup();
    const trades: bigint[] = [];
    engine.onTrade((t) => trades.push(t.price));
    p.push(trade('AAPL', T0 + SEC, 15000n, 1n));
    p.clock.advanceTo(T0 + MIN + SEC);
    // tsEvent in the first bucket, received after it closed
    p.push(trade('AAPL', T0 + 59n * SEC, 99900n, 7n, T0 + MIN + 2n * SEC), trade('AAPL', T0 + MIN + 3n * SEC, 15010n, 1n));
    await engine.stop();
    expect(trades).toEqual([15000n, 99900n, 15010n]);
    expect(engine.stats().bars.lateTrades).toBe(1);
    expect(bars.map(ohlcv)).toEqual(['O=150.00 H=150.00 L=150.00 C=150.00 V=1 n=1', 'O=150.10 H=150.10 L=150.10 C=150.10 V=1 n=1']);
  });

  it('within the grace period a trade still joins its bucket', async () => {
    const { p, engine, bars } = await setup({ barGraceMs: 1000 });
    p.push(trade('AAPL', T0 + SEC, 15000n, 1n), trade('AAPL', T0 + 59n * SEC, 15500n, 1n, T0 + MIN + 900n * MS));
    p.clock.advanceTo(T0 + 2n * MIN);
    expect(ohlcv(bars[0]!)).toBe('O=150.00 H=155.00 L=150.00 C=155.00 V=2 n=2');
    expect(engine.stats().bars.lateTrades).toBe(0);
    await engine.stop();
  });

  it("barTimestamp 'tsRecv' buckets on receive time", async () => {
    const { p, engine, bars } = await setup({ barTimestamp: 'tsRecv', barGraceMs: 0 });
    p.push(trade('AAPL', T0 + 59n * SEC, 15000n, 1n, T0 + MIN + SEC));
    p.clock.advanceTo(T0 + 3n * MIN);
    expect(bars.map((b) => b.start)).toEqual([T0 + MIN]);
    await engine.stop();
  });

  it('several intervals at once, shorter first when they close together', async () => {
    const { p, engine, bars } = await setup();
    engine.setBarInterval(300, 60);
    expect(engine.barIntervals).toEqual([60, 300]);
    for (let m = 0n; m < 5n; m++) p.push(trade('AAPL', T0 + m * MIN + SEC, 15000n + m, 10n));
    p.clock.advanceTo(T0 + 6n * MIN);
    expect(bars.map((b) => `${b.interval}:${(b.start - T0) / SEC}`)).toEqual(['60:0', '60:60', '60:120', '60:180', '60:240', '300:0']);
    expect(bars[5]).toMatchObject({ open: 15000n, close: 15004n, high: 15004n, low: 15000n, volume: 50n, trades: 5 });
    await engine.stop();
  });

  it('any positive integer interval works; anything else is MDCAP_ERR_BAR_INTERVAL', async () => {
    const { p, engine, bars } = await setup();
    engine.setBarInterval(7);
    p.push(trade('AAPL', T0 + 6n * SEC, 15000n, 1n));
    p.clock.advanceTo(T0 + 20n * SEC);
    expect(bars.map((b) => [b.interval, b.end - b.start])).toEqual([[7, 7n * SEC]]);
    for (const bad of [0, -60, 1.5, Number.NaN, '60' as unknown as number]) {
      expect(() => engine.setBarInterval(bad)).toThrow(
        expect.objectContaining({
          code: 'MDCAP_ERR_BAR_INTERVAL',
          message: expect.stringContaining('expected a positive integer number of seconds'),
        }),
      );
    }
    expect(() => engine.setBarInterval()).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_BAR_INTERVAL' }));
    await engine.stop();
  });

  it('buckets align to the epoch, not to the first trade', async () => {
    const { p, engine, bars } = await setup();
    p.push(trade('AAPL', T0 + 37n * SEC, 15000n, 1n));
    p.clock.advanceTo(T0 + 2n * MIN);
    expect(bars[0]!.start % MIN).toBe(0n);
    expect(bars[0]!.start).toBe(T0);
    await engine.stop();
  });

  it('a bucket that saw a gap, disconnect or failed checksum carries the Gap flag; others do not', async () => {
    const { p, engine, bars } = await setup();
    p.push(trade('AAPL', T0 + SEC, 15000n, 1n), trade('MSFT', T0 + SEC, 37500n, 1n));
    p.push(status('AAPL', T0 + 30n * SEC, 'gap', { fromSeq: 5n, toSeq: 6n }));
    p.push(trade('AAPL', T0 + MIN + SEC, 15000n, 1n), trade('MSFT', T0 + MIN + SEC, 37500n, 1n));
    p.push(status('MSFT', T0 + MIN + 2n * SEC, 'checksum', { ok: true }));
    p.push(trade('AAPL', T0 + 2n * MIN + SEC, 15000n, 1n), trade('MSFT', T0 + 2n * MIN + SEC, 37500n, 1n));
    p.push(status('MSFT', T0 + 2n * MIN + 5n * SEC, 'checksum', { ok: false }));
    p.clock.advanceTo(T0 + 4n * MIN);
    const flags = Object.fromEntries(bars.map((b) => [`${b.symbol}@${(b.start - T0) / MIN}`, b.flags]));
    expect(flags).toEqual({ 'AAPL@0': BarFlags.Gap, 'MSFT@0': 0, 'AAPL@1': 0, 'MSFT@1': 0, 'AAPL@2': 0, 'MSFT@2': BarFlags.Gap });
    await engine.stop();
  });

  it('every bucket spanned by a disconnect is flagged, for every symbol of the venue', async () => {
    const { p, engine, bars } = await setup({ reconnect: { delaysMs: [150_000] } });
    p.push(trade('AAPL', T0 + SEC, 15000n, 1n), trade('MSFT', T0 + SEC, 37500n, 1n));
    p.drop();
    p.clock.advanceTo(T0 + 2n * MIN + 31n * SEC); // reconnects at T0+2:31
    await new Promise((r) => setImmediate(r));
    p.push(trade('AAPL', T0 + 2n * MIN + 40n * SEC, 15000n, 1n), trade('AAPL', T0 + 3n * MIN + SEC, 15000n, 1n));
    p.clock.advanceTo(T0 + 5n * MIN);
    const flags = bars.map((b) => `${b.symbol}@${(b.start - T0) / MIN}:${b.flags}`);
    expect(flags).toEqual(['AAPL@0:1', 'MSFT@0:1', 'AAPL@2:1', 'AAPL@3:0']);
    await engine.stop();
  });

  it('stop() emits open buckets: Partial if their end is still ahead of the clock', async () => {
    const { p, engine, bars } = await setup();
    p.push(
      trade('AAPL', T0 + SEC, 15000n, 1n),
      trade('AAPL', T0 + MIN + 50n * MS, 15100n, 1n),
      trade('MSFT', T0 + MIN + 50n * MS, 37500n, 1n),
    );
    p.clock.advanceTo(T0 + MIN + 100n * MS); // the first bucket has ended but its grace runs
    await engine.stop();
    expect(bars.map((b) => `${b.symbol}@${(b.start - T0) / MIN}:${b.flags}`)).toEqual(['AAPL@0:0', 'AAPL@1:4', 'MSFT@1:4']);
    expect(bars.every((b) => b.tsRecv === T0 + MIN + 100n * MS)).toBe(true);
    expect(engine.stats().bars.partial).toBe(2);
  });

  it('arithmetic is exact beyond 2^53 (no float anywhere)', async () => {
    const { p, engine, bars } = await setup();
    const big = 2n ** 53n + 1n; // not representable as a double
    p.push(trade('AAPL', T0 + SEC, big, big), trade('AAPL', T0 + 2n * SEC, big + 2n, big), trade('AAPL', T0 + 3n * SEC, big - 2n, 1n));
    p.clock.advanceTo(T0 + 2n * MIN);
    expect(bars[0]).toMatchObject({ open: big, high: big + 2n, low: big - 2n, close: big - 2n, volume: 2n * big + 1n });
    await engine.stop();
  });

  it('a trade with another scale than its series is reported, not mixed in', async () => {
    const { p, engine, bars } = await setup();
    const errors: string[] = [];
    engine.onError((e) => errors.push(e.code));
    p.push(trade('AAPL', T0 + SEC, 15000n, 1n));
    p.push({ ...trade('AAPL', T0 + 2n * SEC, 1500000n, 1n), priceScale: 4 });
    p.clock.advanceTo(T0 + 2n * MIN);
    expect(errors).toEqual(['MDCAP_ERR_SCALE_MISMATCH']);
    expect(bars[0]).toMatchObject({ trades: 1, close: 15000n });
    await engine.stop();
  });

  it('rejects bad bar options', () => {
    const p = new ManualProvider();
    expect(() => new RealtimeEngine(p, { barGraceMs: -1 })).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }));
    expect(() => new RealtimeEngine(p, { emptyBars: 'fill' as never })).toThrow(/emptyBars: expected skip or emit, found "fill"/);
    expect(() => new RealtimeEngine(p, { barTimestamp: 'ts' as never })).toThrow(/barTimestamp: expected tsEvent or tsRecv/);
  });
});
