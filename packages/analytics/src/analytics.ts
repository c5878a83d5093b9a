import { randomUUID } from 'node:crypto';
import { closeSync, openSync, realpathSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DuckDBInstance, StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { CAPTURE_KINDS, CaptureReader, CaptureSet, EXECUTION_TABLES } from '@mdcap/capture';
import type { CaptureKind, Manifest } from '@mdcap/capture';
import { BarFlags, CaptureError, ConfigError, createBar, describeValue, formatDecimal, MdcapError } from '@mdcap/core';
import type { Bar } from '@mdcap/core';
import { lockDown, oneLine, prepareSelect, queryError, selectBody, sqlString } from './read-only.js';

/** A row of a query, JSON-friendly: 64-bit integers, decimals and timestamps as strings. */
export type Row = Record<string, string | number | boolean | null | unknown[] | Record<string, unknown>>;

export interface BarQueryOptions {
  /** Interval(s) in seconds. */
  readonly intervals: readonly number[];
  /** The engine's grace (default 250 ms, as the engine's default). */
  readonly graceMs?: number;
  /** Bucket on `tsEvent` (default, as the engine) or `tsRecv`. */
  readonly timestamp?: 'tsEvent' | 'tsRecv';
}

/** 10^k for k = 0…18 as HUGEINT. */
const POW10 = `[${Array.from({ length: 19 }, (_, k) => `'1${'0'.repeat(k)}'`).join(',')}]::HUGEINT[]`;

/**
 * A mantissa at a per-row scale as an exact `DECIMAL(38, S)`, S being the largest scale of the
 * column in the capture: the mantissa is raised to scale S in integers, then multiplied by the
 * decimal constant 10^-S (a multiplication keeps DECIMAL; a division would give a DOUBLE). With
 * the column's own scale, products such as `price * size` stay exact and in range.
 */
function dec(mantissa: string, scale: string, S: number): string {
  const unit = S === 0 ? `'1'::DECIMAL(1,0)` : `'0.${'0'.repeat(S - 1)}1'::DECIMAL(${S + 1},${S})`;
  return `CAST(${mantissa}::HUGEINT * (${POW10})[${S} - ${scale} + 1] AS DECIMAL(38,0)) * ${unit}`;
}

/** The largest price and size scale in a capture: the scales of its decimal views. */
interface Scales {
  readonly price: number;
  readonly size: number;
}

/** The raw columns of each kind, for empty views when a kind has no files yet. */
const RAW_COLUMNS: Readonly<Record<CaptureKind, string>> = {
  trades: 'price BIGINT, size BIGINT, price_scale UTINYINT, size_scale UTINYINT, side VARCHAR, trade_id VARCHAR',
  quotes: 'bid_price BIGINT, bid_size BIGINT, ask_price BIGINT, ask_size BIGINT, price_scale UTINYINT, size_scale UTINYINT',
  book_updates: 'side VARCHAR, price BIGINT, size BIGINT, price_scale UTINYINT, size_scale UTINYINT, flags USMALLINT',
  order_updates:
    'action VARCHAR, order_id VARCHAR, order_id_is_int BOOLEAN, side VARCHAR, price BIGINT, size BIGINT, price_scale UTINYINT, size_scale UTINYINT, flags USMALLINT',
  status: 'kind VARCHAR, from_seq UBIGINT, to_seq UBIGINT, ok BOOLEAN, detail VARCHAR',
  bars: 'interval INTEGER, start TIMESTAMP_NS, "end" TIMESTAMP_NS, open BIGINT, high BIGINT, low BIGINT, close BIGINT, volume BIGINT, trades UINTEGER, price_scale UTINYINT, size_scale UTINYINT, flags USMALLINT',
};
const HEAD_COLUMNS = 'ts_recv TIMESTAMP_NS, ts_event TIMESTAMP_NS, recv_seq UBIGINT, venue VARCHAR, symbol VARCHAR, seq UBIGINT';

/** The user-facing view of each kind over its raw table: exact decimals next to the mantissas. */
function viewSelect(kind: CaptureKind, sc: Scales): string {
  const p = (m: string): string => dec(m, 'price_scale', sc.price);
  const z = (m: string): string => dec(m, 'size_scale', sc.size);
  const head = 'ts_recv, ts_event, recv_seq, venue, symbol, seq';
  switch (kind) {
    case 'trades':
      return `${head}, ${p('price')} AS price, ${z('size')} AS size, side, trade_id, price AS price_mantissa, size AS size_mantissa, price_scale, size_scale`;
    case 'quotes':
      return `${head}, ${p('bid_price')} AS bid_price, ${z('bid_size')} AS bid_size, ${p('ask_price')} AS ask_price, ${z('ask_size')} AS ask_size,
        bid_price AS bid_price_mantissa, bid_size AS bid_size_mantissa, ask_price AS ask_price_mantissa, ask_size AS ask_size_mantissa, price_scale, size_scale`;
    case 'book_updates':
      return `${head}, side, ${p('price')} AS price, ${z('size')} AS size, flags, price AS price_mantissa, size AS size_mantissa, price_scale, size_scale`;
    case 'order_updates':
      return `${head}, action, order_id, side, ${p('price')} AS price, ${z('size')} AS size, flags, price AS price_mantissa, size AS size_mantissa, price_scale, size_scale`;
    case 'status':
      return `${head}, kind, from_seq, to_seq, ok, detail`;
    case 'bars':
      return `${head}, interval, start, "end", ${p('open')} AS open, ${p('high')} AS high, ${p('low')} AS low, ${p('close')} AS close, ${z('volume')} AS volume,
        trades, flags, price_scale, size_scale`;
  }
}

/** View names: the kinds, with `trades` etc. as they are. */
export const VIEW_NAMES: readonly CaptureKind[] = CAPTURE_KINDS;

/** `a INT, "b" VARCHAR` → `NULL::INT AS a, NULL::VARCHAR AS "b"`. */
function typedNulls(columns: string): string {
  return columns
    .split(',')
    .map((c) => {
      const [name, type] = c.trim().split(/\s+/) as [string, string];
      return `NULL::${type} AS ${name}`;
    })
    .join(', ');
}

export interface AnalyticsOptions {
  /**
   * The one file DuckDB may write: {@link CaptureAnalytics.exportQuery} writes query results
   * there (created or replaced). It must lie outside the capture. Without it (the default) the
   * connection only reads the capture's Parquet files.
   */
  readonly exportTo?: string;
}

/** The formats {@link CaptureAnalytics.exportQuery} writes. */
export type ExportFormat = 'csv' | 'json' | 'parquet';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'json', 'parquet'];

/** What {@link CaptureAnalytics.exportQuery} wrote. */
export interface ExportSummary {
  readonly rows: number;
  readonly columns: string[];
}

/**
 * `file` with its directory's symlinks and `..` resolved as the OS resolves them, refused when it
 * lies in the capture at `root`.
 */
function outsideCapture(root: string, file: string): string {
  let dir: string;
  try {
    dir = realpathSync(dirname(file));
  } catch (error) {
    throw new CaptureError('MDCAP_ERR_IO', `exportTo ${file}: expected an existing directory ${dirname(file)}, found none`, {
      cause: error,
    });
  }
  const target = join(dir, basename(file));
  const rel = relative(realpathSync(root), target);
  if (rel === '' || (rel.split(sep)[0] !== '..' && !isAbsolute(rel))) {
    throw new ConfigError(
      'MDCAP_ERR_OUTPUT_IN_CAPTURE',
      `exportTo ${file}: expected a file outside the capture ${root}, found one inside it`,
    );
  }
  return target;
}

/** Streams the rows of a prepared statement, JSON-friendly, a chunk at a time. */
async function* rowsOf(prepared: DuckDBPreparedStatement, sql: string): AsyncGenerator<Row[]> {
  let result;
  try {
    result = await prepared.stream();
  } catch (error) {
    throw queryError(error, sql);
  } finally {
    prepared.destroySync();
  }
  try {
    for await (const rows of result.yieldRowObjectJson()) yield rows;
  } catch (error) {
    throw queryError(error, sql);
  }
}

/**
 * An in-memory DuckDB that loads no extension. Spill files go to the system's temp directory,
 * not `.tmp` in the working directory (which may be a capture); DuckDB removes it when it closes.
 */
export function newDuckDb(): Promise<DuckDBInstance> {
  return DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    temp_directory: join(tmpdir(), `mdcap-duckdb-${randomUUID()}`),
  });
}

/**
 * DuckDB over a capture root. Each kind is a view (`trades`, `quotes`, `book_updates`,
 * `order_updates`, `status`, `bars`) over its Parquet files, with exact `DECIMAL(38,S)` prices (S: the capture's largest scale)
 * and sizes next to the raw mantissas and scales, and `TIMESTAMP_NS` times (UTC). The raw tables
 * are `raw_<kind>`. Finalized files only: a segment still being written is not queried.
 *
 * Read-only: a query is one SELECT over the views; DuckDB may open no file but the capture's
 * Parquet files (and the `exportTo` file, only when asked for) and may change no setting
 * (read-only.ts). Anything else is refused with `MDCAP_ERR_QUERY_READ_ONLY`.
 */
export class CaptureAnalytics {
  private constructor(
    readonly root: string,
    readonly manifest: Manifest,
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
    /** Segments not finalized yet (a recording runs, or was interrupted): not in the views. */
    readonly unfinalizedSegments: number,
    /** The one file DuckDB may write ({@link exportQuery}), resolved; null: read-only. */
    readonly exportTo: string | null,
  ) {}

  /**
   * @throws {CaptureError} for a missing, empty or newer capture; `MDCAP_ERR_OUTPUT_IN_CAPTURE`
   *   for an `exportTo` inside it.
   */
  static async open(capture: string | readonly string[], options: AnalyticsOptions = {}): Promise<CaptureAnalytics> {
    // The files the manifest lists, each present with its recorded size (CaptureReader checks),
    // not whatever else lies in the directories: a stray copy would count twice. Several roots:
    // one set (CaptureSet), its files' paths relative to the first root.
    const roots = typeof capture === 'string' ? [capture] : capture;
    const reader = roots.length === 1 ? CaptureReader.open(roots[0]!) : CaptureSet.open(roots);
    const root = roots.length === 1 ? roots[0]! : reader.root;
    const manifest = reader.manifest;
    const segments = reader.files().filter((f) => f.format === 'arrow').length;
    let exportTo: string | null = null;
    if (options.exportTo !== undefined) for (const r of roots) exportTo = outsideCapture(r, options.exportTo);
    const paths = manifest.files.map((f) => resolve(root, f.path));
    const instance = await newDuckDb();
    const con = await instance.connect();
    try {
      for (const kind of CAPTURE_KINDS) {
        const files = manifest.files.flatMap((f, i) => (f.kind === kind ? [sqlString(paths[i]!)] : []));
        const raw =
          files.length > 0
            ? `SELECT * FROM read_parquet([${files.join(', ')}], hive_partitioning = false, union_by_name = true)`
            : `SELECT ${typedNulls(`${HEAD_COLUMNS}, ${RAW_COLUMNS[kind]}`)} WHERE false`; // no files yet: an empty, typed view
        await con.run(`CREATE VIEW raw_${kind} AS ${raw}`);
      }
      // The largest scales in the data (not only the instruments listed): no row can exceed them.
      const parts = CAPTURE_KINDS.filter((k) => k !== 'status').map(
        (k) => `SELECT max(price_scale) AS p, max(size_scale) AS z FROM raw_${k}`,
      );
      const reader = await con.runAndReadAll(
        `SELECT coalesce(max(p), 0)::INTEGER AS p, coalesce(max(z), 0)::INTEGER AS z FROM (${parts.join(' UNION ALL ')})`,
      );
      const [p, z] = reader.getRows()[0] as [number, number];
      for (const kind of CAPTURE_KINDS)
        await con.run(`CREATE VIEW ${kind} AS SELECT ${viewSelect(kind, { price: p, size: z })} FROM raw_${kind}`);
      // Paper trading recorded with the capture: views `fills`, `orders`, `equity` (with a
      // `session` column) where some session has them.
      for (const table of EXECUTION_TABLES) {
        const parts = manifest.sessions.flatMap((s) =>
          (s.executions ?? [])
            .filter((f) => f.table === table)
            .map((f) => {
              const path = resolve(root, f.path);
              paths.push(path);
              return `SELECT ${s.id} AS session, * FROM read_parquet(${sqlString(path)})`;
            }),
        );
        if (parts.length > 0) await con.run(`CREATE VIEW ${table} AS ${parts.join(' UNION ALL BY NAME ')}`);
      }
      await lockDown(con, paths, exportTo);
    } catch (error) {
      con.closeSync();
      instance.closeSync();
      throw new CaptureError(
        'MDCAP_ERR_CAPTURE_CORRUPT',
        `capture ${roots.join(' ')}: DuckDB cannot read its Parquet files: ${oneLine(error)}`,
        {
          cause: error,
        },
      );
    }
    return new CaptureAnalytics(root, manifest, instance, con, segments, exportTo);
  }

  /** Runs any SQL over the views; rows come back JSON-friendly. */
  async query(sql: string): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const chunk of this.stream(sql)) rows.push(...chunk);
    return rows;
  }

  /**
   * Streams the rows of one SELECT over the views, a chunk at a time.
   * @throws {MdcapError} `MDCAP_ERR_QUERY` with DuckDB's message; `MDCAP_ERR_QUERY_READ_ONLY` for
   *   anything but a SELECT over the capture (a write, a setting, another file).
   */
  async *stream(sql: string): AsyncGenerator<Row[]> {
    yield* rowsOf(await prepareSelect(this.con, sql), sql);
  }

  /**
   * Writes the rows of one SELECT over the views to the `exportTo` file given to {@link open}:
   * `csv` (with a header) and `parquet` by DuckDB's COPY, with DuckDB's types; `json` as the
   * lines of {@link stream} (one object per row, 64-bit integers, decimals and times as strings).
   * @throws {MdcapError} as {@link stream}; `MDCAP_ERR_INVALID_OPTION` without `exportTo`.
   */
  async exportQuery(sql: string, format: ExportFormat): Promise<ExportSummary> {
    const out = this.exportTo;
    if (out === null) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        'exportQuery: expected a connection opened with { exportTo: FILE }, found a read-only one',
      );
    }
    if (!EXPORT_FORMATS.includes(format))
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `exportQuery: expected a format of ${EXPORT_FORMATS.join(', ')}, found ${describeValue(format)}`,
      );
    const prepared = await prepareSelect(this.con, sql);
    const columns = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
    if (format === 'json') {
      const fd = openSync(out, 'w');
      let rows = 0;
      try {
        for await (const chunk of rowsOf(prepared, sql)) {
          writeSync(fd, chunk.map((r) => `${JSON.stringify(r)}\n`).join(''));
          rows += chunk.length;
        }
      } finally {
        closeSync(fd);
      }
      return { rows, columns };
    }
    prepared.destroySync();
    // The checked SELECT inside COPY (…): it cannot reach past its parentheses, and the file gate
    // lets COPY write only `out`.
    const body = await selectBody(this.con, sql);
    const copy = `COPY (\n${body}\n) TO ${sqlString(out)} (FORMAT ${format}${format === 'csv' ? ', HEADER true' : ''}, USE_TMP_FILE false)`;
    let written: bigint;
    try {
      const statements = await this.con.extractStatements(copy);
      if (statements.count !== 1) throw new Error(`expected one COPY statement, found ${statements.count}`);
      const p = await statements.prepare(0);
      try {
        if (p.statementType !== StatementType.COPY) throw new Error('expected a COPY statement');
        written = (await p.runAndReadAll()).getRows()[0]![0] as bigint;
      } finally {
        p.destroySync();
      }
    } catch (error) {
      throw queryError(error, sql);
    }
    return { rows: Number(written), columns };
  }

  /** The time the recording ends (where a replay ends its clock): the last session's end. */
  endOfData(): bigint | null {
    let end: bigint | null = null;
    for (const s of this.manifest.sessions) if (s.end !== null && (end === null || BigInt(s.end) > end)) end = BigInt(s.end);
    return end;
  }

  /**
   * OHLCV bars computed by DuckDB with exactly the engine's rules (docs/engine.md): buckets
   * aligned to the epoch on tsEvent (or tsRecv); a trade is left out if its bucket had closed
   * (bucket end + grace ≤ its tsRecv); open and close by replay order; a bucket overlapping a
   * recorded gap, resync, failed checksum or disconnect carries the Gap flag; buckets still open
   * at the end of the recording close there, Partial if their end is past it. Same order as the
   * engine emits them. The result equals `mdcap replay --bars` event for event.
   */
  async bars(options: BarQueryOptions): Promise<Bar[]> {
    const grace = options.graceMs ?? 250;
    if (!Number.isInteger(grace) || grace < 0)
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `grace: expected an integer of 0 ms or more, found ${describeValue(grace)}`);
    for (const s of options.intervals) {
      if (!Number.isInteger(s) || s <= 0) {
        throw new ConfigError(
          'MDCAP_ERR_BAR_INTERVAL',
          `bar interval: expected a positive integer number of seconds, found ${describeValue(s)}`,
        );
      }
    }
    const G = BigInt(grace) * 1_000_000n;
    const end = this.endOfData();
    const tk = options.timestamp === 'tsRecv' ? 'tr' : 'te';
    // Gaps between recording sessions, as the replay marks them.
    const sessionGaps = this.manifest.sessions
      .slice(1)
      .map((s, i) => {
        const prev = this.manifest.sessions[i]!;
        return prev.end === null
          ? null
          : `(${sqlString(prev.feed)}, '*', ${BigInt(s.firstRecvSeq) * 2n - 1n}, ${prev.end}, ${prev.end}, 'gap', NULL)`;
      })
      .filter((v): v is string => v !== null);
    const out: (Bar & { closeAt: bigint; order: bigint })[] = [];
    for (const seconds of options.intervals) {
      const I = BigInt(seconds) * 1_000_000_000n;
      const sql = `
WITH t AS (
  SELECT venue, symbol, recv_seq::HUGEINT * 2 AS ord, epoch_ns(ts_event)::HUGEINT AS te, epoch_ns(ts_recv)::HUGEINT AS tr,
         price, size, price_scale, size_scale
  FROM raw_trades
),
tb AS (SELECT *, ${tk} - (((${tk} % ${I}) + ${I}) % ${I}) AS bstart FROM t),
series AS (SELECT venue, symbol, min(ord) AS first_ord FROM t GROUP BY ALL),
bars AS (
  SELECT venue, symbol, bstart, bstart + ${I} AS bend,
         arg_min(price, ord) AS open, max(price) AS high, min(price) AS low, arg_max(price, ord) AS close,
         sum(size)::HUGEINT AS volume, count(*) AS trades,
         arg_min(price_scale, ord) AS price_scale, arg_min(size_scale, ord) AS size_scale
  FROM tb WHERE bstart + ${I} + ${G} > tr
  GROUP BY venue, symbol, bstart
),
st AS (
  SELECT venue, symbol, recv_seq::HUGEINT * 2 AS ord, epoch_ns(ts_event)::HUGEINT AS te, epoch_ns(ts_recv)::HUGEINT AS tr, kind, ok FROM raw_status
  ${sessionGaps.length > 0 ? `UNION ALL SELECT * FROM (VALUES ${sessionGaps.join(', ')}) v(venue, symbol, ord, te, tr, kind, ok)` : ''}
),
gs AS (
  SELECT *, ${tk} AS tk FROM st
  WHERE kind IN ('gap', 'resync', 'disconnected', 'reconnected') OR (kind = 'checksum' AND ok = false)
),
last_trade AS (
  SELECT s.ord AS sord, t.symbol, arg_max(t.${tk}, t.ord) AS last_tk
  FROM gs s JOIN t ON t.venue = s.venue AND (s.symbol = '*' OR t.symbol = s.symbol) AND t.ord < s.ord
  GROUP BY s.ord, t.symbol
),
gfrom AS (
  SELECT s.*, least(s.tk, coalesce((SELECT min(l.last_tk) FROM last_trade l WHERE l.sord = s.ord), s.tk)) AS gfrom FROM gs s
),
ranges AS (
  SELECT venue, symbol, tr, gfrom AS rfrom,
         CASE WHEN kind = 'disconnected'
              THEN (SELECT min(r.tk) FROM gs r WHERE r.kind = 'reconnected' AND r.venue = g.venue AND r.symbol = g.symbol AND r.ord > g.ord)
              ELSE tk END AS rto,
         kind
  FROM gfrom g
  WHERE kind <> 'reconnected'
     OR NOT EXISTS (SELECT 1 FROM gs d WHERE d.kind = 'disconnected' AND d.venue = g.venue AND d.symbol = g.symbol AND d.ord < g.ord)
)
SELECT b.venue, b.symbol, b.bstart::VARCHAR AS start, b.bend::VARCHAR AS bend, b.open::VARCHAR AS open, b.high::VARCHAR AS high,
       b.low::VARCHAR AS low, b.close::VARCHAR AS close, b.volume::VARCHAR AS volume, b.trades::INTEGER AS trades,
       b.price_scale::INTEGER AS price_scale, b.size_scale::INTEGER AS size_scale, s.first_ord::VARCHAR AS first_ord,
       EXISTS (
         SELECT 1 FROM ranges r
         WHERE r.venue = b.venue AND (r.symbol = '*' OR r.symbol = b.symbol)
           AND r.tr < b.bend + ${G}
           AND r.rfrom < b.bend AND (r.rto IS NULL OR r.rto >= b.bstart)
       ) AS gap
FROM bars b JOIN series s USING (venue, symbol)`;
      let rows: Row[];
      try {
        rows = await this.query(sql);
      } catch (error) {
        throw error instanceof MdcapError ? error : new CaptureError('MDCAP_ERR_QUERY', String(error));
      }
      for (const r of rows) {
        const bend = BigInt(r['bend'] as string);
        const naturalClose = bend + G;
        const flushed = end !== null && naturalClose > end;
        let flags = r['gap'] === true ? BarFlags.Gap : 0;
        if (flushed && bend > end) flags |= BarFlags.Partial;
        const closeAt = flushed ? end : naturalClose;
        const bar = createBar({
          venue: r['venue'] as string,
          symbol: r['symbol'] as string,
          tsEvent: bend,
          tsRecv: closeAt,
          interval: seconds,
          start: BigInt(r['start'] as string),
          end: bend,
          open: BigInt(r['open'] as string),
          high: BigInt(r['high'] as string),
          low: BigInt(r['low'] as string),
          close: BigInt(r['close'] as string),
          volume: BigInt(r['volume'] as string),
          trades: r['trades'] as number,
          priceScale: r['price_scale'] as number,
          sizeScale: r['size_scale'] as number,
          flags,
        });
        out.push({ ...bar, closeAt: naturalClose, order: BigInt(r['first_ord'] as string) });
      }
    }
    // The engine's emission order: by close time, then shorter interval, then the series that traded first.
    out.sort((a, b) =>
      a.closeAt !== b.closeAt
        ? a.closeAt < b.closeAt
          ? -1
          : 1
        : a.interval - b.interval || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0),
    );
    return out.map(({ closeAt: _c, order: _o, ...bar }) => bar);
  }

  /**
   * Volume-weighted average price per venue and symbol. The sums are exact (HUGEINT over the
   * mantissas); the one division is done in bigint, rounded half up to 6 digits past the price
   * scale. `notional` is exact.
   */
  async vwap(): Promise<Row[]> {
    const rows = await this.query(`
      SELECT venue, symbol, count(*) AS trades, any_value(price_scale)::INTEGER AS ps, any_value(size_scale)::INTEGER AS ss,
             sum(price_mantissa::HUGEINT * size_mantissa::HUGEINT)::VARCHAR AS notional_m, sum(size_mantissa::HUGEINT)::VARCHAR AS volume_m
      FROM trades GROUP BY ALL ORDER BY venue, symbol`);
    return rows.map((r) => {
      const ps = r['ps'] as number;
      const ss = r['ss'] as number;
      const notional = BigInt(r['notional_m'] as string);
      const volume = BigInt(r['volume_m'] as string);
      const extra = 6;
      // notional has scale ps+ss, volume ss: notional / volume has scale ps; 6 more digits, rounded.
      const q = volume === 0n ? null : (notional * 10n ** BigInt(extra) * 2n + volume) / (2n * volume);
      return {
        venue: r['venue'] as string,
        symbol: r['symbol'] as string,
        trades: r['trades'] as string,
        vwap: q === null ? null : formatDecimal(q, ps + extra),
        notional: formatDecimal(notional, ps + ss),
        volume: formatDecimal(volume, ss),
      };
    });
  }

  /**
   * Quoted spread statistics per venue and symbol, in price units, exact: the mean is an exact
   * sum divided in bigint, rounded half up to 6 digits past the price scale.
   */
  async spreads(): Promise<Row[]> {
    const rows = await this.query(`
      SELECT venue, symbol, count(*) AS quotes, any_value(price_scale)::INTEGER AS ps,
             min(ask_price - bid_price)::VARCHAR AS min, max(ask_price - bid_price)::VARCHAR AS max,
             quantile_disc(ask_price - bid_price, 0.5)::VARCHAR AS median,
             sum(ask_price_mantissa::HUGEINT - bid_price_mantissa::HUGEINT)::VARCHAR AS sum_m
      FROM quotes WHERE bid_price IS NOT NULL AND ask_price IS NOT NULL GROUP BY ALL ORDER BY venue, symbol`);
    return rows.map((r) => {
      const n = BigInt(r['quotes'] as string);
      const extra = 6;
      const sum = BigInt(r['sum_m'] as string) * 10n ** BigInt(extra);
      const mean = (sum * 2n + (sum >= 0n ? n : -n)) / (2n * n);
      const { ps: _ps, sum_m: _s, ...rest } = r;
      return { ...rest, mean: formatDecimal(mean, (r['ps'] as number) + extra) };
    });
  }

  /**
   * Every recorded gap, resync, disconnect, reconnect, stale feed, failed checksum and corrupt packet, and the
   * holes between recording sessions, in replay order.
   */
  async gapReport(): Promise<Row[]> {
    const holes = this.manifest.sessions.slice(1).flatMap((s, i) => {
      const prev = this.manifest.sessions[i]!;
      if (prev.end === null) return [];
      const detail = `between recording sessions ${prev.id} and ${s.id}`;
      return [
        `(${BigInt(s.firstRecvSeq) * 2n - 1n}, make_timestamp_ns(${prev.end}), ${sqlString(prev.feed)}, '*', 'gap', NULL, NULL, NULL, ${sqlString(detail)})`,
      ];
    });
    return this.query(`
      SELECT ts_recv::VARCHAR AS ts_recv, venue, symbol, kind, from_seq::VARCHAR AS from_seq, to_seq::VARCHAR AS to_seq, ok, detail FROM (
        SELECT recv_seq::HUGEINT * 2 AS ord, ts_recv, venue, symbol, kind, from_seq, to_seq, ok, detail
        FROM status WHERE kind IN ('gap', 'resync', 'disconnected', 'reconnected', 'stale', 'corrupt') OR (kind = 'checksum' AND ok = false)
        ${holes.length > 0 ? `UNION ALL SELECT * FROM (VALUES ${holes.join(', ')}) v(ord, ts_recv, venue, symbol, kind, from_seq, to_seq, ok, detail)` : ''}
      ) ORDER BY ord`);
  }

  /** `tsRecv − tsEvent` percentiles in microseconds, per venue and kind. */
  async latency(): Promise<Row[]> {
    const parts = ['trades', 'quotes', 'book_updates', 'order_updates'].map(
      (k) => `SELECT venue, '${k}' AS kind, (epoch_ns(ts_recv) - epoch_ns(ts_event)) / 1000.0 AS us FROM raw_${k}`,
    );
    return this.query(`
      SELECT venue, kind, count(*) AS events,
             round(quantile_cont(us, 0.5), 1) AS p50_us, round(quantile_cont(us, 0.9), 1) AS p90_us,
             round(quantile_cont(us, 0.99), 1) AS p99_us, round(max(us), 1) AS max_us
      FROM (${parts.join(' UNION ALL ')}) GROUP BY ALL ORDER BY venue, kind`);
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
  }

  /** `using db = await CaptureAnalytics.open(…)`: closes DuckDB at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
