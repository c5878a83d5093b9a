import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError, formatDecimal } from '@mdcap/core';
import { newDuckDb } from './analytics.js';
import { sqlString } from './read-only.js';

/** A fill of a backtest run, as exact text: prices and sizes at their scales, money at its, times in ns. */
export interface RunFill {
  readonly fillId: number;
  readonly venue: string;
  readonly symbol: string;
  readonly side: string;
  readonly liquidity: string;
  readonly price: string;
  readonly size: string;
  readonly fee: string;
  readonly position: string;
  readonly tsRecv: string;
}

/** A point of a run's equity curve: money as exact decimal text, `ts` in ns. */
export interface RunEquityPoint {
  readonly ts: string;
  readonly pnl: string;
  readonly realized: string;
  readonly unrealized: string;
  readonly fees: string;
}

/** DuckDB's DECIMAL text keeps every digit of its scale: `12.340000` → `12.34`, `-0.000` → `0` (as summary.json writes money). */
function trimMoney(text: string | number | undefined): string {
  let t = String(text);
  if (t.includes('.')) t = t.replace(/0+$/, '').replace(/\.$/, '');
  return /^-0*$/.test(t) ? '0' : t;
}

/**
 * Reads what `mdcap backtest --out DIR` wrote (`fills.parquet`, `equity.parquet`) back as exact
 * text, for a viewer or a report: DuckDB casts the DECIMAL money and the mantissas to text, so no
 * value passes through a float.
 * @throws {CaptureError} `MDCAP_ERR_IO` when a file is missing or unreadable.
 */
export async function readBacktestRun(dir: string): Promise<{ fills: RunFill[]; equity: RunEquityPoint[] }> {
  for (const f of ['fills.parquet', 'equity.parquet']) {
    if (!existsSync(join(dir, f))) {
      throw new CaptureError('MDCAP_ERR_IO', `${dir}: expected a backtest run's ${f} (written by mdcap backtest --out ${dir}), found none`);
    }
  }
  const instance = await newDuckDb();
  const con = await instance.connect();
  try {
    const rows = async (sql: string): Promise<Record<string, string | number>[]> =>
      (await con.runAndReadAll(sql)).getRowObjectsJson() as Record<string, string | number>[];
    const fills = (
      await rows(
        `SELECT fill_id, venue, symbol, side, liquidity, price::VARCHAR AS price, size::VARCHAR AS size, price_scale, size_scale,
                fee::VARCHAR AS fee, position::VARCHAR AS position, epoch_ns(ts_recv)::VARCHAR AS ts_recv
         FROM read_parquet(${sqlString(join(dir, 'fills.parquet'))}) ORDER BY fill_id`,
      )
    ).map((r) => ({
      fillId: Number(r['fill_id']),
      venue: String(r['venue']),
      symbol: String(r['symbol']),
      side: String(r['side']),
      liquidity: String(r['liquidity']),
      price: formatDecimal(BigInt(r['price']!), Number(r['price_scale'])),
      size: formatDecimal(BigInt(r['size']!), Number(r['size_scale'])),
      fee: trimMoney(r['fee']),
      position: formatDecimal(BigInt(r['position']!), Number(r['size_scale'])),
      tsRecv: String(r['ts_recv']),
    }));
    const equity = (
      await rows(
        `SELECT epoch_ns(ts)::VARCHAR AS ts, pnl::VARCHAR AS pnl, realized::VARCHAR AS realized, unrealized::VARCHAR AS unrealized,
                fees::VARCHAR AS fees
         FROM read_parquet(${sqlString(join(dir, 'equity.parquet'))}) ORDER BY ts`,
      )
    ).map((r) => ({
      ts: String(r['ts']),
      pnl: trimMoney(r['pnl']),
      realized: trimMoney(r['realized']),
      unrealized: trimMoney(r['unrealized']),
      fees: trimMoney(r['fees']),
    }));
    return { fills, equity };
  } catch (e) {
    if (e instanceof CaptureError) throw e;
    throw new CaptureError(
      'MDCAP_ERR_IO',
      `${dir}: expected a backtest run's Parquet files, found them unreadable: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
