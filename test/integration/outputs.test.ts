import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { fileHashes, mdcap, recordEvents, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 10: files mdcap writes for a user. `export dbn --out` and `query --out` never write
 * inside a capture, replace a file only with --force, report a missing directory as
 * MDCAP_ERR_IO (not an internal error); `query` is read-only (its COPY once destroyed the
 * manifest). Every refusal is one line with its code, exit 2, and leaves every byte of the
 * capture as it was.
 */
const dir = tempDir('outputs');
const cap = join(dir, 'cap');
let before: Record<string, string> = {};

function ok(args: string[]): string {
  const r = mdcap(args);
  expect(r.status, `mdcap ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Runs a command that must be refused: exit 2, one line naming `code`, nothing on stdout. */
function refused(args: string[], code: string, message: RegExp = /./): string {
  const r = mdcap(args);
  expect(r.status, `mdcap ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^mdcap \\w+: ${code}: `));
  expect(r.stderr).toMatch(message);
  return r.stderr;
}

const exportDbn = (out: string, ...more: string[]): string[] => [
  'export',
  'dbn',
  cap,
  '--schema',
  'trades',
  '--symbols',
  'AAPL',
  '--out',
  out,
  ...more,
];

beforeAll(async () => {
  await recordEvents(cap, await simulatedEvents(20, { seed: 11 }));
  before = fileHashes(cap);
}, 60_000);
afterEach(() => expect(fileHashes(cap)).toEqual(before));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The capture still opens and every file matches its hash. */
function verifies(): void {
  const v = JSON.parse(mdcap(['verify', cap, '--json']).stdout) as { readable: boolean; hashMismatches: unknown[] };
  expect(v).toMatchObject({ readable: true, hashMismatches: [] });
}

describe('export dbn --out: never inside a capture, never over a file without --force', () => {
  it('refuses the capture’s own manifest.json, with or without --force, however the path is spelled (issue 10)', () => {
    symlinkSync(cap, join(dir, 'link'));
    try {
      for (const out of [
        join(cap, 'manifest.json'),
        `${cap}/../cap/manifest.json`,
        join(dir, 'link', 'manifest.json'),
        join(cap, 'trades', 'x.dbn'),
        join(cap, 'new', 'x.dbn'),
        cap,
      ]) {
        refused(exportDbn(out), 'MDCAP_ERR_OUTPUT_IN_CAPTURE', /expected a file outside any mdcap capture/);
        refused(exportDbn(out, '--force'), 'MDCAP_ERR_OUTPUT_IN_CAPTURE');
      }
      symlinkSync(join(cap, 'manifest.json'), join(dir, 'manifest-link'));
      refused(exportDbn(join(dir, 'manifest-link'), '--force'), 'MDCAP_ERR_OUTPUT_IN_CAPTURE');
    } finally {
      rmSync(join(dir, 'link'));
      rmSync(join(dir, 'manifest-link'), { force: true });
    }
    verifies();
  });

  it('a missing directory is MDCAP_ERR_IO saying to create it, not an internal error (issue 10)', () => {
    refused(
      exportDbn(join(dir, 'nope', 'trades.dbn')),
      'MDCAP_ERR_IO',
      /expected an existing directory .*nope, found none \(create it first/,
    );
    writeFileSync(join(dir, 'plain'), 'x');
    refused(exportDbn(join(dir, 'plain', 'trades.dbn')), 'MDCAP_ERR_IO', /to be a directory, found a file/);
    rmSync(join(dir, 'plain'));
  });

  it('an existing file is refused without --force and replaced with it; a directory never', () => {
    const out = join(dir, 'trades.dbn');
    writeFileSync(out, 'precious');
    refused(exportDbn(out), 'MDCAP_ERR_OUTPUT_EXISTS', /expected a new file, found an existing one \(add --force/);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    const summary = JSON.parse(ok([...exportDbn(out, '--force'), '--json'])) as { records: number };
    expect(summary.records).toBeGreaterThan(0);
    expect(readFileSync(out).subarray(0, 3).toString()).toBe('DBN');
    expect(ok(['dbn', out, '--json']).trim().split('\n')).toHaveLength(summary.records);
    refused(exportDbn(dir, '--force'), 'MDCAP_ERR_OUTPUT_EXISTS', /expected a file name, found a directory/);
    rmSync(out);
    expect(readdirSync(dir).sort()).toEqual(['cap']); // no temp file left behind
  });
});

describe('query is read-only', () => {
  const statements: [string, () => string][] = [
    ['COPY (SELECT 42) TO the manifest (issue 10)', () => `COPY (SELECT 42) TO '${cap}/manifest.json'`],
    [
      'COPY to one of its own Parquet files',
      () =>
        `COPY (FROM raw_trades LIMIT 1) TO '${join(
          cap,
          Object.keys(before).find((f) => f.startsWith('trades'))!,
        )}' (FORMAT parquet, USE_TMP_FILE false)`,
    ],
    ['EXPORT DATABASE', () => `EXPORT DATABASE '${join(dir, 'db')}'`],
    ['ATTACH', () => `ATTACH '${join(dir, 'x.duckdb')}'`],
    ['INSTALL', () => 'INSTALL httpfs'],
    ['LOAD', () => 'LOAD httpfs'],
    ['SET', () => 'SET enable_external_access = true'],
    ['RESET', () => 'RESET lock_configuration'],
    ['CREATE SECRET', () => "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')"],
    ['a writing table function', () => `SELECT * FROM enable_logging(storage := 'file', storage_path := '${join(dir, 'logs')}')`],
    ['reading /etc/passwd', () => "SELECT * FROM read_csv('/etc/passwd')"],
  ];
  it.each(statements)('refuses %s: MDCAP_ERR_QUERY_READ_ONLY, exit 2, nothing changes', (_name, sql) => {
    refused(['query', cap, sql()], 'MDCAP_ERR_QUERY_READ_ONLY', /expected a (SELECT|query) over the capture's views/);
    expect(readdirSync(dir).sort()).toEqual(['cap']);
  });

  it('--help says DECIMAL(38,S) and teaches the read-only rule and --out', () => {
    const help = ok(['query', '--help']);
    expect(help).toContain('DECIMAL(38,S)');
    expect(help).not.toContain('DECIMAL(38,18)');
    expect(help).toMatch(/read-only/);
    expect(help).toMatch(/read_csv\('\/etc\/passwd'\)/);
    expect(help).toMatch(/--out aapl\.parquet/);
  });
});

describe('query --out FILE: results in csv, json or parquet, outside the capture', () => {
  const sql = 'SELECT ts_recv, symbol, price, size, side, recv_seq, price_scale, trade_id FROM trades ORDER BY recv_seq';
  let rows: Record<string, unknown>[] = [];
  let duck: DuckDBInstance;
  beforeAll(async () => {
    rows = ok(['query', cap, sql, '--json'])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    duck = await DuckDBInstance.create(':memory:');
  });
  afterAll(() => duck.closeSync());

  async function readBack(query: string): Promise<Record<string, unknown>[]> {
    const con = await duck.connect();
    try {
      return (await con.runAndReadAll(query)).getRowObjectsJson();
    } finally {
      con.closeSync();
    }
  }

  it('json is the --json lines, byte for byte', () => {
    const out = join(dir, 'rows.jsonl');
    expect(ok(['query', cap, sql, '--out', out])).toBe(
      `wrote ${rows.length} row(s) of ts_recv, symbol, price, size, side, recv_seq, price_scale, trade_id to ${out} as json\n`,
    );
    expect(readFileSync(out, 'utf8')).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    rmSync(out);
  });

  it('parquet keeps the types: read back, its rows equal the --json rows', async () => {
    const out = join(dir, 'rows.parquet');
    const summary = JSON.parse(ok(['query', cap, sql, '--out', out, '--json'])) as Record<string, unknown>;
    expect(summary).toEqual({ out, format: 'parquet', rows: rows.length, columns: Object.keys(rows[0]!) });
    expect(await readBack(`SELECT * FROM read_parquet('${out}')`)).toEqual(rows);
    const [t] = await readBack(`SELECT typeof(price) AS p, typeof(ts_recv) AS t FROM read_parquet('${out}') LIMIT 1`);
    expect(t).toEqual({ p: expect.stringMatching(/^DECIMAL\(38,\d+\)$/), t: 'TIMESTAMP_NS' });
    rmSync(out);
  });

  it('csv has a header and the exact text of every value', async () => {
    const out = join(dir, 'rows.data');
    ok(['query', cap, sql, '--out', out, '--format', 'csv']);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('ts_recv,symbol,price,size,side,recv_seq,price_scale,trade_id');
    const text = await readBack(`SELECT * FROM read_csv('${out}', header = true, all_varchar = true)`);
    // DuckDB's text of each value is what --json prints: decimals, 64-bit integers and times as strings, other numbers as numbers.
    const asText = (v: unknown): string | null => (v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));
    expect(text).toEqual(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asText(v)]))));
    rmSync(out);
  });

  it('refuses a path in the capture, an existing file without --force, an unknown extension; --force replaces', () => {
    refused(['query', cap, sql, '--out', join(cap, 'rows.csv')], 'MDCAP_ERR_OUTPUT_IN_CAPTURE');
    refused(['query', cap, sql, '--out', join(cap, 'manifest.json'), '--force'], 'MDCAP_ERR_OUTPUT_IN_CAPTURE');
    refused(['query', cap, sql, '--out', join(dir, 'missing', 'rows.csv')], 'MDCAP_ERR_IO');
    refused(['query', cap, sql, '--out', join(dir, 'rows.txt')], 'MDCAP_ERR_INVALID_OPTION', /expected a name ending in \.csv/);
    refused(['query', cap, sql, '--format', 'csv'], 'MDCAP_ERR_USAGE');
    const out = join(dir, 'rows.csv');
    writeFileSync(out, 'old');
    refused(['query', cap, sql, '--out', out], 'MDCAP_ERR_OUTPUT_EXISTS');
    expect(readFileSync(out, 'utf8')).toBe('old');
    ok(['query', cap, 'SELECT 1 AS one', '--out', out, '--force']);
    expect(readFileSync(out, 'utf8')).toBe('one\n1\n');
    rmSync(out);
  });

  it('a query that fails halfway leaves the old file in place and no temp file', () => {
    const out = join(dir, 'rows.parquet');
    writeFileSync(out, 'old');
    refused(
      ['query', cap, 'SELECT CAST(symbol AS INTEGER) AS n FROM trades', '--out', out, '--force'],
      'MDCAP_ERR_QUERY',
      /Conversion Error/,
    );
    refused(['query', cap, `COPY (SELECT 1) TO '${join(dir, 'x.csv')}'`, '--out', out, '--force'], 'MDCAP_ERR_QUERY_READ_ONLY');
    expect(readFileSync(out, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['cap', 'rows.parquet']);
    rmSync(out);
  });
});

describe('outputs next to a capture with a symlinked directory stay possible', () => {
  it('a directory beside the capture, reached through a link, is fine', () => {
    mkdirSync(join(dir, 'exports'));
    symlinkSync(join(dir, 'exports'), join(dir, 'ex'));
    try {
      ok(exportDbn(join(dir, 'ex', 'trades.dbn')));
      expect(readdirSync(join(dir, 'exports'))).toEqual(['trades.dbn']);
    } finally {
      rmSync(join(dir, 'ex'));
      rmSync(join(dir, 'exports'), { recursive: true });
    }
  });
});
