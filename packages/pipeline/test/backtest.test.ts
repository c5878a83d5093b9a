import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import * as pq from 'parquet-wasm';
import type { MarketEvent } from '@mdcap/core';
import {
  fillsHash,
  latencySamples,
  loadStrategy,
  runBacktest,
  runPaper,
  runSweep,
  stringifyJson,
  summaryJson,
  writeBacktestOutputs,
} from '@mdcap/pipeline';
import type { BacktestResult } from '@mdcap/pipeline';
import { recordEvents, REPO_ROOT, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The backtest runner of the pipeline: a strategy module against a capture (the simulated venue
 * recorded on its virtual clock), its outputs, parameter sweeps on worker threads (which load the
 * built dist/: build first), and the same strategy live on the demo feed in paper mode.
 */

const EXAMPLE = join(REPO_ROOT, 'examples', 'strategies', 'quote-top.mjs');
const dir = tempDir('backtest');
const capture = join(dir, 'cap');
let events: MarketEvent[] = [];

beforeAll(async () => {
  events = await simulatedEvents(20, { faults: { gapEvery: 400 } });
  await recordEvents(capture, events, { feed: 'demo' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The fills' signed sizes summed per symbol, as the positions must be. */
function positionsFromFills(r: BacktestResult): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const f of r.fills) out[f.symbol] = (out[f.symbol] ?? 0n) + (f.side === 'buy' ? f.size : -f.size);
  return out;
}

describe('runBacktest', () => {
  it('runs the example strategy module against a capture: fills, order updates, equity, a summary', async () => {
    const r = await runBacktest({ capture, strategy: EXAMPLE, params: { every: 20 } });
    expect(r.mode).toBe('backtest');
    expect(r.params).toEqual({ every: 20, size: '1', maxPosition: '3' }); // the module's defaults under the run's
    expect(r.symbols).toEqual(['AAPL', 'MSFT', 'BTC-USD']);
    expect(r.fills.length).toBeGreaterThan(10);
    expect(r.summary.fills).toBe(r.fills.length);
    expect(r.summary.orders).toBeGreaterThan(0);
    expect(new Set(r.orders.map((o) => o.id)).size).toBe(r.summary.orders);
    expect(r.equity.length).toBeGreaterThanOrEqual(1);
    expect(r.equity[r.equity.length - 1]!.pnl).toBe(r.summary.pnl);
    expect(r.stats.events).toBeGreaterThan(events.length / 2);
    expect(r.errors).toEqual([]);
    // Positions are the sum of the fills, and each fill says the position after it.
    const sums = positionsFromFills(r);
    for (const p of r.summary.positions) expect(p.size).toBe(sums[p.symbol] ?? 0n);
    for (const [symbol, size] of Object.entries(sums)) expect(r.fills.filter((f) => f.symbol === symbol).at(-1)!.position).toBe(size);
    // Post-only quotes only make: never a taker fill.
    expect(r.summary.takerFills).toBe(0);
    const json = summaryJson(r);
    expect(json.fills).toBe(r.fills.length);
    expect(json.pnl).toMatch(/^-?\d+(\.\d+)?$/);
  });

  it('is deterministic: two runs give identical fills (hash), order updates and summary', async () => {
    const options = {
      capture,
      strategy: EXAMPLE,
      params: { every: 10 },
      latency: { entry: 'capture', ack: 'capture', feed: 'capture' },
      queue: { kind: 'prob', power: 2 },
      fees: { maker: '-0.0001', taker: '0.0003' },
      seed: 7,
    } as const;
    const a = await runBacktest(options);
    const b = await runBacktest(options);
    expect(a.fills.length).toBeGreaterThan(0);
    expect(fillsHash(b.fills)).toBe(fillsHash(a.fills));
    expect(stringifyJson(b.orders)).toBe(stringifyJson(a.orders));
    expect(stringifyJson(b.summary)).toBe(stringifyJson(a.summary));
    expect(a.stats.latency.entry).toMatch(/^sampled from \d+ recorded latencies/);
    // The seed is part of the input: another seed samples other latencies.
    const c = await runBacktest({ ...options, seed: 8 });
    expect(fillsHash(c.fills)).not.toBe(fillsHash(a.fills));
  });

  it('fills the same paced (speed 20x) as at max speed', async () => {
    const to = events[0]!.tsRecv + 1_500_000_000n;
    const options = { capture, strategy: EXAMPLE, params: { every: 4 }, to, latency: { entry: '300us', feed: '100us' } } as const;
    const fast = await runBacktest(options);
    const paced = await runBacktest({ ...options, speed: 20 });
    expect(fast.fills.length).toBeGreaterThan(0);
    expect(fillsHash(paced.fills)).toBe(fillsHash(fast.fills));
    expect(stringifyJson(paced.summary)).toBe(stringifyJson(fast.summary));
  });

  it('runs a strategy function, with its parameters and the symbols asked for', async () => {
    let seen: unknown = null;
    const r = await runBacktest({
      capture,
      symbols: ['AAPL'],
      params: { n: 3 },
      strategy: ({ engine, broker, params, symbols }) => {
        seen = { params, symbols };
        let trades = 0;
        engine.onTrade((t) => {
          if (++trades % 25 === 0) broker.submit({ symbol: t.symbol, side: trades % 50 === 0 ? 'sell' : 'buy', size: '100' });
        });
      },
    });
    expect(seen).toEqual({ params: { n: 3 }, symbols: ['AAPL'] });
    expect(r.fills.length).toBeGreaterThan(0);
    expect(r.fills.every((f) => f.symbol === 'AAPL' && f.liquidity === 'taker')).toBe(true);
    expect(r.summary.positions.map((p) => p.symbol)).toEqual(['AAPL']);
  });

  it('refuses a strategy it cannot use with MDCAP_ERR_STRATEGY', async () => {
    const write = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.mjs'), /expected a module file, found no file/],
      [write('none.mjs', 'export const x = 1;\n'), /expected a strategy function as the default export or as `strategy`.*found exports x/],
      [write('params.mjs', 'export default () => {};\nexport const params = 5;\n'), /expected `params` to be an object/],
      [write('throws.mjs', 'throw new Error("at load");\n'), /the module failed to load: at load/],
      [write('syntax.mjs', 'export default function (\n'), /the module failed to load/],
    ];
    for (const [path, message] of cases) {
      await expect(loadStrategy(path)).rejects.toMatchObject({ code: 'MDCAP_ERR_STRATEGY', message: expect.stringMatching(message) });
    }
    await expect(
      runBacktest({
        capture,
        strategy: () => {
          throw new Error('no setup today');
        },
      }),
    ).rejects.toMatchObject({ code: 'MDCAP_ERR_STRATEGY', message: expect.stringContaining('its setup threw: no setup today') });
    // The `strategy` export, and a module's own params.
    const named = await loadStrategy(write('named.mjs', 'export function strategy() {}\nexport const params = { a: 1 };\n'));
    expect(named.params).toEqual({ a: 1 });
  });

  it('reports a strategy callback that throws and goes on', async () => {
    const r = await runBacktest({
      capture,
      symbols: ['MSFT'],
      strategy: ({ engine }) => {
        let n = 0;
        engine.onTrade(() => {
          if (++n === 3) throw new Error('third trade');
        });
      },
    });
    expect(r.stats.errorCount).toBe(1);
    expect(r.errors[0]).toMatchObject({ code: 'MDCAP_ERR_CALLBACK', message: expect.stringContaining('third trade') });
  });
});

describe('latencySamples', () => {
  it("samples the capture's own tsRecv − tsEvent, spread over it, the same every time", async () => {
    const market = events.filter((e) => e.type !== 'status' && e.type !== 'bar' && e.tsEvent > 0n && e.tsRecv >= e.tsEvent);
    const all = new Set(market.map((e) => e.tsRecv - e.tsEvent));
    const a = await latencySamples(capture, { max: 500 });
    const b = await latencySamples(capture, { max: 500 });
    expect(a).toEqual(b);
    expect(a.length).toBe(500);
    for (const s of a) expect(all.has(s)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(10);
    // More than the capture holds: every usable row once.
    expect((await latencySamples(capture, { max: 10_000_000 })).length).toBe(market.length);
  });
});

describe('writeBacktestOutputs', () => {
  it('writes fills, orders and equity as Parquet and a summary, exact, and refuses to overwrite or to write into a capture', async () => {
    const r = await runBacktest({ capture, strategy: EXAMPLE, params: { every: 15 }, fees: { maker: '0.0002' } });
    const out = join(dir, 'out');
    writeBacktestOutputs(r, out);
    for (const f of ['fills.parquet', 'orders.parquet', 'equity.parquet', 'summary.json']) expect(existsSync(join(out, f))).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ fills: r.fills.length, pnl: summaryJson(r).pnl, fillsHash: fillsHash(r.fills) });
    // The Parquet file holds the fills exactly (ns timestamps read as int64 words, not through Timestamp.get()).
    const table = tableFromIPC(pq.readParquet(readFileSync(join(out, 'fills.parquet'))).intoIPCStream());
    expect(table.numRows).toBe(r.fills.length);
    const words = (name: string): bigint[] => table.getChild(name)!.data.flatMap((d) => [...(d.values as BigInt64Array)]);
    expect(words('ts_venue')).toEqual(r.fills.map((f) => f.tsVenue));
    expect(words('price')).toEqual(r.fills.map((f) => f.price));
    expect(words('position')).toEqual(r.fills.map((f) => f.position));

    expect(() => writeBacktestOutputs(r, out)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_OUTPUT_EXISTS' }));
    writeBacktestOutputs(r, out, { force: true });
    expect(() => writeBacktestOutputs(r, join(capture, 'bt'))).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_OUTPUT_IN_CAPTURE' }));
    expect(existsSync(join(capture, 'bt'))).toBe(false);
  });
});

describe('runSweep', () => {
  it('runs each parameter set on a worker thread: one row per set, in order, each as the set run alone', { timeout: 120_000 }, async () => {
    const paramSets = [{ every: 40 }, { every: 10 }, { every: 25, size: '2' }];
    const common = { capture, latency: { entry: 'capture', ack: '100us' }, queue: 'prob', fees: { taker: '0.0003' } } as const;
    const out = join(dir, 'sweep');
    const rows = await runSweep({ ...common, strategy: EXAMPLE, paramSets, workers: 2, out });
    expect(rows.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(rows.map((r) => r.params)).toEqual(paramSets);
    for (const [i, row] of rows.entries()) {
      expect(row.error).toBeNull();
      const alone = await runBacktest({ ...common, strategy: EXAMPLE, params: paramSets[i]! });
      expect(row.fillsHash).toBe(fillsHash(alone.fills));
      expect(stringifyJson(row.summary)).toBe(stringifyJson(alone.summary));
      expect(existsSync(join(out, `set-00${i + 1}`, 'fills.parquet'))).toBe(true);
    }
    expect(rows[0]!.summary!.fills).not.toBe(rows[1]!.summary!.fills); // the sets differ
    const sweep = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as { index: number; pnl: string }[];
    expect(sweep.map((r) => r.index)).toEqual([0, 1, 2]);
    // The sets above shared one decoding of the capture (more than one set: shareColumns auto);
    // each worker decoding it on its own gives the same rows.
    const own = await runSweep({ ...common, strategy: EXAMPLE, paramSets: paramSets.slice(0, 2), shareColumns: false });
    expect(own.map((r) => r.fillsHash)).toEqual(rows.slice(0, 2).map((r) => r.fillsHash));
    await expect(runSweep({ ...common, strategy: EXAMPLE, paramSets, out })).rejects.toMatchObject({ code: 'MDCAP_ERR_OUTPUT_EXISTS' });
    await expect(runSweep({ ...common, strategy: join(dir, 'missing.mjs'), paramSets })).rejects.toMatchObject({
      code: 'MDCAP_ERR_STRATEGY',
    });
  });
});

describe('runPaper', () => {
  it('runs the same strategy live on the demo feed: orders, fills, the same outputs', { timeout: 60_000 }, async () => {
    const stop = new AbortController();
    const r = await runPaper({
      feed: { feed: 'demo', symbols: ['AAPL', 'BTC-USD'] },
      strategy: async (ctx) => {
        const { default: quoteTop } = (await import(EXAMPLE)) as { default: (c: typeof ctx) => void };
        quoteTop({ ...ctx, params: { every: 3, size: '1', maxPosition: '3' } });
        // Stopped once the venue has answered six orders (a condition, not a time).
        ctx.broker.onOrder((o) => {
          if (o.id >= 6) stop.abort();
        });
      },
      signal: stop.signal,
      durationNs: 50_000_000_000n, // a bound, should the condition never hold
    });
    expect(r.mode).toBe('paper');
    expect(r.source).toBe('demo');
    expect(r.symbols).toEqual(['AAPL', 'BTC-USD']);
    expect(r.summary.orders).toBeGreaterThanOrEqual(6);
    expect(r.orders.some((o) => o.status === 'open')).toBe(true);
    expect(r.summary.start).not.toBeNull();
    const out = join(dir, 'paper');
    writeBacktestOutputs(r, out);
    expect(existsSync(join(out, 'orders.parquet'))).toBe(true);
  });
});
