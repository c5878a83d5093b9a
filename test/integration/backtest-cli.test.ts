import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { fillsHash, runBacktest, summaryJson } from '@mdcap/pipeline';
import type { BacktestResult } from '@mdcap/pipeline';
import { fileHashes, mdcap, recordEvents, REPO_ROOT, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `mdcap backtest` end to end: the example strategy against a capture (the summary table and
 * `--json`, equal to the library's run), its Parquet outputs read back with DuckDB equal to the
 * fills in memory, sweeps, paper mode on the demo feed, and one clear MDCAP_ERR_* line for bad input.
 */
const dir = tempDir('backtest-cli');
const cap = join(dir, 'cap');
const EXAMPLE = join(REPO_ROOT, 'examples', 'strategies', 'quote-top.mjs');
const PARAMS = { every: 15 };
/** The CLI flags and the library options of one run. */
const FLAGS = ['--latency', '200us,300us,50us', '--fees', '-0.0001,0.0003', '--queue-model', 'prob:2', '--params', JSON.stringify(PARAMS)];
const OPTIONS = {
  capture: cap,
  strategy: EXAMPLE,
  params: PARAMS,
  latency: { entry: 200_000n, ack: 300_000n, feed: 50_000n },
  fees: { maker: '-0.0001', taker: '0.0003' },
  queue: { kind: 'prob', power: 2 },
  interval: 60,
  seed: 1,
} as const;
let memory: BacktestResult;

function run(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return mdcap(['backtest', ...args]);
}

function ok(args: readonly string[]): string {
  const r = run(args);
  expect(r.status, `mdcap backtest ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  await recordEvents(cap, await simulatedEvents(30, { faults: { gapEvery: 300 } }), { feed: 'demo' });
  memory = await runBacktest(OPTIONS);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mdcap backtest on a capture', () => {
  it('prints the summary table: PnL, fees, turnover, drawdown, Sharpe, fills, fill ratio, positions per symbol', () => {
    const out = ok([EXAMPLE, cap, ...FLAGS]);
    const s = summaryJson(memory);
    expect(out).toMatch(new RegExp(`^backtest ${EXAMPLE} on ${cap} \\(AAPL, MSFT, BTC-USD\\)`));
    for (const label of ['pnl', 'fees', 'turnover', 'max drawdown', 'sharpe', 'orders', 'fills'])
      expect(out).toMatch(new RegExp(`\\n  ${label} +\\S`));
    expect(out).toContain(`  pnl           ${s.pnl}  `);
    expect(out).toContain(`fill ratio ${s.fillRatio!.toFixed(4)}`);
    expect(out).toMatch(/\nvenue +symbol +position +mark +realized +unrealized +fees +pnl +turnover\n/);
    for (const p of s.positions) expect(out).toMatch(new RegExp(`\\n${p.venue} +${p.symbol} +${p.size.replace('.', '\\.')} `));
  });

  it('--json is the library run: the same summary and the same fills (hash)', () => {
    const json = JSON.parse(ok([EXAMPLE, cap, ...FLAGS, '--json'])) as Record<string, unknown>;
    expect(memory.fills.length).toBeGreaterThan(10);
    expect(json).toEqual(JSON.parse(JSON.stringify(summaryJson(memory))));
    expect(json['fillsHash']).toBe(fillsHash(memory.fills));
    expect(json['latency']).toEqual({ entry: '200000 ns', ack: '300000 ns', feed: '50000 ns' });
  });

  it('--out writes Parquet that DuckDB reads back equal to the fills in memory, exactly', async () => {
    const out = join(dir, 'bt');
    const before = fileHashes(cap);
    expect(ok([EXAMPLE, cap, ...FLAGS, '--out', out, '--quiet'])).toBe('');
    expect(fileHashes(cap)).toEqual(before); // nothing written into the capture
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const rows = (
        await con.runAndReadAll(
          `SELECT fill_id, order_id, client_id, venue, symbol, side, liquidity, price::VARCHAR AS price, size::VARCHAR AS size,
                  price_scale, size_scale, fee::VARCHAR AS fee, typeof(fee) AS fee_type, position::VARCHAR AS position,
                  epoch_ns(ts_venue)::VARCHAR AS ts_venue, epoch_ns(ts_recv)::VARCHAR AS ts_recv
           FROM read_parquet('${join(out, 'fills.parquet')}') ORDER BY fill_id`,
        )
      ).getRowObjectsJson();
      expect(rows.length).toBe(memory.fills.length);
      const scale = Number(/^DECIMAL\(38,(\d+)\)$/.exec(rows[0]!['fee_type'] as string)![1]);
      const decimal = (text: string): bigint => BigInt(text.replace('.', '')); // DuckDB prints every digit of the scale
      rows.forEach((r, i) => {
        const f = memory.fills[i]!;
        expect(r).toEqual({
          fill_id: f.fillId,
          order_id: f.orderId,
          client_id: f.clientId,
          venue: f.venue,
          symbol: f.symbol,
          side: f.side,
          liquidity: f.liquidity,
          price: String(f.price),
          size: String(f.size),
          price_scale: f.priceScale,
          size_scale: f.sizeScale,
          fee: expect.any(String),
          fee_type: `DECIMAL(38,${scale})`,
          position: String(f.position),
          ts_venue: String(f.tsVenue),
          ts_recv: String(f.tsRecv),
        });
        expect(decimal(r['fee'] as string)).toBe(f.fee * 10n ** BigInt(scale - f.moneyScale));
      });
      // The other tables: every order update, and the equity curve ending at the summary's PnL.
      const [orders] = (
        await con.runAndReadAll(
          `SELECT count(*)::INTEGER AS n, count(DISTINCT order_id)::INTEGER AS ids FROM '${join(out, 'orders.parquet')}'`,
        )
      ).getRowObjectsJson();
      expect(orders).toEqual({ n: memory.orders.length, ids: memory.summary.orders });
      const [last] = (
        await con.runAndReadAll(
          `SELECT pnl::VARCHAR AS pnl, epoch_ns(ts)::VARCHAR AS ts FROM '${join(out, 'equity.parquet')}' ORDER BY ts DESC LIMIT 1`,
        )
      ).getRowObjectsJson();
      const point = memory.equity.at(-1)!;
      expect(last!['ts']).toBe(String(point.ts));
      const pnl = last!['pnl'] as string;
      expect(decimal(pnl)).toBe(point.pnl * 10n ** BigInt((pnl.split('.')[1]?.length ?? 0) - point.moneyScale));
    } finally {
      con.closeSync();
      db.closeSync();
    }
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary['fillsHash']).toBe(fillsHash(memory.fills));
  });

  it('refuses to overwrite results without --force, and to write into a capture', () => {
    const out = join(dir, 'again');
    ok([EXAMPLE, cap, '--out', out, '--quiet']);
    const again = run([EXAMPLE, cap, '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(
      /^mdcap backtest: MDCAP_ERR_OUTPUT_EXISTS: --out .*found fills\.parquet, orders\.parquet, equity\.parquet, summary\.json \(add --force/,
    );
    ok([EXAMPLE, cap, '--out', out, '--force', '--quiet']);
    const inside = run([EXAMPLE, cap, '--out', join(cap, 'bt')]);
    expect(inside.status).toBe(2);
    expect(inside.stderr).toMatch(/MDCAP_ERR_OUTPUT_IN_CAPTURE/);
    expect(existsSync(join(cap, 'bt'))).toBe(false);
  });

  it('a strategy it cannot use is one MDCAP_ERR_STRATEGY line, exit 2', () => {
    const missing = run([join(dir, 'nope.mjs'), cap]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(
      /^mdcap backtest: MDCAP_ERR_STRATEGY: strategy .*nope\.mjs: expected a module file, found no file at .*\n$/,
    );
    const empty = join(dir, 'empty.mjs');
    writeFileSync(empty, 'export const params = {};\n');
    const none = run([empty, cap]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/MDCAP_ERR_STRATEGY: .*expected a strategy function as the default export/);
    // A package it imports is not there: said, with where it must be installed.
    const imports = join(dir, 'imports.ts');
    writeFileSync(imports, "import { defineStrategy } from '@mdcap/no-such-package';\nexport default defineStrategy(() => {});\n");
    const unresolved = run([imports, cap]);
    expect(unresolved.status).toBe(2);
    expect(unresolved.stderr).toMatch(
      /MDCAP_ERR_STRATEGY: strategy .*imports\.ts: the module failed to load: Cannot find package '@mdcap\/no-such-package' imported from .*\/imports\.ts \(@mdcap\/no-such-package must be installed where the strategy is/,
    );
    expect(readdirSync(dir).filter((f) => f.startsWith('.imports.'))).toEqual([]); // its compiled copy is gone
  });

  it('bad flags are refused before anything runs', () => {
    const cases: [string[], RegExp][] = [
      [[EXAMPLE, cap, '--latency', 'soon'], /MDCAP_ERR_INVALID_OPTION: --latency: expected durations such as 250us/],
      [[EXAMPLE, cap, '--latency', '1us,2us,3us,4us'], /MDCAP_ERR_INVALID_OPTION: --latency: expected ENTRY\[,ACK\[,FEED\]\]/],
      [[EXAMPLE, cap, '--queue-model', 'prob:9'], /MDCAP_ERR_INVALID_OPTION: --queue-model prob:POWER: expected an integer from 1 to 8/],
      [[EXAMPLE, cap, '--fees', 'cheap'], /MDCAP_ERR_INVALID_OPTION: --fees: expected a decimal fee rate/],
      [[EXAMPLE, cap, '--interval', '1500ms'], /MDCAP_ERR_INVALID_OPTION: --interval: expected whole seconds/],
      [[EXAMPLE, cap, '--params', '[1]'], /MDCAP_ERR_INVALID_OPTION: --params: expected a JSON object/],
      [[EXAMPLE], /MDCAP_ERR_INVALID_OPTION: capture: expected a capture directory \(or --feed NAME for paper mode\)/],
      [[EXAMPLE, cap, '--symbols', 'TSLA'], /MDCAP_ERR_UNKNOWN_SYMBOL/],
      [[EXAMPLE, cap, '--duration', '5s'], /MDCAP_ERR_INVALID_OPTION: --duration: expected --feed/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('a .ts strategy runs too (compiled on a Node that cannot strip types)', () => {
    const ts = join(dir, 'alternate.ts');
    writeFileSync(
      ts,
      `interface Params { readonly every: number }
export const params: Params = { every: 40 };
export default function alternate({ engine, broker, params }: { engine: any; broker: any; params: Params }): void {
  let n = 0;
  engine.onTrade((t: { symbol: string }) => {
    n += 1;
    if (n % params.every === 0) broker.submit({ symbol: t.symbol, side: n % (2 * params.every) === 0 ? 'sell' : 'buy', size: '1' });
  });
}
`,
    );
    const json = JSON.parse(ok([ts, cap, '--symbols', 'AAPL', '--json'])) as { fills: number; takerFills: number; params: unknown };
    expect(json.params).toEqual({ every: 40 });
    expect(json.fills).toBeGreaterThan(0);
    expect(json.takerFills).toBe(json.fills);
  });
});

describe('mdcap backtest --sweep', () => {
  it('prints one row per parameter set, in order, each the same as that set run alone', () => {
    const sets = join(dir, 'sets.json');
    writeFileSync(sets, JSON.stringify([{ every: 30 }, { every: 8 }]));
    const rows = ok([EXAMPLE, cap, '--sweep', sets, '--workers', '2', '--json'])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { index: number; params: unknown; fillsHash: string; pnl: string });
    expect(rows.map((r) => [r.index, r.params])).toEqual([
      [0, { every: 30 }],
      [1, { every: 8 }],
    ]);
    for (const r of rows) {
      const alone = JSON.parse(ok([EXAMPLE, cap, '--params', JSON.stringify(r.params), '--json'])) as { fillsHash: string; pnl: string };
      expect(r.fillsHash).toBe(alone.fillsHash);
      expect(r.pnl).toBe(alone.pnl);
    }
    const table = ok([EXAMPLE, cap, '--sweep', sets]);
    expect(table).toMatch(/\n# +params +pnl +fees +turnover +max drawdown +sharpe +orders +fills +fill ratio\n/);
    expect(table).toMatch(/\n1 +\{"every":30\} +/);
    expect(table).toMatch(/\n2 +\{"every":8\} +/);
  });
});

describe('docs/backtest.md', () => {
  it('its strategy example runs as written: a module with no imports, trading and filling on the capture', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'backtest.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(code, 'a ```js block in docs/backtest.md').toBeDefined();
    const file = join(dir, 'buy-bid.mjs');
    writeFileSync(file, code!);
    const r = run([file, cap, '--params', '{"every":20}', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { orders: number; fills: number; errors: number };
    expect(json.orders).toBeGreaterThan(0);
    expect(json.fills).toBeGreaterThan(0);
    expect(json.errors).toBe(0);
    // Its bids rest and fill as a maker; its sells take.
    expect(r.stderr).toMatch(/^fill buy \d+ @ \d+ \(maker\)$/m);
    expect(r.stderr).toMatch(/^fill sell \d+ @ \d+ \(taker\)$/m);
  });
});

describe('mdcap backtest --feed (paper mode)', () => {
  it('trades the example strategy live on the demo feed for the duration asked', { timeout: 60_000 }, () => {
    const json = JSON.parse(ok([EXAMPLE, '--feed', 'demo:AAPL,MSFT', '--duration', '2s', '--params', '{"every":3}', '--json'])) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({ mode: 'paper', source: 'demo', symbols: ['AAPL', 'MSFT'] });
    expect(json['orders']).toBeGreaterThan(0);
    expect(BigInt(String(json['end'])) - BigInt(String(json['start']))).toBeLessThan(3_000_000_000n);
  });

  it('--record keeps the feed and the session’s fills, orders and equity curve in one capture, for DuckDB', { timeout: 90_000 }, () => {
    const rec = join(dir, 'paper-recorded');
    const json = JSON.parse(
      ok([EXAMPLE, '--feed', 'demo:AAPL,MSFT', '--duration', '2s', '--params', '{"every":3}', '--record', rec, '--json']),
    ) as Record<string, unknown>;
    expect(json['recorded']).toMatchObject({ out: rec, session: 1 });
    const query = (sql: string): Record<string, unknown>[] => {
      const r = mdcap(['query', rec, sql, '--json']);
      expect(r.status, r.stderr).toBe(0);
      // --json prints one object per row (NDJSON).
      return r.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    };
    // What the strategy did, as the summary counts it, is in the capture beside the market data it traded on.
    expect(Number(query('SELECT count(DISTINCT order_id) AS n FROM orders')[0]!['n'])).toBe(json['orders']);
    expect(Number(query('SELECT count(*) AS n FROM fills')[0]!['n'])).toBe(json['fills']);
    expect(Number(query('SELECT count(*) AS n FROM equity')[0]!['n'])).toBeGreaterThan(0);
    expect(Number(query('SELECT count(*) AS n FROM book_updates')[0]!['n'])).toBeGreaterThan(0);
    expect(query('SELECT DISTINCT session FROM orders')).toEqual([{ session: 1 }]);
    const verify = mdcap(['verify', rec, '--json']);
    expect(verify.status, verify.stderr).toBe(0);
  });
});

describe('mdcap backtest --help', () => {
  it('teaches with runnable examples', () => {
    const out = ok(['--help']);
    expect(out).toMatch(/^mdcap backtest <strategy> \[capture\]/);
    expect(out).toMatch(/Examples:/);
    for (const flag of [
      '--latency',
      '--queue-model',
      '--fees',
      '--max-position',
      '--interval',
      '--params',
      '--sweep',
      '--workers',
      '--out',
      '--feed',
      '--duration',
    ]) {
      expect(out).toContain(flag);
    }
  });
});
