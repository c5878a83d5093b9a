import type { Row } from '@mdcap/analytics';
import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { badOption, parseChoices } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { openAnalytics } from '../analytics.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import type { OutFile } from '../out-file.js';
import { LineOutput } from '../output.js';
import { reportHtml } from '../report-html.js';
import type { ReportName, ReportSection } from '../report-html.js';

const REPORTS: readonly ReportName[] = ['vwap', 'spreads', 'gaps', 'latency'];
type Report = ReportName;

interface ReportArgs {
  readonly dir: string;
  readonly reports: string;
  readonly json: boolean;
  readonly html?: string;
  readonly force?: boolean;
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

const TITLES: Record<Report, string> = {
  vwap: 'VWAP per symbol (exact: bigint division, 6 digits past the price scale)',
  spreads: 'quoted spread per symbol (price units; mean exact to 6 digits past the price scale)',
  gaps: 'gaps, resyncs, disconnects, failed checksums, holes between sessions',
  latency: 'tsRecv − tsEvent in microseconds',
};

/** `--html FILE|-`: checked before any work (`-`: stdout, where `--json` cannot go too). */
function htmlTarget(a: ReportArgs): OutFile | '-' | null {
  if (a.html === undefined) return null;
  if (a.html === '') throw badOption('--html', 'a file name (or - for stdout)', a.html);
  if (a.html === '-') {
    if (a.json) {
      throw badOption(
        '--html',
        'a file name with --json (--html - and --json would both print to stdout; with --html FILE, --json prints the summary as JSON)',
        a.html,
      );
    }
    return '-';
  }
  return checkOutFile('--html', a.html, a.force === true);
}

export const reportCommand: Command<ReportArgs> = {
  command: 'report <dir> [reports]',
  describe: 'Canned DuckDB reports over a capture: vwap, spreads, gaps, latency',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', describe: 'Capture directory' })
      .positional('reports', { type: 'string', default: REPORTS.join(','), describe: `Comma-separated: ${REPORTS.join(', ')}` })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'One JSON object per row, with a "report" field; with --html FILE, the summary as JSON',
      })
      .option('html', {
        type: 'string',
        nargs: 1, // so that `--html -` takes the dash
        describe:
          'Write the reports as one self-contained HTML page (a chart and a table per report; inline CSS and SVG, nothing loaded) to this file (outside any capture), or - for stdout',
      })
      .option('force', { type: 'boolean', describe: 'Replace --html if it exists' })
      .implies('force', 'html')
      .example('mdcap report cap', 'VWAP and spread per symbol (exact decimals), every gap, tsRecv − tsEvent percentiles')
      .example('mdcap report cap gaps --json', 'the gap report as JSON lines')
      .example('mdcap report cap --html report.html', 'all four reports with charts in one HTML file to open in a browser')
      .example('mdcap report cap vwap,gaps --html - > report.html', 'the HTML on stdout'),
  async run(a) {
    const wanted = parseChoices('reports', a.reports, REPORTS);
    const html = htmlTarget(a); // before the work, not after it
    const db = await openAnalytics('report', a.dir);
    const out = new LineOutput();
    const sections: ReportSection[] = [];
    try {
      const run: Record<Report, () => Promise<Row[]>> = {
        vwap: () => db.vwap(),
        spreads: () => db.spreads(),
        gaps: () => db.gapReport(),
        latency: () => db.latency(),
      };
      for (const r of REPORTS) {
        if (!wanted.has(r)) continue;
        const rows = await run[r]();
        if (html !== null) {
          sections.push({ name: r, description: TITLES[r], rows });
        } else if (a.json) {
          for (const row of rows) {
            out.line(JSON.stringify({ report: r, ...row }));
            if (out.blocked) await out.ready();
          }
        } else {
          out.line(`${r}: ${TITLES[r]}`);
          table(out, rows);
          out.line('');
        }
      }
    } finally {
      db.close();
    }
    if (html !== null) {
      const page = reportHtml({ capture: a.dir, sections });
      if (html === '-') {
        out.line(page.slice(0, -1)); // the page ends with a newline; line() adds it back
      } else {
        await writeOutFile(html, (tmp) => writeFileSync(tmp, page));
        const rows = Object.fromEntries(sections.map((s) => [s.name, s.rows.length]));
        out.line(
          a.json
            ? JSON.stringify({ out: html.path, format: 'html', rows })
            : `wrote ${sections.map((s) => `${s.name} (${s.rows.length} row${s.rows.length === 1 ? '' : 's'})`).join(', ')} to ${html.path}: open it in a browser`,
        );
      }
    }
    await out.end();
    return EXIT.ok;
  },
};
