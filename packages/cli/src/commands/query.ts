import type { Row } from '@mdcap/analytics';
import type { Argv } from 'yargs';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { openAnalytics } from '../analytics.js';
import { LineOutput } from '../output.js';

interface QueryArgs {
  readonly dir: string;
  readonly sql: string;
  readonly json: boolean;
}

function cell(v: Row[string]): string {
  if (v === null) return 'NULL';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export const queryCommand: Command<QueryArgs> = {
  command: 'query <dir> <sql>',
  describe: 'Run SQL (DuckDB) over the capture: views trades, quotes, book_updates, order_updates, status, bars',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', describe: 'Capture directory' })
      .positional('sql', { type: 'string', describe: 'The query; prices and sizes are exact DECIMAL(38,18), times TIMESTAMP_NS (UTC)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'One JSON object per row per line (64-bit integers, decimals and times as strings)',
      })
      .example(
        'mdcap query cap "SELECT symbol, count(*), min(price), max(price) FROM trades GROUP BY ALL"',
        'trade counts and price ranges',
      )
      .example('mdcap query cap "SELECT * FROM status WHERE kind = \'gap\'" --json', 'every recorded gap as JSON lines')
      .epilogue(
        'Views: trades, quotes, book_updates, order_updates, status, bars (exact decimals next to the raw *_mantissa and scale columns), ' +
          'and raw_<view> (the Parquet columns as written). See docs/capture.md.',
      ),
  async run(a) {
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
      }
      if (!a.json && widths === null) out.line('(no rows)');
      await out.end();
    } finally {
      db.close();
    }
    return EXIT.ok;
  },
};
