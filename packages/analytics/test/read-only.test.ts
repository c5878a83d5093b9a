import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureAnalytics, REFUSED_TABLE_FUNCTIONS } from '@mdcap/analytics';
import type { Manifest } from '@mdcap/capture';
import { MdcapError } from '@mdcap/core';
import { fileHashes, recordEvents, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * CaptureAnalytics is read-only by default: every way DuckDB has to write a file, change a
 * setting or read another file is refused with MDCAP_ERR_QUERY_READ_ONLY, and not one byte of
 * the capture changes. Writing results takes an explicit `exportTo` outside the capture.
 */
const dir = tempDir('analytics-read-only');
const cap = join(dir, 'cap');
const outside = join(dir, 'outside');
let manifest: Manifest;
let parquet = '';

let before: Record<string, string> = {};
beforeAll(async () => {
  manifest = await recordEvents(cap, await simulatedEvents(20, { seed: 7 }));
  parquet = join(cap, manifest.files.find((f) => f.kind === 'trades')!.path);
  before = fileHashes(cap);
}, 60_000);
afterEach(() => expect(fileHashes(cap)).toEqual(before));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(db: CaptureAnalytics, sql: string): Promise<MdcapError> {
  const error = await db.query(sql).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, sql).toBeInstanceOf(MdcapError);
  return error as MdcapError;
}

describe('CaptureAnalytics is read-only by default', () => {
  const refused: [string, () => string][] = [
    ['COPY to the manifest (issue 10)', () => `COPY (SELECT 42) TO '${cap}/manifest.json'`],
    [
      'COPY to its own Parquet file, no temp file',
      () => `COPY (SELECT * FROM trades LIMIT 1) TO '${parquet}' (FORMAT parquet, USE_TMP_FILE false)`,
    ],
    [
      'COPY to the Parquet file through ..',
      () => `COPY raw_trades TO '${cap}/../cap/${manifest.files[0]!.path}' (FORMAT parquet, USE_TMP_FILE false)`,
    ],
    ['COPY to a file outside', () => `COPY trades TO '${outside}.csv'`],
    ['EXPORT DATABASE', () => `EXPORT DATABASE '${outside}'`],
    ['ATTACH', () => `ATTACH '${outside}.duckdb' AS x`],
    ['INSTALL', () => 'INSTALL httpfs'],
    ['LOAD', () => 'LOAD httpfs'],
    ['SET', () => 'SET enable_external_access = true'],
    ['RESET', () => 'RESET allowed_paths'],
    ['PRAGMA', () => 'PRAGMA threads = 1'],
    ['CREATE SECRET', () => "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')"],
    ['CREATE TABLE', () => 'CREATE TABLE t AS SELECT 1'],
    ['CREATE MACRO', () => 'CREATE MACRO m(x) AS x'],
    ['WITH … INSERT', () => 'WITH a AS (SELECT 1) INSERT INTO trades SELECT * FROM a'],
    ['EXPLAIN ANALYZE of a COPY', () => `EXPLAIN ANALYZE COPY trades TO '${parquet}' (FORMAT parquet, USE_TMP_FILE false)`],
    ['CALL', () => 'CALL checkpoint()'],
    ['a SELECT then a COPY', () => `SELECT 1; COPY (SELECT 1) TO '${outside}.csv'`],
    ['enable_logging to a file', () => `SELECT * FROM enable_logging(storage := 'file', storage_path := '${outside}')`],
    ['enable_profiling, nested and qualified', () => 'SELECT * FROM (SELECT * FROM system.main.Enable_Profiling())'],
    ['query() running SQL text', () => "SELECT * FROM query('SELECT 1')"],
    ['checkpoint()', () => 'SELECT * FROM checkpoint()'],
    ['PIVOT without IN (creates a type)', () => 'PIVOT trades ON side USING count(*)'],
    ['reading /etc/passwd', () => "SELECT * FROM read_csv('/etc/passwd')"],
    ['reading the manifest', () => `SELECT * FROM '${cap}/manifest.json'`],
    ['globbing', () => "SELECT * FROM glob('/etc/*')"],
  ];

  it.each(refused)('refuses %s with MDCAP_ERR_QUERY_READ_ONLY; the capture is unchanged', async (_name, sql) => {
    const db = await CaptureAnalytics.open(cap);
    try {
      const e = await refusal(db, sql());
      expect(e.code, e.message).toBe('MDCAP_ERR_QUERY_READ_ONLY');
      expect(e.message).not.toMatch(/\n/);
      expect(await db.query('SELECT count(*)::INTEGER AS n FROM trades')).toEqual([
        { n: manifest.files.filter((f) => f.kind === 'trades').reduce((s, f) => s + f.rows, 0) },
      ]);
    } finally {
      db.close();
    }
    expect(readdirSync(dir).sort()).toEqual(['cap']); // nothing appeared next to it either
  });

  it('keeps its settings locked and spills outside the working directory', async () => {
    const db = await CaptureAnalytics.open(cap);
    try {
      const [s] = await db.query(
        "SELECT current_setting('enable_external_access') AS ext, current_setting('lock_configuration') AS locked, current_setting('temp_directory') AS tmp",
      );
      expect(s).toMatchObject({ ext: false, locked: true });
      expect(s!['tmp']).toEqual(expect.stringMatching(/mdcap-duckdb-/));
      expect(s!['tmp']).not.toContain(cap);
    } finally {
      db.close();
    }
  });

  it('runs every kind of SELECT: WITH, VALUES, DESCRIBE, SUMMARIZE, PIVOT … IN, a trailing ; and comments', async () => {
    const db = await CaptureAnalytics.open(cap);
    try {
      expect(await db.query('WITH t AS (SELECT 1 AS a) SELECT a FROM t; -- done')).toEqual([{ a: 1 }]);
      expect(await db.query('/* hi */ VALUES (2)')).toEqual([{ col0: 2 }]);
      expect((await db.query('DESCRIBE trades')).map((r) => r['column_name'])).toContain('price_mantissa');
      expect((await db.query('SUMMARIZE raw_trades')).length).toBeGreaterThan(5);
      expect((await db.query("PIVOT trades ON side IN ('buy', 'sell') USING count(*) GROUP BY symbol")).length).toBeGreaterThan(0);
      expect((await db.vwap()).length).toBeGreaterThan(0);
      expect((await refusal(db, 'SELECT 1; SELECT 2')).code).toBe('MDCAP_ERR_QUERY');
      expect((await refusal(db, '-- nothing')).code).toBe('MDCAP_ERR_QUERY');
      expect((await refusal(db, 'SELEC 1')).message).toMatch(/Parser Error: syntax error at or near "SELEC"/);
    } finally {
      db.close();
    }
  });

  it("refuses no table function but the reviewed ones (a DuckDB upgrade's new ones fail here until reviewed)", async () => {
    // Read-only: reading DuckDB's state, reading files (the file gate decides), generating rows.
    const reviewed = new Set(
      `duckdb_approx_database_count duckdb_columns duckdb_connection_count duckdb_constraints duckdb_coordinate_systems duckdb_databases
       duckdb_dependencies duckdb_extensions duckdb_external_file_cache duckdb_functions duckdb_indexes duckdb_keywords duckdb_log_contexts
       duckdb_logs duckdb_logs_parsed duckdb_memory duckdb_optimizers duckdb_prepared_statements duckdb_profiling_settings duckdb_schemas
       duckdb_secret_types duckdb_secrets duckdb_sequences duckdb_settings duckdb_table_sample duckdb_tables duckdb_temporary_files
       duckdb_types duckdb_variables duckdb_views check_peg_parser generate_series glob histogram histogram_values icu_calendar_names
       json_each json_tree parquet_bloom_probe parquet_file_metadata parquet_full_metadata parquet_kv_metadata parquet_metadata
       parquet_scan parquet_schema pg_timezone_names pragma_collations pragma_database_size pragma_metadata_info pragma_platform
       pragma_show pragma_storage_info pragma_table_info pragma_user_agent pragma_version query_table range read_blob read_csv
       read_csv_auto read_duckdb read_json read_json_auto read_json_objects read_json_objects_auto read_ndjson read_ndjson_auto
       read_ndjson_objects read_ndjson_objects_auto read_parquet read_text repeat repeat_row seq_scan sniff_csv sql_auto_complete summary
       test_all_types test_vector_types unnest which_secret`.split(/\s+/),
    );
    const db = await CaptureAnalytics.open(cap);
    try {
      const rows = await db.query(
        "SELECT DISTINCT function_name AS f FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro')",
      );
      const unknown = rows.map((r) => r['f'] as string).filter((f) => !reviewed.has(f) && !REFUSED_TABLE_FUNCTIONS.has(f));
      expect(unknown).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe('CaptureAnalytics exportTo: one file, outside the capture, only by name', () => {
  it('exportQuery needs exportTo; an exportTo inside the capture is refused however it is spelled', async () => {
    const db = await CaptureAnalytics.open(cap);
    try {
      await expect(db.exportQuery('SELECT 1', 'csv')).rejects.toMatchObject({ code: 'MDCAP_ERR_INVALID_OPTION' });
    } finally {
      db.close();
    }
    symlinkSync(cap, join(dir, 'link'));
    try {
      for (const exportTo of [join(cap, 'manifest.json'), `${cap}/../cap/manifest.json`, parquet, join(dir, 'link', 'x.csv'), cap]) {
        await expect(CaptureAnalytics.open(cap, { exportTo }), exportTo).rejects.toMatchObject({ code: 'MDCAP_ERR_OUTPUT_IN_CAPTURE' });
      }
    } finally {
      rmSync(join(dir, 'link'));
    }
  });

  it('writes csv, json and parquet to exportTo and nowhere else; a SELECT cannot break out of the COPY around it', async () => {
    const sql = 'SELECT symbol, price, size, ts_recv FROM trades ORDER BY recv_seq LIMIT 5; -- five';
    const rows = await (async () => {
      const db = await CaptureAnalytics.open(cap);
      try {
        return await db.query(sql);
      } finally {
        db.close();
      }
    })();
    for (const format of ['csv', 'json', 'parquet'] as const) {
      const file = `${outside}.${format}`;
      const db = await CaptureAnalytics.open(cap, { exportTo: file });
      try {
        expect(await db.exportQuery(sql, format)).toEqual({ rows: 5, columns: ['symbol', 'price', 'size', 'ts_recv'] });
        const escape = `SELECT 1) TO '${parquet}' (FORMAT parquet, USE_TMP_FILE false); SELECT (1`;
        expect((await db.exportQuery(escape, format).catch((e: MdcapError) => e)) as MdcapError).toMatchObject({ code: 'MDCAP_ERR_QUERY' });
        const other = `COPY (SELECT 1) TO '${outside}.other'`;
        expect((await refusal(db, other)).code).toBe('MDCAP_ERR_QUERY_READ_ONLY');
        await expect(db.query(`SELECT * FROM read_text('${parquet}.nope')`)).rejects.toMatchObject({ code: 'MDCAP_ERR_QUERY_READ_ONLY' });
      } finally {
        db.close();
      }
      expect(existsSync(`${outside}.other`)).toBe(false);
      const written = readFileSync(file);
      if (format === 'json') expect(written.toString()).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      if (format === 'csv') {
        const first = rows[0] as Record<string, string>;
        expect(written.toString().split('\n').slice(0, 2)).toEqual([
          'symbol,price,size,ts_recv',
          `${first['symbol']},${first['price']},${first['size']},${first['ts_recv']}`,
        ]);
      }
      if (format === 'parquet') expect(written.subarray(0, 4).toString()).toBe('PAR1');
      rmSync(file);
    }
    expect(readdirSync(dir).sort()).toEqual(['cap']);
  });
});
