import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  Bool,
  Decimal,
  Int32,
  Int64,
  makeData,
  makeVector,
  Table,
  tableToIPC,
  TimestampNanosecond,
  Uint8,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import type { Vector } from 'apache-arrow';
import { formatMoney } from '@mdcap/backtest';
import type { EquityPoint } from '@mdcap/backtest';
import { captureContaining, parquetWasm } from '@mdcap/capture';
import { CaptureError, ConfigError, MdcapError } from '@mdcap/core';
import type { Fill, OrderState } from '@mdcap/core';
import { stringifyJson, summaryJson } from './backtest.js';
import type { BacktestResult } from './backtest.js';

/** The files a run writes into its output directory. */
export const BACKTEST_FILES: readonly string[] = ['fills.parquet', 'orders.parquet', 'equity.parquet', 'summary.json'];

// ---- the output directory ------------------------------------------------------------------

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? '';
}

function exists(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return null;
    throw error;
  }
}

/**
 * Checks an output directory before a run: not inside an mdcap capture (after resolving
 * symlinks), not a file, and (without `force`) holding none of `files`. The directory need not
 * exist yet.
 * @throws {ConfigError} `MDCAP_ERR_OUTPUT_IN_CAPTURE`, `MDCAP_ERR_OUTPUT_EXISTS`.
 */
export function checkOutputDir(dir: string, force: boolean, files: readonly string[] = BACKTEST_FILES, flag = 'out'): void {
  const abs = resolve(dir);
  // The nearest directory that exists, as the OS resolves it.
  let near = abs;
  for (;;) {
    try {
      near = realpathSync(near);
      break;
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT' && errnoOf(error) !== 'ENOTDIR')
        throw new CaptureError('MDCAP_ERR_IO', `${flag} ${dir}: ${(error as Error).message}`, { cause: error });
      if (dirname(near) === near) break;
      near = dirname(near);
    }
  }
  const d = captureContaining(near);
  if (d !== null) {
    throw new ConfigError(
      'MDCAP_ERR_OUTPUT_IN_CAPTURE',
      `${flag} ${dir}: expected a directory outside any mdcap capture, found ${d === abs ? 'the capture itself' : `a path inside the capture ${d}`} (mdcap never writes into a capture; choose a directory next to it)`,
    );
  }
  const st = exists(abs);
  if (st === null) return;
  if (!st.isDirectory() && !(st.isSymbolicLink() && exists(realpathSync(abs))?.isDirectory() === true)) {
    throw new ConfigError('MDCAP_ERR_OUTPUT_EXISTS', `${flag} ${dir}: expected a directory (or a new name), found a file`);
  }
  if (force) return;
  const there = files.filter((f) => exists(join(abs, f)) !== null);
  if (there.length > 0) {
    throw new ConfigError(
      'MDCAP_ERR_OUTPUT_EXISTS',
      `${flag} ${dir}: expected a directory without earlier results, found ${there.join(', ')} (add --force to replace them, or choose another directory)`,
    );
  }
}

/** Writes a file atomically: a temp file next to it, flushed, then renamed over it. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (let off = 0; off < data.byteLength;) off += writeSync(fd, data, off, data.byteLength - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    if (error instanceof MdcapError) throw error;
    throw new CaptureError('MDCAP_ERR_IO', `${path}: writing failed: ${(error as Error).message}`, { cause: error });
  }
}

// ---- Arrow columns ---------------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL_LIMIT = 10n ** 38n;

function validity(values: readonly unknown[]): { nullBitmap?: Uint8Array; nullCount?: number } {
  let nulls = 0;
  const bits = new Uint8Array((values.length + 7) >> 3);
  values.forEach((v, i) => {
    if (v === null) nulls++;
    else bits[i >> 3]! |= 1 << (i & 7);
  });
  return nulls === 0 ? {} : { nullBitmap: bits, nullCount: nulls };
}

function int64(name: string, values: readonly (bigint | null)[], type: Int64 | TimestampNanosecond = new Int64()): Vector {
  const data = new BigInt64Array(values.length);
  values.forEach((v, i) => {
    if (v === null) return;
    if (v < INT64_MIN || v > INT64_MAX) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${name}: expected a value that fits a 64-bit integer column, found ${v}`);
    }
    data[i] = v;
  });
  return makeVector(makeData({ type, data, length: values.length, ...validity(values) } as never));
}

function timestamps(name: string, values: readonly bigint[]): Vector {
  return int64(name, values, new TimestampNanosecond());
}

function int32(values: readonly number[]): Vector {
  return makeVector(makeData({ type: new Int32(), data: Int32Array.from(values), length: values.length }));
}

function uint8(values: readonly number[]): Vector {
  return makeVector(makeData({ type: new Uint8(), data: Uint8Array.from(values), length: values.length }));
}

function text(values: readonly (string | null)[]): Vector {
  return vectorFromArray(values as (string | null)[], new Utf8());
}

function bool(values: readonly boolean[]): Vector {
  return vectorFromArray(values as boolean[], new Bool());
}

/**
 * Money of rows at their own scales, as one exact column: DECIMAL(38, largest scale) (the values
 * rescaled, never rounded); as decimal text when a value does not fit 38 digits.
 */
function money(values: readonly bigint[], scales: readonly number[]): Vector {
  const scale = scales.reduce((m, s) => Math.max(m, s), 0);
  const at = values.map((v, i) => v * 10n ** BigInt(scale - scales[i]!));
  if (scale > 38 || at.some((v) => v >= DECIMAL_LIMIT || v <= -DECIMAL_LIMIT)) return text(at.map((v) => formatMoney(v, scale, false)));
  const words = new Uint32Array(at.length * 4);
  at.forEach((v, i) => {
    let u = BigInt.asUintN(128, v);
    for (let k = 0; k < 4; k++) {
      words[i * 4 + k] = Number(u & 0xffffffffn);
      u >>= 32n;
    }
  });
  return makeVector(makeData({ type: new Decimal(scale, 38, 128), data: words, length: at.length }));
}

function parquet(kind: string, columns: Record<string, Vector>): Uint8Array {
  const table = new Table(columns);
  const pq = parquetWasm();
  const wasm = pq.Table.fromIPCStream(tableToIPC(table, 'stream'));
  const props = new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression.ZSTD)
    .setCreatedBy('mdcap 0.1.0')
    .setKeyValueMetadata(
      new Map([
        ['mdcap.kind', kind],
        ['mdcap.schema', '1'],
      ]),
    )
    .build();
  return pq.writeParquet(wasm, props);
}

// ---- the tables ------------------------------------------------------------------------------

/**
 * `fills.parquet`: one row per fill, in order. Prices, sizes and positions are int64 mantissas
 * with their `price_scale` / `size_scale` (as in a capture); `fee` is DECIMAL(38, s), exact;
 * times are timestamp[ns].
 */
export function fillsParquet(fills: readonly Fill[]): Uint8Array {
  return parquet('backtest.fills', {
    fill_id: int32(fills.map((f) => f.fillId)),
    order_id: int32(fills.map((f) => f.orderId)),
    client_id: text(fills.map((f) => f.clientId)),
    venue: text(fills.map((f) => f.venue)),
    symbol: text(fills.map((f) => f.symbol)),
    side: text(fills.map((f) => f.side)),
    liquidity: text(fills.map((f) => f.liquidity)),
    price: int64(
      'price',
      fills.map((f) => f.price),
    ),
    size: int64(
      'size',
      fills.map((f) => f.size),
    ),
    price_scale: uint8(fills.map((f) => f.priceScale)),
    size_scale: uint8(fills.map((f) => f.sizeScale)),
    fee: money(
      fills.map((f) => f.fee),
      fills.map((f) => f.moneyScale),
    ),
    position: int64(
      'position',
      fills.map((f) => f.position),
    ),
    ts_venue: timestamps(
      'ts_venue',
      fills.map((f) => f.tsVenue),
    ),
    ts_recv: timestamps(
      'ts_recv',
      fills.map((f) => f.tsRecv),
    ),
  });
}

/** `orders.parquet`: every order update, in the order the strategy learned of them (`update_id` from 1). */
export function ordersParquet(orders: readonly OrderState[]): Uint8Array {
  return parquet('backtest.orders', {
    update_id: int32(orders.map((_, i) => i + 1)),
    order_id: int32(orders.map((o) => o.id)),
    client_id: text(orders.map((o) => o.clientId)),
    venue: text(orders.map((o) => o.venue)),
    symbol: text(orders.map((o) => o.symbol)),
    side: text(orders.map((o) => o.side)),
    type: text(orders.map((o) => o.type)),
    tif: text(orders.map((o) => o.tif)),
    post_only: bool(orders.map((o) => o.postOnly)),
    price: int64(
      'price',
      orders.map((o) => o.price),
    ),
    size: int64(
      'size',
      orders.map((o) => o.size),
    ),
    filled: int64(
      'filled',
      orders.map((o) => o.filled),
    ),
    price_scale: uint8(orders.map((o) => o.priceScale)),
    size_scale: uint8(orders.map((o) => o.sizeScale)),
    status: text(orders.map((o) => o.status)),
    reject: text(orders.map((o) => o.reject)),
    detail: text(orders.map((o) => o.detail)),
    queue_ahead: int64(
      'queue_ahead',
      orders.map((o) => o.queueAhead),
    ),
    ts_submit: timestamps(
      'ts_submit',
      orders.map((o) => o.tsSubmit),
    ),
    ts_venue: timestamps(
      'ts_venue',
      orders.map((o) => o.tsVenue),
    ),
    ts_recv: timestamps(
      'ts_recv',
      orders.map((o) => o.tsRecv),
    ),
  });
}

/** `equity.parquet`: the equity curve, one row per interval close and one at the end; money DECIMAL(38, s). */
export function equityParquet(equity: readonly EquityPoint[]): Uint8Array {
  const scales = equity.map((e) => e.moneyScale);
  return parquet('backtest.equity', {
    ts: timestamps(
      'ts',
      equity.map((e) => e.ts),
    ),
    pnl: money(
      equity.map((e) => e.pnl),
      scales,
    ),
    realized: money(
      equity.map((e) => e.realized),
      scales,
    ),
    unrealized: money(
      equity.map((e) => e.unrealized),
      scales,
    ),
    fees: money(
      equity.map((e) => e.fees),
      scales,
    ),
    turnover: money(
      equity.map((e) => e.turnover),
      scales,
    ),
  });
}

/**
 * Writes a run's results into `dir` (created if needed): `fills.parquet`, `orders.parquet`,
 * `equity.parquet` and `summary.json` ({@link summaryJson}: bigints and money as decimal text).
 * Each file is written atomically. Readable by DuckDB: `SELECT sum(fee) FROM 'dir/fills.parquet'`.
 * @throws {ConfigError} `MDCAP_ERR_OUTPUT_IN_CAPTURE`, `MDCAP_ERR_OUTPUT_EXISTS` (without `force`);
 *   {@link CaptureError} `MDCAP_ERR_IO`.
 */
export function writeBacktestOutputs(
  result: BacktestResult,
  dir: string,
  options: { readonly force?: boolean } = {},
): { readonly dir: string; readonly files: readonly string[] } {
  checkOutputDir(dir, options.force === true);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new CaptureError('MDCAP_ERR_IO', `out ${dir}: could not create the directory: ${(error as Error).message}`, { cause: error });
  }
  const files = BACKTEST_FILES.map((f) => join(dir, f));
  writeFileAtomic(files[0]!, fillsParquet(result.fills));
  writeFileAtomic(files[1]!, ordersParquet(result.orders));
  writeFileAtomic(files[2]!, equityParquet(result.equity));
  writeFileAtomic(files[3]!, `${stringifyJson(summaryJson(result), 2)}\n`);
  return { dir, files };
}
