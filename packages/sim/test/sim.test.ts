import { formatEventJson, LiveClock, VirtualClock } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { DEFAULT_SIM_START, SimProvider } from '@mdcap/sim';
import type { SimOptions } from '@mdcap/sim';
import { collectCallbacks, hashLines, waitFor } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

const SEC = 1_000_000_000n;

async function run(options: SimOptions, symbols = ['AAPL', 'MSFT', 'BTC-USD']) {
  const sim = new SimProvider({ durationNs: 120n * SEC, ...options });
  const engine = new RealtimeEngine(sim);
  engine.setBarInterval(60);
  const log = collectCallbacks(engine);
  const input: MarketEvent[] = [];
  engine.onEvent((e) => input.push(e));
  await engine.run(symbols);
  return { sim, engine, log, input };
}

describe('SimProvider', () => {
  it('the same seed gives the same market, byte for byte; another seed another market', async () => {
    const a = await run({ seed: 42 });
    const b = await run({ seed: 42 });
    const c = await run({ seed: 43 });
    expect(a.log.lines.length).toBeGreaterThan(10_000);
    expect(hashLines(a.log.lines)).toBe(hashLines(b.log.lines));
    expect(hashLines(a.log.lines)).not.toBe(hashLines(c.log.lines));
    expect(a.log.errors).toEqual([]);
  });

  it('a symbol’s events do not depend on which other symbols are subscribed', async () => {
    const all = await run({ seed: 5 });
    const one = await run({ seed: 5 }, ['MSFT']);
    const msft = (xs: MarketEvent[]) => xs.filter((e) => e.symbol === 'MSFT').map(formatEventJson);
    expect(msft(one.input)).toEqual(msft(all.input));
  });

  it('starts with a snapshot, then deltas; every quote equals the book’s top at that moment', async () => {
    const sim = new SimProvider({ seed: 9, durationNs: 120n * SEC });
    const engine = new RealtimeEngine(sim);
    let quotes = 0;
    const mismatches: string[] = [];
    engine.onQuote((q) => {
      quotes++;
      const b = engine.book(q.symbol);
      if (
        !b.valid ||
        b.bestBidPrice() !== q.bidPrice ||
        b.bestBidSize() !== q.bidSize ||
        b.bestAskPrice() !== q.askPrice ||
        b.bestAskSize() !== q.askSize
      ) {
        mismatches.push(formatEventJson(q));
      }
      if (q.bidPrice! >= q.askPrice!) mismatches.push(`crossed ${formatEventJson(q)}`);
    });
    const first: string[] = [];
    engine.onBookUpdate((u) => {
      if (first.length < 3 && u.symbol === 'AAPL') first.push(`${u.side} flags=${u.flags}`);
    });
    await engine.run(['AAPL', 'BTC-USD']);
    expect(quotes).toBeGreaterThan(1000);
    expect(mismatches).toEqual([]);
    expect(first).toEqual(['bid flags=3', 'bid flags=1', 'bid flags=1']);
    expect(engine.stats().events.status).toBe(1); // "connected"
  });

  it('sequence numbers rise by one per event of a symbol', async () => {
    const { input } = await run({ seed: 3 }, ['AAPL']);
    const seqs = input.filter((e) => e.symbol === 'AAPL').map((e) => e.seq!);
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1n)).toBe(true);
  });

  it('gaps on request: a gap status with the missing sequence, a resync, a fresh snapshot, bars flagged', async () => {
    const { input, engine, log } = await run({ seed: 3, faults: { gapEvery: 200 } }, ['AAPL']);
    const gaps = input.filter((e) => e.type === 'status' && e.kind === 'gap');
    expect(gaps.length).toBeGreaterThan(2);
    for (const g of gaps) {
      const i = input.indexOf(g);
      expect(g.type === 'status' && g.toSeq === g.fromSeq && g.seq === g.fromSeq! + 1n).toBe(true);
      expect(input[i + 1]).toMatchObject({ type: 'status', kind: 'resync' });
      expect(input[i + 2]).toMatchObject({ type: 'book', flags: 1 | 2 });
    }
    expect(engine.book('AAPL').valid).toBe(true);
    expect(engine.stats().bars.gapFlagged).toBeGreaterThan(0);
    expect(log.lines.filter((l) => l.startsWith('gap ')).length).toBe(gaps.length);
  });

  it('a dropped connection is retried on the engine’s table in virtual time, then the feed resnapshots', async () => {
    const sim = new SimProvider({
      seed: 11,
      durationNs: 30n * SEC,
      packetsPerSecond: 50,
      faults: { disconnectAfter: 500, failReconnects: 3 },
    });
    const engine = new RealtimeEngine(sim);
    const log = collectCallbacks(engine);
    await engine.run(['AAPL']);
    const t = sim.connectTimes.map((x) => x - sim.connectTimes[0]!);
    const dropAt = log.lines.find((l) => l.includes('"kind":"disconnected"'))!;
    const dropNs = BigInt(JSON.parse(dropAt.slice('status '.length)).tsRecv) - DEFAULT_SIM_START;
    // first connect, then 3 failures and a success, 1, 2, 4 and 8 s apart after the drop
    expect(t.slice(1).map((x) => Number((x - dropNs) / SEC))).toEqual([1, 3, 7, 15]);
    expect(log.lines.filter((l) => l.startsWith('reconnect ')).length).toBe(1);
    expect(engine.stats().reconnects).toEqual({ attempts: 4, succeeded: 1, gaveUp: 0 });
    expect(engine.book('AAPL').valid).toBe(true);
  });

  it('refuses unknown symbols and bad options', async () => {
    const engine = new RealtimeEngine(new SimProvider());
    await expect(engine.start(['AAPL', 'GME'])).rejects.toMatchObject({
      code: 'MDCAP_ERR_UNKNOWN_SYMBOL',
      message: 'demo: expected one of AAPL, MSFT, BTC-USD, found "GME"',
    });
    expect(() => new SimProvider({ packetsPerSecond: 0.1 })).toThrow(/packetsPerSecond: expected a number from 1 to 1e7, found 0.1/);
    expect(() => new SimProvider({ faults: { gapEvery: 0 } })).toThrow(/faults.gapEvery: expected an integer from 1/);
    expect(() => new SimProvider({ symbols: [{ symbol: 'X', price: '1.005', priceScale: 2, sizeScale: 0 }] })).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_PRECISION' }),
    );
  });

  it('runs on a live clock too, stamping events with wall time', async () => {
    // Every reading of the clock, to check that events carry one (the time they were received),
    // not a time computed from the schedule.
    const readings = new Set<bigint>();
    const clock = new (class extends LiveClock {
      override now(): bigint {
        const t = super.now();
        readings.add(t);
        return t;
      }
    })();
    const sim = new SimProvider({ clock, packetsPerSecond: 500, durationNs: 300_000_000n });
    const engine = new RealtimeEngine(sim);
    let n = 0;
    const late: string[] = [];
    const start = clock.now();
    engine.onTrade((t) => {
      n++;
      if (!readings.has(t.tsRecv) || t.tsRecv < start || t.tsRecv > clock.now()) late.push(`${t.tsRecv}`);
    });
    await engine.run(['AAPL', 'MSFT']);
    expect(n).toBeGreaterThan(5);
    expect(clock.now() - start >= 300_000_000n).toBe(true);
    expect(late).toEqual([]); // each stamped with a reading of the wall clock, at or before its delivery
  });

  it('uses the virtual clock it is given', () => {
    const clock = new VirtualClock(123n);
    const sim = new SimProvider({ clock });
    expect(sim.clock).toBe(clock);
    expect(sim.instruments().map((i) => `${i.symbol}:${i.priceScale}/${i.sizeScale}`)).toEqual(['AAPL:2/0', 'MSFT:2/0', 'BTC-USD:2/8']);
  });
});

describe('SimProvider, review regressions', () => {
  it('on a live clock, a consumer that holds it back pauses it without freezing the process', async () => {
    const sim = new SimProvider({ clock: new LiveClock(), packetsPerSecond: 500, durationNs: 600_000_000n });
    const engine = new RealtimeEngine(sim);
    const it = engine.events({ highWaterMark: 20 });
    let dispatched = 0;
    engine.onEvent(() => dispatched++);
    await engine.start(['AAPL']);
    // The consumer reads nothing: at 20 events the provider is paused. Host timers (this one, and
    // the simulator's) must keep running meanwhile: a host timer set now, for a time after the
    // simulator's next packet was due (at 500 packets/s, within 4 ms), fires after the
    // simulator's own timer would have; a frozen process never gets there.
    await waitFor(() => dispatched >= 20, { what: '20 events queued for the consumer' });
    const atHold = dispatched;
    await new Promise((r) => setTimeout(r, 10));
    expect(dispatched).toBe(atHold); // paused: nothing more while the consumer holds it back
    let n = 0;
    for await (const e of it) if (e.type === 'trade' || e.type === 'quote' || e.type === 'book') n++;
    await engine.done();
    expect(n).toBeGreaterThan(20);
    expect(engine.status).toBe('ended');
  });

  it('a second run after the market ended ends at once instead of hanging', async () => {
    const sim = new SimProvider({ durationNs: 5n * SEC });
    const engine = new RealtimeEngine(sim);
    await engine.run(['AAPL']);
    let trades = 0;
    engine.onTrade(() => trades++);
    await engine.run(['AAPL']);
    expect([engine.status, trades]).toEqual(['ended', 0]);
  });

  it.each([2, 10])('keeps at least depth=%i levels, and every packet ends with a Last update', async (depth) => {
    const sim = new SimProvider({ seed: 4, depth, durationNs: 60n * SEC });
    const engine = new RealtimeEngine(sim);
    const thin: string[] = [];
    const updates: { flags: number; tsRecv: bigint }[] = [];
    engine.onBookUpdate((u, b) => {
      if (u.symbol !== 'AAPL') return;
      updates.push({ flags: u.flags, tsRecv: u.tsRecv });
      if ((u.flags & 8) !== 0 && b.valid && (b.depth('bid') < depth || b.depth('ask') < depth))
        thin.push(`${b.depth('bid')}/${b.depth('ask')}`);
    });
    await engine.run(['AAPL']);
    expect(thin).toEqual([]);
    const unterminated = updates.filter(
      (u, i) => (u.flags & 8) === 0 && (updates[i + 1] === undefined || updates[i + 1]!.tsRecv !== u.tsRecv),
    );
    expect(unterminated).toEqual([]);
  });

  it('failReconnects fails reconnects after a drop, not a fresh start', async () => {
    const sim = new SimProvider({ faults: { failReconnects: 3 }, durationNs: 5n * SEC });
    const engine = new RealtimeEngine(sim);
    await engine.start(['AAPL']);
    await engine.stop();
    await engine.start(['AAPL']);
    expect(engine.status).toBe('running');
    await engine.stop();
  });

  it('no event is stamped before the start of the simulated market', async () => {
    const { input } = await run({ seed: 8 });
    expect(input.every((e) => e.tsEvent >= DEFAULT_SIM_START)).toBe(true);
  });
});
