import { StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { MdcapError } from '@mdcap/core';

/**
 * Queries over a capture only read it. Three layers, each enough for what it covers:
 *
 * 1. DuckDB's own file gate: `enable_external_access = false` with `allowed_paths` listing the
 *    capture's Parquet files (and the one export file, when asked for), then
 *    `lock_configuration = true`. DuckDB then opens no other file for any statement (no COPY to
 *    other paths, no ATTACH, EXPORT, INSTALL, LOAD, persistent secrets, reading /etc/passwd), and
 *    SET/RESET/PRAGMA cannot undo it.
 * 2. Before DuckDB binds anything, the SQL is parsed (`json_serialize_sql`, which serializes only
 *    SELECT statements) and refused unless it is exactly one SELECT that calls none of
 *    {@link REFUSED_TABLE_FUNCTIONS}. This is what keeps the capture's own Parquet files, which
 *    layer 1 must allow, from being written by `COPY … TO` them, and what refuses the table
 *    functions that change settings despite the lock (`enable_logging`, `enable_profiling`).
 * 3. The prepared statement must be of type SELECT.
 */

/**
 * Table functions a query may not call: they change the connection's settings despite
 * `lock_configuration` (logging, profiling, the parser), checkpoint, run SQL text this check
 * does not see (`query`, `json_execute_serialized_sql`) or read memory at a given address
 * (`arrow_scan`). Reviewed against DuckDB 1.5.6; a test lists every other table function, so
 * an upgrade that brings a new one fails until it is reviewed.
 */
export const REFUSED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'arrow_scan',
  'arrow_scan_dumb',
  'checkpoint',
  'disable_logging',
  'disable_peg_parser',
  'disable_profiling',
  'enable_logging',
  'enable_peg_parser',
  'enable_profiling',
  'force_checkpoint',
  'json_execute_serialized_sql',
  'query',
  'truncate_duckdb_logs',
]);

/** DuckDB's messages span lines (`LINE 1: …` and a caret); errors are printed as one line. */
export function oneLine(error: unknown): string {
  return String((error as Error).message)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Closes the connection's access to files: only `readable` (the capture's Parquet files) and
 * `writable` (an export file) may be opened from now on, and no setting may change.
 */
export async function lockDown(con: DuckDBConnection, readable: readonly string[], writable: string | null): Promise<void> {
  const paths = [...readable, ...(writable === null ? [] : [writable])].map(sqlString);
  await con.run(`SET allowed_paths = [${paths.join(', ')}]::VARCHAR[]`);
  await con.run('SET enable_external_access = false');
  await con.run('SET lock_configuration = true');
}

const HINT =
  "queries cannot write files, change settings, attach databases, load extensions or read files other than the capture's (save results with mdcap query DIR SQL --out FILE)";

function refused(found: string, sql: string): MdcapError {
  return new MdcapError('MDCAP_ERR_QUERY_READ_ONLY', `query: expected a SELECT over the capture's views, found ${found}; ${HINT}`, {
    details: { sql },
  });
}

/** A DuckDB error as `MDCAP_ERR_QUERY`, or `MDCAP_ERR_QUERY_READ_ONLY` when the file gate refused it. */
export function queryError(error: unknown, sql: string): MdcapError {
  const text = oneLine(error).replace(/^Failed to extract statements: /, '');
  if (/^Permission Error|disabled (?:by|through) configuration|configuration has been locked/.test(text)) {
    const file = /Cannot access (?:file|directory) "([^"]*)"/.exec(text)?.[1];
    return new MdcapError(
      'MDCAP_ERR_QUERY_READ_ONLY',
      `query: expected a query over the capture's views, found ${file === undefined ? 'one DuckDB refused' : `one that opens ${file}`} (${text}); ${HINT}`,
      { cause: error, details: { sql } },
    );
  }
  return new MdcapError('MDCAP_ERR_QUERY', `query failed: ${text}`, { cause: error, details: { sql } });
}

interface Parsed {
  readonly error: boolean;
  readonly error_type?: string;
  readonly error_message?: string;
  readonly statements?: readonly unknown[];
}

/** DuckDB's parse of `sql` (no binding, nothing runs): its SELECT statements, or why not. */
async function parse(con: DuckDBConnection, sql: string): Promise<Parsed> {
  const reader = await con.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)::VARCHAR', [sql]);
  return JSON.parse(String(reader.getRows()[0]![0])) as Parsed;
}

/** The first refused table function the parsed statements call, anywhere (subqueries, CTEs, joins). */
function refusedFunction(node: unknown): string | null {
  if (Array.isArray(node)) {
    for (const n of node) {
      const f = refusedFunction(n);
      if (f !== null) return f;
    }
  } else if (typeof node === 'object' && node !== null) {
    const o = node as Record<string, unknown>;
    if (
      o['class'] === 'FUNCTION' &&
      typeof o['function_name'] === 'string' &&
      REFUSED_TABLE_FUNCTIONS.has(o['function_name'].toLowerCase())
    )
      return o['function_name'].toLowerCase();
    for (const v of Object.values(o)) {
      const f = refusedFunction(v);
      if (f !== null) return f;
    }
  }
  return null;
}

/** The statement's first keyword, for messages: `COPY`, `ATTACH`, `SET`… */
function keyword(sql: string): string {
  const m = /^(?:\s+|--[^\n]*|\/\*[\s\S]*?\*\/|\()*([A-Za-z_]+)/.exec(sql);
  return m === null ? 'a statement that is not a SELECT' : `${m[1]!.toUpperCase()} …`;
}

/** How many statements `sql` holds (DuckDB's parser; nothing is bound or run). */
async function statementCount(con: DuckDBConnection, sql: string): Promise<number> {
  try {
    return (await con.extractStatements(sql)).count;
  } catch (error) {
    throw queryError(error, sql);
  }
}

/**
 * `sql`, checked to be exactly one read-only SELECT, prepared (bound, not run).
 * @throws {MdcapError} `MDCAP_ERR_QUERY_READ_ONLY` for anything else; `MDCAP_ERR_QUERY` for SQL
 *   DuckDB cannot parse or bind, and for more than one statement.
 */
export async function prepareSelect(con: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  if (sql.trim() === '') throw new MdcapError('MDCAP_ERR_QUERY', 'query: expected SQL, found an empty string');
  const parsed = await parse(con, sql);
  if (parsed.error) {
    if (parsed.error_type === 'parser') {
      await statementCount(con, sql); // DuckDB's own message, with the line and a caret
      throw new MdcapError('MDCAP_ERR_QUERY', `query failed: Parser Error: ${parsed.error_message ?? 'cannot parse'}`, {
        details: { sql },
      });
    }
    if (/Only SELECT statements/.test(parsed.error_message ?? '')) {
      const n = await statementCount(con, sql);
      if (/^PIVOT\b/.test(keyword(sql)))
        throw refused("PIVOT without an IN list (it would create a type first); name the values: PIVOT … ON side IN ('buy', 'sell')", sql);
      throw refused(n > 1 ? `${n} statements, not all of them SELECTs` : keyword(sql), sql);
    }
    throw refused(`a statement mdcap cannot check (${parsed.error_message ?? parsed.error_type ?? '?'})`, sql);
  }
  const statements = parsed.statements ?? [];
  if (statements.length !== 1) {
    throw new MdcapError(
      'MDCAP_ERR_QUERY',
      `query: expected one SELECT statement, found ${statements.length === 0 ? 'only comments' : `${statements.length} (separated by ';')`}`,
      { details: { sql } },
    );
  }
  const f = refusedFunction(statements);
  if (f !== null) throw refused(`a call of ${f}(), which changes the connection's settings or runs SQL unchecked`, sql);
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await (await con.extractStatements(sql)).prepare(0);
  } catch (error) {
    throw queryError(error, sql);
  }
  if (prepared.statementType !== StatementType.SELECT) {
    prepared.destroySync();
    throw refused(keyword(sql), sql);
  }
  return prepared;
}

/**
 * The text of the one SELECT in `sql` without its closing `;` (and any comment after it), so it
 * can stand inside `COPY (…) TO`. `sql` has passed {@link prepareSelect}.
 */
export async function selectBody(con: DuckDBConnection, sql: string): Promise<string> {
  let body = sql;
  for (;;) {
    const cut = body.lastIndexOf(';');
    if (cut < 0) return body;
    const tail = await parse(con, body.slice(cut + 1));
    const head = await parse(con, body.slice(0, cut));
    if (tail.error || (tail.statements ?? []).length !== 0 || head.error || (head.statements ?? []).length !== 1) return body;
    body = body.slice(0, cut);
  }
}
