import { extname } from 'node:path';
import type { ExportFormat, Row } from '@mdcap/analytics';
import type { Argv } from 'yargs';
import { badOption } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { openAnalytics } from '../analytics.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { LineOutput } from '../output.js';

interface QueryArgs {
  readonly dir: string;
  readonly sql: string;
  readonly json: boolean;
  readonly out?: string;
  readonly format?: ExportFormat;
  readonly force?: boolean;
}

/** `--out` formats (analytics' EXPORT_FORMATS, named here so that DuckDB loads only when a query runs). */
const FORMATS: readonly ExportFormat[] = ['csv', 'json', 'parquet'];
const EXTENSIONS: Readonly<Record<string, ExportFormat>> = {
  '.csv': 'csv',
  '.json': 'json',
  '.jsonl': 'json',
  '.ndjson': 'json',
  '.parquet': 'parquet',
};

function cell(v: Row[string]): string {
  if (v === null) return 'NULL';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** `--out FILE`: the results into a file outside the capture, and a one-line summary. */
async function exportResults(a: QueryArgs, file: string): Promise<number> {
  const format = a.format ?? EXTENSIONS[extname(file).toLowerCase()];
  if (format === undefined) {
    throw badOption('--out', `a name ending in ${Object.keys(EXTENSIONS).join(', ')}, or --format ${FORMATS.join('|')}`, file);
  }
  const out = checkOutFile('--out', file, a.force === true);
  const written = await writeOutFile(out, async (tmp) => {
    const db = await openAnalytics('query', a.dir, { exportTo: tmp });
    try {
      return await db.exportQuery(a.sql, format);
    } finally {
      db.close();
    }
  });
  const lines = new LineOutput();
  lines.line(
    a.json
      ? JSON.stringify({ out: file, format, rows: written.rows, columns: written.columns })
      : `wrote ${written.rows} row(s) of ${written.columns.join(', ')} to ${file} as ${format}`,
  );
  await lines.end();
  return EXIT.ok;
}

export const queryCommand: Command<QueryArgs> = {
  command: 'query <dir> <sql>',
  describe: 'Run SQL (DuckDB) over the capture: views trades, quotes, book_updates, order_updates, status, bars',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', describe: 'Capture directory' })
      .positional('sql', {
        type: 'string',
        describe:
          "One SELECT; prices and sizes are exact DECIMAL(38,S) (S: the capture's largest price or size scale), times TIMESTAMP_NS (UTC)",
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'One JSON object per row per line (64-bit integers, decimals and times as strings); with --out, the summary as JSON',
      })
      .option('out', { type: 'string', describe: 'Write the results to this file (outside any capture) instead of printing them' })
      .option('format', {
        type: 'string',
        choices: FORMATS,
        describe: "--out's format (default: from its extension: .csv, .json/.jsonl/.ndjson, .parquet)",
      })
      .option('force', { type: 'boolean', describe: 'Replace --out if it exists' })
      .implies('format', 'out')
      .implies('force', 'out')
      .example(
        'mdcap query cap "SELECT symbol, count(*), min(price), max(price) FROM trades GROUP BY ALL"',
        'trade counts and price ranges',
      )
      .example('mdcap query cap "SELECT * FROM status WHERE kind = \'gap\'" --json', 'every recorded gap as JSON lines')
      .example(
        'mdcap query cap "SELECT * FROM trades WHERE symbol = \'AAPL\'" --out aapl.parquet',
        'save results as Parquet (exact decimals kept)',
      )
      .example(
        'mdcap query cap "SELECT ts_recv, symbol, price, size FROM trades" --out trades.csv --force',
        'as CSV, replacing an earlier file',
      )
      .example('mdcap query cap "FROM quotes" --out quotes.txt --format json --json', 'JSON lines under any name; the summary as JSON')
      .epilogue(
        'Views: trades, quotes, book_updates, order_updates, status, bars (exact decimals next to the raw *_mantissa and scale columns), ' +
          'and raw_<view> (the Parquet columns as written). See docs/capture.md.\n\n' +
          "Queries are read-only: one SELECT over these views. DuckDB opens no file but the capture's Parquet files, so reading " +
          "others (read_csv('/etc/passwd')) is refused, and so is anything that writes or changes settings (COPY, EXPORT, ATTACH, " +
          'INSTALL, LOAD, SET, RESET, PRAGMA, CREATE, …): MDCAP_ERR_QUERY_READ_ONLY, exit 2. To save results use --out FILE: ' +
          'csv (with a header) and parquet keep DuckDB types; json is the --json lines. --out is never written inside a capture, ' +
          'replaces an existing file only with --force, and is written under a temp name and renamed (an interrupted query leaves no half file).',
      ),
  async run(a) {
    if (a.out !== undefined) return exportResults(a, a.out);
    const db = await openAnalytics('query', a.dir);
    const out = new LineOutput();
    try {
      let widths: number[] | null = null;
      let columns: string[] = [];
      for await (const rows of db.stream(a.sql)) {
        for (const r of rows) {
          if (a.json) {
            out.line(JSON.stringify(r));
            continue;
          }
          if (widths === null) {
            columns = Object.keys(r);
            widths = columns.map((c) => Math.max(c.length, ...rows.slice(0, 1000).map((x) => cell(x[c] ?? null).length)));
            out.line(columns.map((c, i) => c.padEnd(widths![i]!)).join('  '));
            out.line(widths.map((w) => '-'.repeat(w)).join('  '));
          }
          out.line(
            columns
              .map((c, i) => cell(r[c] ?? null).padEnd(widths![i]!))
              .join('  ')
              .trimEnd(),
          );
        }
        if (out.blocked) await out.ready(); // a slow reader: the next chunk waits
      }
      if (!a.json && widths === null) out.line('(no rows)');
      await out.end();
    } finally {
      db.close();
    }
    return EXIT.ok;
  },
};
