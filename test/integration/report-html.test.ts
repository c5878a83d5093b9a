import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createStatus } from '@mdcap/core';
import { ARTIFACTS_DIR, describeWithBrowser, launchChromium, mdcap, recordEvents, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `mdcap report --html`: the four reports as one self-contained page. Opened in headless
 * Chromium: no console error, no request but the file itself, and every chart mark carries the
 * exact value of the `--json` line it draws (every VWAP, every spread statistic, every gap, every
 * latency percentile); the tables show the same strings. Text from the capture (a gap's reason
 * with `<script>`) is escaped. Refusals follow the other output files' rules.
 */
const dir = tempDir('report-html');
const cap = join(dir, 'cap');
const page = join(dir, 'report.html');
/** A gap reason that would be markup if it were not escaped. */
const REASON = `<script>alert("x")</script> & <b>not bold</b> 'quoted' </title>`;

type JsonRow = Record<string, unknown>;
let rows: Record<'vwap' | 'spreads' | 'gaps' | 'latency', JsonRow[]>;

/** A value as the `--json` line spells it (strings as they are, numbers as JSON text). */
const exact = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function ok(args: string[]): string {
  const r = mdcap(args);
  expect(r.status, `mdcap ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

function refused(args: string[], code: string): string {
  const r = mdcap(args);
  expect(r.status, `mdcap ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^mdcap report: ${code}: `));
  return r.stderr;
}

beforeAll(async () => {
  // Two sessions of the simulated venue with sequence gaps (and a hole between the sessions); the
  // first ends with a gap whose reason is markup.
  const events = await simulatedEvents(10, { faults: { gapEvery: 300 } });
  const half = Math.floor(events.length / 2);
  const last = events[half - 1]!;
  const odd = createStatus({ venue: 'demo', symbol: 'MSFT', tsEvent: last.tsRecv, tsRecv: last.tsRecv, kind: 'gap', detail: REASON });
  await recordEvents(cap, [...events.slice(0, half), odd], { feed: 'demo' });
  await recordEvents(cap, events.slice(half), { feed: 'demo' });
  rows = { vwap: [], spreads: [], gaps: [], latency: [] };
  for (const line of ok(['report', cap, '--json']).trim().split('\n')) {
    const { report, ...row } = JSON.parse(line) as JsonRow & { report: keyof typeof rows };
    rows[report].push(row);
  }
  ok(['report', cap, '--html', page]);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mdcap report --html: the file', () => {
  it('has every report, with rows to draw (gaps included)', () => {
    expect(rows.vwap.map((r) => r['symbol'])).toEqual(['AAPL', 'BTC-USD', 'MSFT']);
    expect(rows.spreads.length).toBe(3);
    expect(rows.gaps.filter((r) => r['kind'] === 'gap').length).toBeGreaterThan(3);
    expect(rows.gaps.map((r) => r['detail'])).toEqual(expect.arrayContaining([REASON, 'between recording sessions 1 and 2']));
    expect(rows.latency.length).toBeGreaterThan(0);
  });

  it('is self-contained and escapes text: no script, no link to anything, the reason as text', () => {
    const html = readFileSync(page, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>\n/);
    expect(html).not.toMatch(/<script|<b>|<link rel="stylesheet"|<img|<iframe|\bsrc=|https?:\/\/(?!www\.w3\.org\/2000\/svg")/);
    expect(html).toContain(`default-src 'none'`);
    expect(html).toContain(
      '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#60;b&#62;not bold&#60;/b&#62; &#39;quoted&#39; &#60;/title&#62;',
    );
  });

  it('--html - prints the same page; a second run writes the same bytes', () => {
    expect(ok(['report', cap, '--html', '-'])).toBe(readFileSync(page, 'utf8'));
    const again = join(dir, 'again.html');
    expect(ok(['report', cap, '--html', again, '--json'])).toBe(
      `${JSON.stringify({ out: again, format: 'html', rows: { vwap: 3, spreads: 3, gaps: rows.gaps.length, latency: rows.latency.length } })}\n`,
    );
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(page, 'utf8'));
  });

  it('follows the output-file rules: no overwrite without --force, never in a capture, no --json with --html -', () => {
    const before = readFileSync(page, 'utf8');
    refused(['report', cap, '--html', page], 'MDCAP_ERR_OUTPUT_EXISTS');
    refused(['report', cap, '--html', join(cap, 'report.html')], 'MDCAP_ERR_OUTPUT_IN_CAPTURE');
    expect(existsSync(join(cap, 'report.html'))).toBe(false);
    refused(['report', cap, '--html', '-', '--json'], 'MDCAP_ERR_INVALID_OPTION');
    refused(['report', cap, '--html', join(dir, 'missing', 'r.html')], 'MDCAP_ERR_IO');
    expect(readFileSync(page, 'utf8')).toBe(before);
    const stale = join(dir, 'stale.html');
    writeFileSync(stale, 'old');
    expect(ok(['report', cap, 'vwap', '--html', stale, '--force'])).toMatch(/^wrote vwap \(3 rows\) to .*stale\.html/);
    expect(readFileSync(stale, 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });
});

/** The `data-*` attributes of one chart mark. */
type Mark = Record<string, string>;

/** What the page functions use of a DOM element (the tests' TypeScript has no DOM library). */
interface DomElement {
  getAttributeNames(): string[];
  getAttribute(name: string): string | null;
  readonly children: ArrayLike<DomElement>;
  readonly textContent: string | null;
}

function expectedMarks(): Record<keyof typeof rows, Mark[]> {
  const bars = (report: string, key: 'symbol' | 'kind', fields: readonly string[]): Mark[] =>
    rows[report as keyof typeof rows].flatMap((r) =>
      fields
        .filter((f) => r[f] !== null)
        .map((f) => ({
          'data-report': report,
          'data-venue': exact(r['venue']),
          [`data-${key}`]: exact(r[key]),
          'data-field': f,
          'data-value': exact(r[f]),
        })),
    );
  return {
    vwap: bars('vwap', 'symbol', ['vwap']),
    spreads: bars('spreads', 'symbol', ['min', 'median', 'mean', 'max']),
    latency: bars('latency', 'kind', ['p50_us', 'p90_us', 'p99_us', 'max_us']),
    gaps: rows.gaps.map((r, i) => ({
      'data-report': 'gaps',
      'data-row': String(i),
      'data-venue': exact(r['venue']),
      'data-symbol': exact(r['symbol']),
      'data-kind': exact(r['kind']),
      'data-field': 'ts_recv',
      'data-value': exact(r['ts_recv']),
      'data-detail': exact(r['detail']),
      ...(r['from_seq'] === null ? {} : { 'data-from-seq': exact(r['from_seq']) }),
      ...(r['to_seq'] === null ? {} : { 'data-to-seq': exact(r['to_seq']) }),
    })),
  };
}

describeWithBrowser('mdcap report --html in Chromium', () => {
  it('opens without errors or requests; every mark and table cell is the exact --json value', async () => {
    await using b = await launchChromium();
    const { page: tab, errors } = await b.page();
    const url = pathToFileURL(page).href;
    const requests: string[] = [];
    tab.on('request', (r) => requests.push(r.url()));
    await tab.goto(url);
    expect(requests.filter((u) => u !== url && !u.startsWith('data:'))).toEqual([]);

    const marks = await tab.$$eval('svg [data-report][data-field]', (els) =>
      (els as unknown as DomElement[]).map((el) =>
        Object.fromEntries(el.getAttributeNames().flatMap((a) => (a.startsWith('data-') ? [[a, el.getAttribute(a) ?? '']] : []))),
      ),
    );
    const want = expectedMarks();
    for (const report of ['vwap', 'spreads', 'gaps', 'latency'] as const) {
      expect(want[report].length, report).toBeGreaterThan(0);
      expect(
        marks.filter((m) => m['data-report'] === report),
        `${report}: the chart's marks`,
      ).toEqual(want[report]);
    }
    expect(marks.length).toBe(Object.values(want).reduce((n, m) => n + m.length, 0));

    // The tables: the JSON rows' values as text, '-' for null.
    for (const report of ['vwap', 'spreads', 'gaps', 'latency'] as const) {
      const cells = await tab.$$eval(`section[data-report-section="${report}"] table tr`, (trs) =>
        (trs as unknown as DomElement[]).map((tr) => Array.from(tr.children, (td) => td.textContent ?? '')),
      );
      const cols = Object.keys(rows[report][0]!);
      expect(cells, `${report}: the table`).toEqual([
        cols,
        ...rows[report].map((r) => cols.map((c) => (r[c] === null ? '-' : exact(r[c])))),
      ]);
    }

    // Escaped: the reason is text (a tooltip, a cell), never markup.
    expect(await tab.$$eval('script, section b', (els) => els.length)).toBe(0);
    const titles = await tab.$$eval('[data-report="gaps"] > title', (ts) =>
      (ts as unknown as DomElement[]).map((t) => t.textContent ?? ''),
    );
    expect(titles.filter((t) => t.includes(REASON))).toHaveLength(1);
    expect(titles.every((t) => /^(gap|resync|disconnected|reconnected|stale|checksum|corrupt): /.test(t))).toBe(true);

    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await tab.screenshot({ path: join(ARTIFACTS_DIR, 'report.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
