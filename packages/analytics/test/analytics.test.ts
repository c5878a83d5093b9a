import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureAnalytics } from '@mdcap/analytics';
import { createQuote, createTrade, formatDecimal, formatEventJson } from '@mdcap/core';
import type { Bar, MarketEvent, Quote, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { recordEvents, SIM_SYMBOLS, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEC = 1_000_000_000n;
const dir = tempDir('analytics');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cap = join(dir, 'cap');
let events: MarketEvent[] = [];

beforeAll(async () => {
  // Two sessions with sequence gaps, resyncs and a disconnect: everything that flags bars.
  const a = await simulatedEvents(150, { seed: 4, faults: { gapEvery: 120, disconnectAfter: 20_000 } });
  const b = await simulatedEvents(40, { seed: 5 });
  const shift = a[a.length - 1]!.tsRecv + 7n * SEC - b[0]!.tsRecv; // the second session starts 7 s later
  const moved = b.map((e) => ({ ...e, tsEvent: e.tsEvent + shift, tsRecv: e.tsRecv + shift }));
  await recordEvents(cap, a, { rotateNs: 30n * SEC, end: a[a.length - 1]!.tsRecv + 300_000_000n });
  await recordEvents(cap, moved, { rotateNs: 30n * SEC });
  events = [...a, ...moved];
}, 120_000);

async function engineBars(intervals: number[], options: { graceMs?: number; timestamp?: 'tsEvent' | 'tsRecv' } = {}): Promise<string[]> {
  const engine = new RealtimeEngine(ReplayProvider.open(cap), {
    barGraceMs: options.graceMs ?? 250,
    barTimestamp: options.timestamp ?? 'tsEvent',
  });
  engine.setBarInterval(...intervals);
  const bars: string[] = [];
  engine.onBar((b) => bars.push(formatEventJson(b)));
  await engine.run(SIM_SYMBOLS);
  return bars;
}

describe('CaptureAnalytics (DuckDB)', () => {
  it.each<[number[], { graceMs?: number; timestamp?: 'tsEvent' | 'tsRecv' }]>([
    [[60], {}],
    [[1, 5, 60], {}],
    [[1], { graceMs: 0 }],
    [[2], { timestamp: 'tsRecv', graceMs: 1000 }],
  ])('bars %j %j equal the engine’s replayed bars, event for event', async (intervals, options) => {
    const db = await CaptureAnalytics.open(cap);
    try {
      const sql = (await db.bars({ intervals, ...options })).map((b: Bar) => formatEventJson(b));
      const engine = await engineBars(intervals, options);
      expect(sql.length).toBeGreaterThan(2);
      expect(sql).toEqual(engine);
      if (intervals.includes(1)) expect(sql.some((l) => /"flags":[1357]\b/.test(l))).toBe(true); // gap-flagged bars exist
    } finally {
      db.close();
    }
  });

  it('views give exact decimals next to the mantissas', async () => {
    const root = join(dir, 'edge');
    const t = 1_704_205_800_000_000_000n;
    await recordEvents(root, [
      createTrade({ venue: 'x', symbol: 'A', tsEvent: t, tsRecv: t, price: 2n ** 63n - 1n, size: 1n, priceScale: 18, sizeScale: 0 }),
      createTrade({
        venue: 'x',
        symbol: 'A',
        tsEvent: t,
        tsRecv: t + 1n,
        price: -(2n ** 63n),
        size: 123_456_789n,
        priceScale: 0,
        sizeScale: 8,
      }),
      createQuote({
        venue: 'x',
        symbol: 'A',
        tsEvent: t,
        tsRecv: t + 2n,
        bidPrice: null,
        bidSize: 0n,
        askPrice: 101n,
        askSize: 5n,
        priceScale: 2,
        sizeScale: 0,
      }),
    ]);
    const db = await CaptureAnalytics.open(root);
    try {
      const rows = await db.query(
        'SELECT price::VARCHAR AS p, size::VARCHAR AS s, price_mantissa::VARCHAR AS m, ts_recv::VARCHAR AS ts FROM trades ORDER BY recv_seq',
      );
      expect(rows).toEqual([
        { p: '9.223372036854775807', s: '1.00000000', m: '9223372036854775807', ts: '2024-01-02 14:30:00' },
        {
          p: '-9223372036854775808.000000000000000000',
          s: '1.23456789',
          m: '-9223372036854775808',
          ts: '2024-01-02 14:30:00.000000001',
        },
      ]);
      expect(await db.query('SELECT bid_price, ask_price::VARCHAR AS a FROM quotes')).toEqual([
        { bid_price: null, a: '1.010000000000000000' },
      ]);
      expect(await db.query('SELECT count(*)::INTEGER AS n FROM order_updates')).toEqual([{ n: 0 }]); // no files: an empty, typed view
      // Each view column has the capture's largest scale (18 for prices, 8 for sizes here): products stay exact.
      expect(await db.query('SELECT (price * size)::VARCHAR AS notional, typeof(price * size) AS t FROM trades WHERE price > 0')).toEqual([
        { notional: '9.22337203685477580700000000', t: 'DECIMAL(38,26)' },
      ]);
    } finally {
      db.close();
    }
  });

  it('vwap and spreads are exact (checked against bigint arithmetic)', async () => {
    const db = await CaptureAnalytics.open(cap);
    try {
      const vwap = await db.vwap();
      for (const s of SIM_SYMBOLS) {
        const trades = events.filter((e): e is Trade => e.type === 'trade' && e.symbol === s);
        const notional = trades.reduce((a, t) => a + t.price * t.size, 0n);
        const volume = trades.reduce((a, t) => a + t.size, 0n);
        const ps = trades[0]!.priceScale;
        const q = (notional * 10n ** 6n * 2n + volume) / (2n * volume);
        expect(vwap.find((r) => r['symbol'] === s)).toMatchObject({
          vwap: formatDecimal(q, ps + 6),
          volume: formatDecimal(volume, trades[0]!.sizeScale),
        });
      }
      const spreads = await db.spreads();
      for (const s of SIM_SYMBOLS) {
        const quotes = events.filter((e): e is Quote => e.type === 'quote' && e.symbol === s && e.bidPrice !== null && e.askPrice !== null);
        const sum = quotes.reduce((a, x) => a + (x.askPrice! - x.bidPrice!), 0n) * 10n ** 6n;
        const n = BigInt(quotes.length);
        expect(spreads.find((r) => r['symbol'] === s)!['mean']).toBe(formatDecimal((sum * 2n + n) / (2n * n), quotes[0]!.priceScale + 6));
      }
    } finally {
      db.close();
    }
  });

  it('reports gaps and latency', async () => {
    const db = await CaptureAnalytics.open(cap);
    try {
      const gaps = await db.gapReport();
      const recorded = events.filter((e) => e.type === 'status' && ['gap', 'resync', 'disconnected', 'reconnected'].includes(e.kind));
      expect(gaps.length).toBe(recorded.length + 1); // and the hole between the two sessions
      expect(gaps.find((g) => g['detail'] === 'between recording sessions 1 and 2')).toMatchObject({ kind: 'gap', symbol: '*' });
      const latency = await db.latency();
      expect(latency.map((r) => r['kind'])).toEqual(['book_updates', 'quotes', 'trades']);
    } finally {
      db.close();
    }
  });

  it('a failing query is MDCAP_ERR_QUERY with DuckDB’s reason on one line', async () => {
    const db = await CaptureAnalytics.open(cap);
    try {
      await expect(db.query('SELECT nope FROM trades')).rejects.toMatchObject({
        code: 'MDCAP_ERR_QUERY',
        message: expect.stringMatching(/^query failed: .*nope[^\n]*$/),
      });
    } finally {
      db.close();
    }
  });
});
