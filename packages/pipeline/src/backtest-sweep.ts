import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BacktestSummary } from '@mdcap/backtest';
import { CaptureColumns, CaptureReader } from '@mdcap/capture';
import type { CaptureColumnsData } from '@mdcap/capture';
import { CaptureError, ConfigError, describeValue, MdcapError } from '@mdcap/core';
import type { MdcapErrorCode } from '@mdcap/core';
import { loadStrategy } from './backtest-strategy.js';
import { resolveLatency, stringifyJson, summaryFieldsJson } from './backtest.js';
import type { BacktestRunOptions, BacktestRunStats, SummaryFieldsJson } from './backtest.js';
import { BACKTEST_FILES, checkOutputDir, writeFileAtomic } from './backtest-output.js';

/** A parameter sweep: one strategy module, one capture, several parameter sets. */
export interface SweepOptions extends Omit<BacktestRunOptions, 'strategy' | 'params' | 'signal' | 'onError' | 'onProgress' | 'engine'> {
  /** The strategy module (a path: each worker thread imports it). */
  readonly strategy: string;
  /** One run per set, each overlaid on the module's `params` export. */
  readonly paramSets: readonly Readonly<Record<string, unknown>>[];
  /** Worker threads at once (default: the machine's parallelism, at most one per set). */
  readonly workers?: number;
  /**
   * Decode the capture once, into shared memory, for every set (`CaptureColumns`), instead of
   * each worker decoding it again. Default `auto`: when there is more than one set and the
   * capture (within from/to) has at most {@link SHARE_COLUMNS_MAX_ROWS} rows.
   */
  readonly shareColumns?: boolean | 'auto';
  /**
   * Also write each run's outputs (`writeBacktestOutputs`) into `out/set-001`, `out/set-002`, …
   * and the rows into `out/sweep.json`.
   */
  readonly out?: string;
  readonly force?: boolean;
  /** Stops the sweep: running sets are ended, the rest not started (their rows say so). */
  readonly signal?: AbortSignal;
  /** Called as each set finishes (in completion order). */
  readonly onRow?: (row: SweepRow, done: number, total: number) => void;
}

/** One parameter set's result, or why it has none. */
export interface SweepRow {
  /** The set's place in `paramSets`, from 0. */
  readonly index: number;
  /** The set as given (the module's defaults are not merged in). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly summary: BacktestSummary | null;
  readonly stats: BacktestRunStats | null;
  /** `fillsHash` of the run's fills: equal for identical fills. */
  readonly fillsHash: string | null;
  /** Where the set's outputs were written, if `out` was given. */
  readonly out: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** What a worker is given (structured-cloned: bigints and arrays pass as they are). */
export interface SweepJob {
  readonly options: BacktestRunOptions;
  readonly out: string | null;
  readonly force: boolean;
}

/** What a worker answers. */
export type SweepReply =
  | { readonly ok: true; readonly summary: BacktestSummary; readonly stats: BacktestRunStats; readonly fillsHash: string }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** Above this many rows (within from/to), a sweep's workers each stream the capture from disk. */
export const SHARE_COLUMNS_MAX_ROWS = 20_000_000;

function shouldShare(o: SweepOptions, total: number): boolean {
  const share = o.shareColumns ?? 'auto';
  if (share !== 'auto') return share;
  if (total < 2) return false;
  const reader = CaptureReader.open(o.capture);
  let rows = 0;
  for (const f of reader.manifest.files) {
    for (const rg of f.rowGroups) {
      if (o.from !== undefined && BigInt(rg.tsRecvMax) < o.from) continue;
      if (o.to !== undefined && BigInt(rg.tsRecvMin) >= o.to) continue;
      rows += rg.rows;
    }
  }
  return rows <= SHARE_COLUMNS_MAX_ROWS;
}

async function loadSweepColumns(o: SweepOptions): Promise<CaptureColumnsData> {
  const columns = await CaptureColumns.load(o.capture, {
    ...(o.from === undefined ? {} : { from: o.from }),
    ...(o.to === undefined ? {} : { to: o.to }),
    ...(o.symbols === undefined ? {} : { symbols: new Set(o.symbols) }),
  });
  return columns.data;
}

/** The built worker script (from sources under test, the compiled one in dist/). */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../dist/backtest-worker.js', here) : new URL('./backtest-worker.js', here);
}

function setDir(out: string, index: number, total: number): string {
  return join(out, `set-${String(index + 1).padStart(Math.max(3, String(total).length), '0')}`);
}

/**
 * Runs each parameter set as its own backtest on a worker thread (one replay each, a fresh
 * thread per set: nothing a strategy module keeps at module level carries over), at most
 * `workers` at once. Returns one row per set, in input order; each row is what `runBacktest` of
 * that set alone returns (deterministic: the same summary and fills). A set that fails has its
 * error in its row and the others go on; a strategy module that cannot be loaded fails the sweep.
 * @throws {ConfigError} `MDCAP_ERR_STRATEGY`, `MDCAP_ERR_INVALID_OPTION`; output directory errors as `writeBacktestOutputs`.
 */
export async function runSweep(o: SweepOptions): Promise<SweepRow[]> {
  if (!Array.isArray(o.paramSets) || o.paramSets.length === 0) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `paramSets: expected a non-empty array of parameter objects, found ${describeValue(o.paramSets)}`,
    );
  }
  o.paramSets.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `paramSets[${i}]: expected an object of parameters, found ${describeValue(p)}`);
    }
  });
  if (typeof o.strategy !== 'string')
    throw new ConfigError('MDCAP_ERR_STRATEGY', 'sweep strategy: expected a module path (worker threads import it), found a function');
  const total = o.paramSets.length;
  const workers = o.workers ?? Math.min(total, availableParallelism());
  if (!Number.isSafeInteger(workers) || workers < 1)
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `workers: expected a positive integer, found ${describeValue(workers)}`);
  await loadStrategy(o.strategy); // a module that cannot load fails once, here, not once per set
  const out = o.out ?? null;
  if (out !== null) {
    checkOutputDir(out, o.force === true, ['sweep.json']);
    for (let i = 0; i < total; i++) checkOutputDir(setDir(out, i, total), o.force === true, BACKTEST_FILES);
    try {
      mkdirSync(out, { recursive: true });
    } catch (error) {
      throw new CaptureError('MDCAP_ERR_IO', `out ${out}: could not create the directory: ${(error as Error).message}`, { cause: error });
    }
  }
  // Latencies sampled from the capture once, here: every set gets the same samples.
  const latency = await resolveLatency(o, o.capture, o.symbols, o.latencySamples ?? 10_000);
  const { paramSets: _p, workers: _w, out: _o, force: _f, signal: _s, onRow: _r, shareColumns: _c, ...common } = o;
  const columns = shouldShare(o, total) ? await loadSweepColumns(o) : undefined;
  const paramSets: readonly Readonly<Record<string, unknown>>[] = o.paramSets;
  const signal = o.signal;
  const onRow = o.onRow;
  const base: BacktestRunOptions = {
    ...common,
    strategy: resolve(o.strategy),
    capture: resolve(o.capture),
    ...(latency === undefined ? {} : { latency }),
    ...(columns === undefined ? {} : { columns }),
  };

  const rows: (SweepRow | undefined)[] = new Array<SweepRow | undefined>(total);
  const running = new Set<Worker>();
  let next = 0;
  let done = 0;
  let stopped = signal?.aborted === true;
  const stop = (): void => {
    stopped = true;
    for (const w of running) void w.terminate();
  };
  signal?.addEventListener('abort', stop, { once: true });

  const runOne = (index: number): Promise<SweepRow> => {
    const params = paramSets[index]!;
    const dir = out === null ? null : setDir(out, index, total);
    const job: SweepJob = { options: { ...base, params }, out: dir, force: o.force === true };
    const row = (reply: SweepReply): SweepRow =>
      reply.ok
        ? { index, params, summary: reply.summary, stats: reply.stats, fillsHash: reply.fillsHash, out: dir, error: null }
        : { index, params, summary: null, stats: null, fillsHash: null, out: null, error: reply.error };
    return new Promise((resolveRow) => {
      let settled = false;
      const settle = (r: SweepRow): void => {
        if (settled) return;
        settled = true;
        running.delete(worker);
        resolveRow(r);
      };
      const worker = new Worker(workerUrl(), { workerData: job });
      running.add(worker);
      worker.once('message', (m: SweepReply) => {
        settle(row(m));
        void worker.terminate(); // a timer the strategy left running must not keep the thread (and the process) alive
      });
      worker.once('error', (e) =>
        settle(row({ ok: false, error: { code: 'MDCAP_ERR_STRATEGY', message: `the worker thread failed: ${e.message}` } })),
      );
      worker.once('exit', () =>
        settle(
          row({
            ok: false,
            error: {
              code: 'MDCAP_ERR_ENGINE_STATE',
              message: stopped ? 'stopped before it finished' : 'the worker thread exited without a result',
            },
          }),
        ),
      );
    });
  };

  const lane = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= total) return;
      const r = stopped
        ? {
            index,
            params: paramSets[index]!,
            summary: null,
            stats: null,
            fillsHash: null,
            out: null,
            error: { code: 'MDCAP_ERR_ENGINE_STATE', message: 'stopped before it ran' },
          }
        : await runOne(index);
      rows[index] = r;
      done++;
      onRow?.(r, done, total);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(workers, total) }, lane));
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  const result = rows as SweepRow[];
  if (out !== null) writeFileAtomic(join(out, 'sweep.json'), `${sweepJson(result)}\n`);
  return result;
}

/** A row as JSON can carry it: the summary's money as exact decimal text (`summary.json`'s fields). */
export interface SweepRowJson extends Partial<SummaryFieldsJson> {
  readonly index: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly events: number | null;
  readonly errors: number | null;
  readonly fillsHash: string | null;
  readonly out: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

export function sweepRowJson(r: SweepRow): SweepRowJson {
  return {
    index: r.index,
    params: r.params,
    ...(r.summary === null ? {} : summaryFieldsJson(r.summary)),
    events: r.stats?.events ?? null,
    errors: r.stats?.errorCount ?? null,
    fillsHash: r.fillsHash,
    out: r.out,
    error: r.error,
  };
}

function sweepJson(rows: readonly SweepRow[]): string {
  return stringifyJson(rows.map(sweepRowJson), 2);
}

/** A worker's error, as the code it carries (for a thrown MdcapError) or an internal one. */
export function replyError(error: unknown): { code: MdcapErrorCode | 'internal'; message: string } {
  if (error instanceof MdcapError) return { code: error.code, message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
