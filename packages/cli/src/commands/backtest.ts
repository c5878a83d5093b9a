import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { QueueModelSpec } from '@mdcap/backtest';
import { readManifest } from '@mdcap/capture';
import { ConfigError, describeValue, MdcapError, nsToIso, parseDecimalExact, parseDuration, timeFraction } from '@mdcap/core';
import {
  checkOutputDir,
  runBacktest,
  runPaper,
  runSweep,
  stringifyJson,
  summaryFieldsJson,
  summaryJson,
  sweepRowJson,
  writeBacktestOutputs,
} from '@mdcap/pipeline';
import type { BacktestResult, PositionJson, RunLatencySpec, StrategyRunOptions, SummaryFieldsJson, SweepRow } from '@mdcap/pipeline';
import { parseSpeed } from '@mdcap/replay';
import type { ReplaySpeed } from '@mdcap/replay';
import type { Argv } from 'yargs';
import { badOption, parseDurationOption, parseIntOption, parseList, parseCaptureRange } from '../args.js';
import { EXIT, warn } from '../command.js';
import type { Command } from '../command.js';
import { parseFeedItem } from '../feeds-option.js';
import { stopRequested } from '../lifecycle.js';
import { count, LineOutput, Progress } from '../output.js';

interface BacktestArgs {
  readonly strategy: string;
  readonly capture?: string;
  readonly feed?: string;
  readonly symbols?: string;
  readonly duration?: string;
  readonly from?: string;
  readonly to?: string;
  readonly speed: string;
  readonly latency?: string;
  readonly queueModel: string;
  readonly fees?: string;
  readonly maxPosition?: string;
  readonly interval: string;
  readonly seed: string;
  readonly params?: string;
  readonly sweep?: string;
  readonly workers?: string;
  readonly out?: string;
  readonly record?: string;
  readonly force: boolean;
  readonly json: boolean;
  readonly quiet: boolean;
}

/** `--latency ENTRY[,ACK[,FEED]]`: durations, integer ns or `capture`; ACK defaults to ENTRY, FEED to ACK. */
export function parseLatency(text: string): StrategyRunOptions['latency'] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length > 3 || parts.some((p) => p === '')) {
    throw badOption('--latency', 'ENTRY[,ACK[,FEED]] such as 250us or 250us,300us,50us, or capture', text);
  }
  const one = (p: string): RunLatencySpec => {
    if (p === 'capture') return 'capture';
    if (/^\d+$/.test(p)) return BigInt(p);
    try {
      return parseDuration(p);
    } catch {
      throw badOption('--latency', 'durations such as 250us, 1ms (or integer ns, or capture)', p);
    }
  };
  const entry = one(parts[0]!);
  const ack = parts[1] === undefined ? entry : one(parts[1]);
  const feed = parts[2] === undefined ? ack : one(parts[2]);
  return { entry, ack, feed };
}

/** `conservative`, `prob` or `prob:POWER`. */
export function parseQueueModel(text: string): QueueModelSpec {
  const t = text.trim();
  if (t === 'conservative' || t === 'prob') return t;
  const m = /^prob:(\d+)$/.exec(t);
  if (m !== null) return { kind: 'prob', power: parseIntOption('--queue-model prob:POWER', m[1]!, 1, 8) };
  throw badOption('--queue-model', 'conservative, prob or prob:POWER (POWER 1 to 8)', text);
}

function checkRate(flag: string, text: string): string {
  try {
    parseDecimalExact(text);
  } catch {
    throw badOption(flag, 'a decimal fee rate such as 0.0002 (2 bp; negative for a rebate)', text);
  }
  return text;
}

/** `--fees MAKER,TAKER` (one value: both). */
export function parseFees(text: string): { maker: string; taker: string } {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length > 2 || parts.some((p) => p === '')) throw badOption('--fees', 'MAKER,TAKER rates such as -0.0001,0.0003', text);
  const maker = checkRate('--fees', parts[0]!);
  return { maker, taker: parts[1] === undefined ? maker : checkRate('--fees', parts[1]) };
}

/** `--max-position 5` (every symbol) or `AAPL=500,BTC-USD=0.5`. */
export function parseMaxPosition(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of parseList('--max-position', text)) {
    const eq = item.lastIndexOf('=');
    const key = eq < 0 ? '*' : item.slice(0, eq).trim();
    const value = eq < 0 ? item : item.slice(eq + 1).trim();
    let ok = key !== '';
    try {
      ok &&= parseDecimalExact(value).mantissa >= 0n;
    } catch {
      ok = false;
    }
    if (!ok) throw badOption('--max-position', 'a size such as 5, or SYMBOL=SIZE pairs such as AAPL=500,BTC-USD=0.5', item);
    out[key] = value;
  }
  return out;
}

function parseParams(flag: string, text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (error) {
    throw badOption(flag, `a JSON object such as '{"size":"100"}' (${(error as Error).message})`, text);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badOption(flag, 'a JSON object of parameters', text);
  return v as Record<string, unknown>;
}

function readSweep(file: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `--sweep ${file}: expected a JSON file of parameter sets, found none readable (${(error as Error).message})`,
    );
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `--sweep ${file}: expected JSON, found a parse error: ${(error as Error).message}`);
  }
  if (!Array.isArray(v) || v.length === 0) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `--sweep ${file}: expected a non-empty JSON array of parameter objects, found ${describeValue(v)}`,
    );
  }
  v.forEach((p: unknown, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `--sweep ${file}: item ${i}: expected an object of parameters, found ${describeValue(p)}`,
      );
    }
  });
  return v as Record<string, unknown>[];
}

/** `--interval 60s`: whole seconds. */
function parseInterval(text: string): number {
  const ns = /^\d+$/.test(text.trim()) ? BigInt(text.trim()) * 1_000_000_000n : parseDurationOption('--interval', text);
  if (ns <= 0n || ns % 1_000_000_000n !== 0n) throw badOption('--interval', 'whole seconds such as 1s, 60s, 5m or 1h', text);
  return Number(ns / 1_000_000_000n);
}

// ---- printing ------------------------------------------------------------------------------

function table(out: LineOutput, head: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  out.line(line(head));
  for (const r of rows) out.line(line(r));
}

const ratio = (r: number | null): string => (r === null ? '-' : r.toFixed(4));
const sharpeText = (s: number | null): string => (s === null ? '-' : s.toFixed(3));

function printSummary(out: LineOutput, r: BacktestResult): void {
  const s = summaryJson(r);
  const span = s.startIso === null ? 'no data' : `${s.startIso} to ${s.endIso ?? '?'}`;
  out.line(`${r.mode} ${r.strategy} on ${r.source} (${r.symbols.join(', ')}): ${span}`);
  if (Object.keys(s.params).length > 0) out.line(`  params        ${stringifyJson(s.params)}`);
  out.line(`  latency       entry ${s.latency.entry}; ack ${s.latency.ack}; feed ${s.latency.feed}`);
  out.line(`  queue model   ${s.queue}`);
  out.line(`  pnl           ${s.pnl}  (realized ${s.realized}, unrealized ${s.unrealized}, after fees)`);
  out.line(`  fees          ${s.fees}`);
  out.line(`  turnover      ${s.turnover}`);
  out.line(`  max drawdown  ${s.maxDrawdown}`);
  out.line(`  sharpe        ${sharpeText(s.sharpe)}  (${s.interval} s intervals, annualized)`);
  out.line(`  orders        ${count(s.orders)}  (${count(s.rejected)} rejected, ${count(s.cancelled)} cancelled)`);
  out.line(
    `  fills         ${count(s.fills)}  (${count(s.makerFills)} maker, ${count(s.takerFills)} taker); fill ratio ${ratio(s.fillRatio)}`,
  );
  out.line(
    `  events        ${count(s.events)} in ${(r.stats.wallMs / 1000).toFixed(2)} s${s.errors > 0 ? `; ${count(s.errors)} errors` : ''}`,
  );
  if (s.positions.length > 0) {
    out.line('');
    const rows = s.positions.map((p: PositionJson) => [
      p.venue,
      p.symbol,
      p.size,
      p.mark ?? '-',
      p.realized,
      p.unrealized,
      p.fees,
      p.pnl,
      p.turnover,
    ]);
    table(
      out,
      ['venue', 'symbol', 'position', 'mark', 'realized', 'unrealized', 'fees', 'pnl', 'turnover'],
      rows,
      new Set([2, 3, 4, 5, 6, 7, 8]),
    );
  }
}

function sweepCells(r: SweepRow): string[] {
  const params = stringifyJson(r.params);
  if (r.summary === null)
    return [String(r.index + 1), params, `${r.error?.code ?? 'error'}: ${r.error?.message ?? ''}`, '', '', '', '', '', '', ''];
  const s: SummaryFieldsJson = summaryFieldsJson(r.summary);
  return [
    String(r.index + 1),
    params,
    s.pnl,
    s.fees,
    s.turnover,
    s.maxDrawdown,
    sharpeText(s.sharpe),
    count(s.orders),
    count(s.fills),
    ratio(s.fillRatio),
  ];
}

// ---- the command ---------------------------------------------------------------------------

export const backtestCommand: Command<BacktestArgs> = {
  command: 'backtest <strategy> [capture]',
  describe: 'Run a strategy module against a capture (simulated execution), or live on a feed in paper mode',
  builder: (y: Argv) =>
    y
      .positional('strategy', {
        type: 'string',
        describe:
          'Strategy module (.js, .mjs, or .ts): its default export (or `strategy`) is the function, `params` its default parameters',
      })
      .positional('capture', { type: 'string', describe: 'Capture directory to replay (or --feed for paper mode)' })
      .option('feed', {
        type: 'string',
        describe:
          'Paper mode: trade live on this feed instead of a capture (NAME, NAME:SYM1,SYM2 or NAME:SYMS@URL; demo is the simulated venue)',
      })
      .option('duration', { type: 'string', describe: 'Paper mode: stop after 30s, 5m… (default: at Ctrl-C / SIGTERM)' })
      .option('symbols', { type: 'string', describe: 'Comma-separated symbols (default: all in the capture, or the feed’s)' })
      .option('from', {
        type: 'string',
        describe: 'Start at this tsRecv: 2024-01-02T14:31:00Z, +5m after the capture start, -5m before its end, or integer ns',
      })
      .option('to', { type: 'string', describe: 'Stop before this tsRecv (same forms as --from)' })
      .option('speed', {
        type: 'string',
        default: 'max',
        describe: 'max (as fast as possible) or a multiple of real time: 1x, 10x (same fills either way)',
      })
      .option('latency', {
        type: 'string',
        describe:
          'ENTRY[,ACK[,FEED]]: strategy→venue, venue→strategy for order reports, venue→strategy for market data (ACK defaults to ENTRY, FEED to ACK; default 0); each a duration (250us), integer ns, or capture: sampled from the capture’s tsRecv − tsEvent',
      })
      .option('queue-model', {
        type: 'string',
        default: 'conservative',
        describe:
          'L2 queue position: conservative (only trades move an order up) or prob[:POWER] (cancels partly ahead of it; POWER 1-8, default 2)',
      })
      .option('fees', {
        type: 'string',
        describe: 'MAKER,TAKER fee rates as fractions of the notional: 0.0002 = 2 bp, negative = rebate (one value: both)',
      })
      .option('max-position', {
        type: 'string',
        describe: 'Largest absolute position: 5 (every symbol) or AAPL=500,BTC-USD=0.5; orders past it are rejected',
      })
      .option('interval', {
        type: 'string',
        default: '60s',
        describe: 'Equity curve interval (whole seconds): Sharpe and drawdown are on it',
      })
      .option('seed', { type: 'string', default: '1', describe: 'Seed of sampled latencies' })
      .option('params', { type: 'string', describe: 'Strategy parameters as a JSON object, over the module’s `params` export' })
      .option('sweep', {
        type: 'string',
        describe: 'A JSON file with an array of parameter objects: one run each on worker threads, one row each',
      })
      .option('workers', { type: 'string', describe: 'Sweep: runs at once (default: the CPUs, at most one per set)' })
      .option('out', {
        type: 'string',
        describe: 'Write fills.parquet, orders.parquet, equity.parquet and summary.json here (a sweep: sweep.json and set-001/… per set)',
      })
      .option('record', {
        type: 'string',
        describe:
          'Paper mode: also record the feed into this capture, with the fills, orders and equity curve kept in it (mdcap query CAP "SELECT * FROM fills")',
      })
      .option('force', { type: 'boolean', default: false, describe: 'Replace earlier results in --out' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'The summary as one JSON object (a sweep: one per set, a line each); money as exact decimal text',
      })
      // The global --quiet (-q), with more to it here: not even the summary.
      .option('quiet', {
        type: 'boolean',
        default: false,
        describe: 'Print nothing but errors: no progress, and no summary on stdout (with --out, which keeps it)',
      })
      .example('mdcap backtest examples/strategies/quote-top.mjs cap', 'the example market maker on a capture: the summary table')
      .example(
        'mdcap backtest examples/strategies/quote-top.mjs cap --latency 250us --fees -0.0001,0.0003 --out bt',
        '250 µs each way, a maker rebate; fills, orders and equity as Parquet in bt/ (query with DuckDB)',
      )
      .example(
        'mdcap backtest examples/strategies/quote-top.mjs cap --latency capture --queue-model prob:2 --json',
        'latencies sampled from the capture itself; the summary as JSON',
      )
      .example(
        'mdcap backtest examples/strategies/quote-top.mjs cap --params \'{"every":20}\'',
        'other parameters than the module’s defaults',
      )
      .example(
        'echo \'[{"every":10},{"every":50}]\' > sets.json && mdcap backtest examples/strategies/quote-top.mjs cap --sweep sets.json',
        'a parameter sweep: one row per set',
      )
      .example(
        'mdcap backtest examples/strategies/quote-top.mjs --feed demo --duration 30s',
        'paper mode: the same strategy live on the simulated venue for 30 s',
      )
      .example(
        'mdcap backtest examples/strategies/quote-top.mjs --feed demo --duration 30s --record paper && mdcap query paper "SELECT * FROM fills"',
        'paper mode, recorded: the feed and what the strategy did in one capture',
      )
      .example(
        'duckdb -c "SELECT symbol, side, count(*), sum(fee) FROM \'bt/fills.parquet\' GROUP BY ALL"',
        'the fills, exact (fee is DECIMAL, prices int64 mantissas with price_scale)',
      ),
  async run(a) {
    // Flags first (nothing is read or run for a bad flag), then the capture, then the strategy.
    const paper = a.feed !== undefined;
    if (paper && a.capture !== undefined)
      throw badOption('--feed', 'either a capture to replay or --feed for paper mode', `both ${a.capture} and --feed ${a.feed}`);
    if (!paper && a.capture === undefined) throw badOption('capture', 'a capture directory (or --feed NAME for paper mode)', 'none');
    if (!paper && a.record !== undefined) throw badOption('--record', '--feed (paper mode records the live feed)', a.record);
    if (paper && a.sweep !== undefined) throw badOption('--sweep', 'a capture (sweeps replay one)', '--feed');
    if (!paper && a.duration !== undefined)
      throw badOption('--duration', '--feed (paper mode; a backtest runs to the end of the capture, or --to)', a.duration);
    if (paper && (a.from !== undefined || a.to !== undefined))
      throw badOption(a.from !== undefined ? '--from' : '--to', 'a capture (paper mode runs live)', '--feed');
    if (a.workers !== undefined && a.sweep === undefined)
      throw badOption('--workers', '--sweep FILE (workers run a sweep’s parameter sets)', a.workers);
    const speed: ReplaySpeed = parseSpeed(a.speed);
    const latency = a.latency === undefined ? undefined : parseLatency(a.latency);
    const queue = parseQueueModel(a.queueModel);
    const fees = a.fees === undefined ? undefined : parseFees(a.fees);
    const maxPosition = a.maxPosition === undefined ? undefined : parseMaxPosition(a.maxPosition);
    const interval = parseInterval(a.interval);
    const seed = parseIntOption('--seed', a.seed, 0, 2 ** 31 - 1);
    const params = a.params === undefined ? {} : parseParams('--params', a.params);
    const wanted = a.symbols === undefined ? undefined : parseList('--symbols', a.symbols);
    const durationNs = a.duration === undefined ? undefined : parseDurationOption('--duration', a.duration);
    const workers = a.workers === undefined ? undefined : parseIntOption('--workers', a.workers, 1, 1024);
    const sets = a.sweep === undefined ? null : readSweep(a.sweep).map((p) => ({ ...params, ...p }));
    if (a.out !== undefined) checkOutputDir(a.out, a.force, sets === null ? undefined : ['sweep.json'], '--out');
    const common: Omit<StrategyRunOptions, 'strategy'> = {
      params,
      ...(latency === undefined ? {} : { latency }),
      queue,
      ...(fees === undefined ? {} : { fees }),
      ...(maxPosition === undefined ? {} : { maxPosition }),
      interval,
      seed,
    };
    const out = new LineOutput();
    const print = !a.quiet;
    const progress = new Progress(print ? {} : { enabled: false });
    const errorsShown = { n: 0 };
    const onError = (e: MdcapError): void => {
      if (++errorsShown.n > 10) return;
      progress.clear();
      warn('backtest', e.toString());
    };

    if (a.feed !== undefined) {
      const spec = parseFeedItem(a.feed, {}, '--feed');
      const stop = new AbortController();
      void stopRequested('backtest').then(() => stop.abort());
      if (print && !a.json && process.stderr.isTTY === true) {
        process.stderr.write(
          `paper trading ${a.strategy} on ${spec.feed}${durationNs === undefined ? ' until Ctrl-C' : ` for ${a.duration}`}…\n`,
        );
      }
      const result = await runPaper({
        ...common,
        strategy: a.strategy,
        feed: wanted === undefined ? spec : { ...spec, symbols: wanted },
        ...(durationNs === undefined ? {} : { durationNs }),
        ...(a.record === undefined ? {} : { record: a.record }),
        signal: stop.signal,
        onError,
        onProgress: (p) => progress.update(() => `paper ${spec.feed}: ${count(p.events)} events · ${nsToIso(p.ts)}`),
      });
      progress.done();
      return finish(a, out, result, print, errorsShown.n);
    }

    const capture = a.capture!;
    const manifest = readManifest(capture);
    const { from, to, base, last } = parseCaptureRange(manifest, a.from, a.to);
    if (wanted !== undefined) {
      const unknown = wanted.filter((s) => !manifest.symbols.includes(s));
      if (unknown.length > 0) {
        throw new MdcapError(
          'MDCAP_ERR_UNKNOWN_SYMBOL',
          `--symbols: expected symbols of the capture (${manifest.symbols.join(', ')}), found ${unknown.join(', ')}`,
        );
      }
    }
    const replay = {
      ...common,
      capture,
      speed,
      ...(wanted === undefined ? {} : { symbols: wanted }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    };

    if (sets !== null) {
      const stop = new AbortController();
      void stopRequested('backtest').then(() => stop.abort());
      const n = workers ?? Math.min(sets.length, availableParallelism());
      const rows = await runSweep({
        ...replay,
        strategy: a.strategy,
        paramSets: sets,
        workers: n,
        ...(a.out === undefined ? {} : { out: a.out, force: a.force }),
        signal: stop.signal,
        onRow: (_r, done, total) =>
          progress.update(() => `sweep: ${done} of ${total} parameter sets done (${n} at once)`, total === 0 ? 1 : done / total),
      });
      progress.done();
      if (print) {
        if (a.json) for (const r of rows) out.line(stringifyJson(sweepRowJson(r)));
        else {
          out.line(`sweep of ${a.strategy} on ${capture}: ${rows.length} parameter sets, ${n} at once`);
          table(
            out,
            ['#', 'params', 'pnl', 'fees', 'turnover', 'max drawdown', 'sharpe', 'orders', 'fills', 'fill ratio'],
            rows.map(sweepCells),
            new Set([0, 2, 3, 4, 5, 6, 7, 8, 9]),
          );
        }
      }
      await out.end();
      const failed = rows.filter((r) => r.error !== null);
      for (const r of failed.slice(0, 10)) warn('backtest', `parameter set ${r.index + 1}: ${r.error!.code}: ${r.error!.message}`);
      return failed.length > 0 || rows.some((r) => (r.stats?.errorCount ?? 0) > 0) ? EXIT.problems : EXIT.ok;
    }

    const t0 = from ?? base ?? 0n;
    const t1 = to ?? last ?? t0 + 1n;
    const result = await runBacktest({
      ...replay,
      strategy: a.strategy,
      onError,
      onProgress: (p) =>
        progress.update(
          () => `backtest ${capture}: ${nsToIso(p.ts)} · ${count(p.events)} events`,
          () => timeFraction(p.ts, t0, t1),
        ),
    });
    progress.done();
    return finish(a, out, result, print, errorsShown.n);
  },
};

async function finish(a: BacktestArgs, out: LineOutput, result: BacktestResult, print: boolean, errors: number): Promise<number> {
  if (a.out !== undefined) writeBacktestOutputs(result, a.out, { force: a.force });
  if (print) {
    if (a.json) out.line(stringifyJson(summaryJson(result)));
    else {
      printSummary(out, result);
      if (result.recorded !== undefined) {
        const r = result.recorded;
        out.line(`\nrecorded ${count(r.events)} events into ${r.out} (session ${r.session}), with its fills, orders and equity curve`);
      }
      if (a.out !== undefined) out.line(`\nwritten to ${a.out}: fills.parquet, orders.parquet, equity.parquet, summary.json`);
    }
  }
  await out.end();
  if (errors > 10) warn('backtest', `${errors - 10} more errors not shown`);
  return result.stats.errorCount > 0 ? EXIT.problems : EXIT.ok;
}
