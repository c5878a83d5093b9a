import type { Row } from '@mdcap/analytics';
import type { Argv } from 'yargs';
import { parseChoices } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { openAnalytics } from '../analytics.js';
import { LineOutput } from '../output.js';

const REPORTS = ['vwap', 'spreads', 'gaps', 'latency'] as const;
type Report = (typeof REPORTS)[number];

interface ReportArgs {
  readonly dir: string;
  readonly reports: string;
  readonly json: boolean;
}

function table(out: LineOutput, rows: readonly Row[]): void {
  if (rows.length === 0) {
    out.line('(none)');
    return;
  }
  const cols = Object.keys(rows[0]!);
  const cell = (v: Row[string] | undefined): string =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  out.line(cols.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const r of rows)
    out.line(
      cols
        .map((c, i) => cell(r[c]).padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

export const reportCommand: Command<ReportArgs> = {
  command: 'report <dir> [reports]',
  describe: 'Canned DuckDB reports over a capture: vwap, spreads, gaps, latency',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', describe: 'Capture directory' })
      .positional('reports', { type: 'string', default: REPORTS.join(','), describe: `Comma-separated: ${REPORTS.join(', ')}` })
      .option('json', { type: 'boolean', default: false, describe: 'One JSON object per row, with a "report" field' })
      .example('mdcap report cap', 'VWAP and spread per symbol (exact decimals), every gap, tsRecv − tsEvent percentiles')
      .example('mdcap report cap gaps --json', 'the gap report as JSON lines'),
  async run(a) {
    const wanted = parseChoices('reports', a.reports, REPORTS);
    const db = await openAnalytics('report', a.dir);
    const out = new LineOutput();
    try {
      const run: Record<Report, () => Promise<Row[]>> = {
        vwap: () => db.vwap(),
        spreads: () => db.spreads(),
        gaps: () => db.gapReport(),
        latency: () => db.latency(),
      };
      const titles: Record<Report, string> = {
        vwap: 'VWAP per symbol (exact: bigint division, 6 digits past the price scale)',
        spreads: 'quoted spread per symbol (price units; mean exact to 6 digits past the price scale)',
        gaps: 'gaps, resyncs, disconnects, failed checksums, holes between sessions',
        latency: 'tsRecv − tsEvent in microseconds',
      };
      for (const r of REPORTS) {
        if (!wanted.has(r)) continue;
        const rows = await run[r]();
        if (a.json) {
          for (const row of rows) {
            out.line(JSON.stringify({ report: r, ...row }));
            if (out.blocked) await out.ready();
          }
        } else {
          out.line(`${r}: ${titles[r]}`);
          table(out, rows);
          out.line('');
        }
      }
      await out.end();
    } finally {
      db.close();
    }
    return EXIT.ok;
  },
};
