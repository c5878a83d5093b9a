import type { Row } from '@mdcap/analytics';

/**
 * `mdcap report --html`: the canned reports as one self-contained HTML page (inline CSS, inline
 * SVG charts, no script, nothing loaded from anywhere: a Content-Security-Policy of
 * `default-src 'none'` says so to the browser). A pure function of the rows.
 *
 * Exactness: the values shown (bar labels, tooltips, tables) are the exact strings of
 * `mdcap report --json`; `Number()` is used only for the geometry. Every chart mark carries its
 * value as `data-value` (with `data-report`, `data-field` and the row's keys: `data-venue`,
 * `data-symbol` or `data-kind`), so a reader can compare what a chart shows with the JSON lines.
 */

export type ReportName = 'vwap' | 'spreads' | 'gaps' | 'latency';

export interface ReportSection {
  readonly name: ReportName;
  /** One line saying what the report is. */
  readonly description: string;
  /** The rows, as `@mdcap/analytics` returns them (and `--json` prints them). */
  readonly rows: readonly Row[];
}

export interface ReportHtmlInput {
  /** The capture directory as the user named it (shown in the title). */
  readonly capture: string;
  readonly sections: readonly ReportSection[];
}

type Value = Row[string] | undefined;

/** Text for HTML content and attribute values (either quote style). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A value as the `--json` line shows it: a string as it is, anything else as JSON text; null for none. */
export function jsonText(v: Value): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const e = escapeHtml;

/** `name="value"` pairs, escaped. */
function attrs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => ` ${k}="${e(v)}"`).join('');
}

/** Coordinates: two decimals are plenty for a screen. */
function n(x: number): string {
  return String(Math.round(x * 100) / 100);
}

function text(s: Value): string {
  return typeof s === 'string' ? s : (jsonText(s) ?? '');
}

// ---------------------------------------------------------------------------------------------
// Layout

const WIDTH = 960;
/** Width of one character of the charts' 12 px monospace font, a little generous. */
const CH = 7.4;

function textWidth(s: string): number {
  return [...s].length * CH;
}

interface Ticks {
  readonly lo: number;
  readonly hi: number;
  readonly values: readonly { readonly at: number; readonly label: string }[];
}

/** About `count` round ticks covering [lo, hi] (which it widens to the ticks). */
function niceTicks(min: number, max: number, count: number): Ticks {
  let lo = min;
  let hi = max;
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values: { at: number; label: string }[] = [];
  for (let k = first; k <= last; k++) {
    const at = k * step;
    values.push({ at, label: (at === 0 ? 0 : at).toFixed(decimals) });
  }
  lo = first * step;
  hi = last * step;
  return { lo, hi, values };
}

/** A legend row of coloured swatches. */
function legend(items: readonly { readonly label: string; readonly swatch: string }[], x: number, y: number): string {
  let at = x;
  let out = '';
  for (const it of items) {
    out += `<g transform="translate(${n(at)},${n(y)})">${it.swatch}<text x="16" y="4">${e(it.label)}</text></g>`;
    at += 16 + textWidth(it.label) + 20;
  }
  return out;
}

function svgOpen(report: ReportName, height: number, label: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="${report}" viewBox="0 0 ${WIDTH} ${n(height)}" width="${WIDTH}" height="${n(height)}" role="img" aria-label="${e(label)}">`;
}

// ---------------------------------------------------------------------------------------------
// Bars (vwap, spreads, latency)

interface BarGroup {
  readonly label: string;
  /** The row's identifying values, as `data-*` attributes of each mark. */
  readonly keys: readonly (readonly [string, string])[];
  readonly row: Row;
}

interface BarSeries {
  readonly field: string;
  readonly color: string;
}

/** Horizontal bars, one group per row, one bar per series field, each labelled with its exact value. */
function barChart(report: ReportName, groups: readonly BarGroup[], series: readonly BarSeries[], axisTitle: string): string {
  const numbers: number[] = [];
  for (const g of groups)
    for (const s of series) {
      const v = jsonText(g.row[s.field]);
      const x = v === null ? NaN : Number(v);
      if (Number.isFinite(x)) numbers.push(x);
    }
  const labelW = Math.min(320, Math.max(80, Math.max(...groups.map((g) => textWidth(g.label))) + 16));
  const valueW = Math.min(
    280,
    Math.max(60, ...groups.flatMap((g) => series.map((s) => textWidth(jsonText(g.row[s.field]) ?? 'n/a') + 12))),
  );
  const x0 = labelW;
  const x1 = WIDTH - valueW;
  const legendH = series.length > 1 ? 28 : 0;
  const top = 8 + legendH;
  const barH = 16;
  const barGap = 3;
  const groupPad = 14;
  const groupH = series.length * (barH + barGap) - barGap + groupPad;
  const plotH = groups.length * groupH;
  const height = top + plotH + 48;
  const ticks = niceTicks(Math.min(0, ...numbers), Math.max(0, ...numbers), Math.max(2, Math.floor((x1 - x0) / 110)));
  const x = (v: number): number => x0 + ((v - ticks.lo) / (ticks.hi - ticks.lo)) * (x1 - x0);
  const bottom = top + plotH;
  let out = svgOpen(report, height, `${report}: ${axisTitle}`);
  if (legendH > 0) {
    out += legend(
      series.map((s) => ({ label: s.field, swatch: `<rect x="0" y="-6" width="11" height="11" fill="${s.color}"/>` })),
      x0,
      16,
    );
  }
  // Grid, axis and tick labels.
  for (const t of ticks.values) {
    const tx = n(x(t.at));
    out += `<line x1="${tx}" y1="${n(top)}" x2="${tx}" y2="${n(bottom)}" class="grid"/>`;
    out += `<line x1="${tx}" y1="${n(bottom)}" x2="${tx}" y2="${n(bottom + 5)}" class="axis"/>`;
    out += `<text x="${tx}" y="${n(bottom + 18)}" text-anchor="middle" class="tick">${e(t.label)}</text>`;
  }
  out += `<line x1="${n(x0)}" y1="${n(bottom)}" x2="${n(x1)}" y2="${n(bottom)}" class="axis"/>`;
  out += `<line x1="${n(x(0))}" y1="${n(top - 4)}" x2="${n(x(0))}" y2="${n(bottom)}" class="axis"/>`;
  out += `<text x="${n((x0 + x1) / 2)}" y="${n(bottom + 38)}" text-anchor="middle" class="axis-title">${e(axisTitle)}</text>`;
  groups.forEach((g, gi) => {
    const gy = top + gi * groupH + groupPad / 2;
    out += `<text x="${n(x0 - 8)}" y="${n(gy + (groupH - groupPad) / 2 + 4)}" text-anchor="end" class="label">${e(g.label)}</text>`;
    series.forEach((s, si) => {
      const y = gy + si * (barH + barGap);
      const value = jsonText(g.row[s.field]);
      const v = value === null ? NaN : Number(value);
      if (value === null || !Number.isFinite(v)) {
        out += `<text x="${n(x(0) + 4)}" y="${n(y + barH - 4)}" class="value none">${e(value ?? 'n/a')}</text>`;
        return;
      }
      const a = x(0);
      const b = x(v);
      const left = Math.min(a, b);
      const w = Math.max(1, Math.abs(b - a));
      const name = g.keys.map(([, k]) => k).join(' ');
      out +=
        `<rect class="mark"${attrs([['data-report', report], ...g.keys.map(([k, val]) => [`data-${k}`, val] as const), ['data-field', s.field], ['data-value', value]])}` +
        ` x="${n(left)}" y="${n(y)}" width="${n(w)}" height="${barH}" fill="${s.color}"><title>${e(`${name} ${s.field} = ${value}`)}</title></rect>`;
      out += `<text x="${n(Math.max(a, b) + 4)}" y="${n(y + barH - 4)}" class="value">${e(value)}</text>`;
    });
  });
  return `${out}</svg>`;
}

/** Group labels: the symbol (or kind) alone when every row is of one venue. */
function groupsOf(rows: readonly Row[], key: 'symbol' | 'kind'): BarGroup[] {
  const venues = new Set(rows.map((r) => text(r['venue'])));
  return rows.map((row) => {
    const venue = text(row['venue']);
    const k = text(row[key]);
    return {
      label: venues.size > 1 ? `${venue} ${k}` : k,
      keys: [
        ['venue', venue],
        [key, k],
      ],
      row,
    };
  });
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759'];

function seriesOf(fields: readonly string[]): BarSeries[] {
  return fields.map((field, i) => ({ field, color: PALETTE[i % PALETTE.length]! }));
}

// ---------------------------------------------------------------------------------------------
// Gaps on a time axis

const NS_PER_S = 1_000_000_000n;

/** DuckDB's `TIMESTAMP_NS` text (`2024-01-02 14:31:00.123456789`, UTC) as ns since the epoch; null if it is not one. */
function parseTimestamp(s: string): bigint | null {
  const m = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?/.exec(s);
  if (m === null) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (!Number.isFinite(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

/** Tick steps of a time axis, in ns: 1-2-5 below a second, then round seconds, minutes, hours, days. */
const TIME_STEPS: readonly bigint[] = (() => {
  const steps: bigint[] = [];
  for (let p = 1n; p < NS_PER_S; p *= 10n) steps.push(p, 2n * p, 5n * p);
  const s = (k: readonly bigint[], unit: bigint): bigint[] => k.map((x) => x * unit);
  steps.push(...s([1n, 2n, 5n, 10n, 15n, 30n], NS_PER_S), ...s([1n, 2n, 5n, 10n, 15n, 30n], 60n * NS_PER_S));
  steps.push(...s([1n, 2n, 3n, 6n, 12n], 3600n * NS_PER_S), ...s([1n, 2n, 7n, 14n, 28n, 91n, 182n, 364n], 86_400n * NS_PER_S));
  return steps;
})();

function timeLabel(ns: bigint, step: bigint, multiDay: boolean): string {
  const sec = ns >= 0n ? ns / NS_PER_S : (ns - NS_PER_S + 1n) / NS_PER_S;
  const frac = ns - sec * NS_PER_S;
  const iso = new Date(Number(sec) * 1000).toISOString();
  if (step >= 86_400n * NS_PER_S) return iso.slice(0, 10);
  const digits = step >= NS_PER_S ? 0 : step >= 1_000_000n ? 3 : step >= 1_000n ? 6 : 9;
  const time = `${iso.slice(11, 19)}${digits === 0 ? '' : `.${frac.toString().padStart(9, '0').slice(0, digits)}`}`;
  return multiDay ? `${iso.slice(5, 10)} ${time}` : time;
}

interface GapStyle {
  readonly color: string;
  readonly shape: 'down' | 'circle' | 'square' | 'diamond';
  /** 0: a problem (upper row of a lane), 1: a recovery (lower row). */
  readonly row: 0 | 1;
}

const GAP_STYLES: Readonly<Record<string, GapStyle>> = {
  gap: { color: '#d62728', shape: 'down', row: 0 },
  disconnected: { color: '#222222', shape: 'square', row: 0 },
  stale: { color: '#ff7f0e', shape: 'diamond', row: 0 },
  checksum: { color: '#9467bd', shape: 'diamond', row: 0 },
  corrupt: { color: '#8c564b', shape: 'square', row: 0 },
  resync: { color: '#1f77b4', shape: 'circle', row: 1 },
  reconnected: { color: '#2ca02c', shape: 'circle', row: 1 },
};
const OTHER_STYLE: GapStyle = { color: '#7f7f7f', shape: 'circle', row: 0 };

function shape(style: GapStyle, x: number, y: number, extra: string, title: string): string {
  const t = `<title>${e(title)}</title>`;
  const fill = `fill="${style.color}"`;
  switch (style.shape) {
    case 'down':
      return `<path${extra} d="M${n(x - 5.5)} ${n(y - 5)}L${n(x + 5.5)} ${n(y - 5)}L${n(x)} ${n(y + 5)}Z" ${fill}>${t}</path>`;
    case 'circle':
      return `<circle${extra} cx="${n(x)}" cy="${n(y)}" r="4.5" ${fill}>${t}</circle>`;
    case 'square':
      return `<rect${extra} x="${n(x - 4.5)}" y="${n(y - 4.5)}" width="9" height="9" ${fill}>${t}</rect>`;
    case 'diamond':
      return `<path${extra} d="M${n(x)} ${n(y - 6)}L${n(x + 6)} ${n(y)}L${n(x)} ${n(y + 6)}L${n(x - 6)} ${n(y)}Z" ${fill}>${t}</path>`;
  }
}

/** Every gap row as a mark on one time axis, one lane per venue and symbol; the kind and detail in its tooltip. */
function gapChart(rows: readonly Row[]): string {
  const timed = rows.map((row, index) => ({ row, index, ts: parseTimestamp(text(row['ts_recv'])) }));
  const points = timed.filter((p): p is typeof p & { ts: bigint } => p.ts !== null);
  if (points.length === 0) return '<p class="none">No gap has a time to place on an axis (they are in the table).</p>';
  const venues = new Set(rows.map((r) => text(r['venue'])));
  const laneOf = (r: Row): string => `${text(r['venue'])}\u0000${text(r['symbol'])}`;
  const lanes = [...new Map(points.map((p) => [laneOf(p.row), p.row])).entries()]
    .map(([key, r]) => ({ key, venue: text(r['venue']), symbol: text(r['symbol']) }))
    .sort((a, b) => (a.venue !== b.venue ? (a.venue < b.venue ? -1 : 1) : a.symbol === b.symbol ? 0 : a.symbol < b.symbol ? -1 : 1));
  const laneIndex = new Map(lanes.map((l, i) => [l.key, i]));
  const laneLabel = (l: { venue: string; symbol: string }): string => (venues.size > 1 ? `${l.venue} ${l.symbol}` : l.symbol);
  let min = points[0]!.ts;
  let max = min;
  for (const p of points) {
    if (p.ts < min) min = p.ts;
    if (p.ts > max) max = p.ts;
  }
  const pad = max === min ? 500_000_000n : (max - min) / 40n + 1n;
  const lo = min - pad;
  const hi = max + pad;
  const span = hi - lo;
  const labelW = Math.min(320, Math.max(80, ...lanes.map((l) => textWidth(laneLabel(l)) + 16)));
  const x0 = labelW;
  const x1 = WIDTH - 24;
  const multiDay = span >= 86_400n * NS_PER_S;
  // The smallest step whose labels fit side by side.
  let step = TIME_STEPS[TIME_STEPS.length - 1]!;
  for (const s of TIME_STEPS) {
    const count = Number(span / s) + 1;
    if (count * (textWidth(timeLabel(lo, s, multiDay)) + 24) <= x1 - x0) {
      step = s;
      break;
    }
  }
  if (span / step > 12n) step = span / 6n; // beyond a year a step: still a handful of ticks
  const x = (ts: bigint): number => x0 + (Number(ts - lo) / Number(span)) * (x1 - x0);
  const kinds = [...new Set(points.map((p) => text(p.row['kind'])))];
  const legendH = 28;
  const top = 8 + legendH;
  const laneH = 40;
  const bottom = top + lanes.length * laneH;
  const height = bottom + 48;
  let out = svgOpen('gaps', height, 'gaps on a time axis, one lane per symbol');
  out += legend(
    kinds.map((k) => ({ label: k, swatch: shape(GAP_STYLES[k] ?? OTHER_STYLE, 5, -1, '', k) })),
    x0,
    16,
  );
  lanes.forEach((l, i) => {
    const y = top + i * laneH;
    if (i % 2 === 0) out += `<rect x="${n(x0)}" y="${n(y)}" width="${n(x1 - x0)}" height="${laneH}" class="band"/>`;
    out += `<text x="${n(x0 - 8)}" y="${n(y + laneH / 2 + 4)}" text-anchor="end" class="label">${e(laneLabel(l))}</text>`;
  });
  const firstTick = ((lo + step - 1n) / step) * step;
  for (let t = firstTick; t <= hi; t += step) {
    const tx = n(x(t));
    out += `<line x1="${tx}" y1="${n(top)}" x2="${tx}" y2="${n(bottom)}" class="grid"/>`;
    out += `<line x1="${tx}" y1="${n(bottom)}" x2="${tx}" y2="${n(bottom + 5)}" class="axis"/>`;
    out += `<text x="${tx}" y="${n(bottom + 18)}" text-anchor="middle" class="tick">${e(timeLabel(t, step, multiDay))}</text>`;
  }
  out += `<line x1="${n(x0)}" y1="${n(bottom)}" x2="${n(x1)}" y2="${n(bottom)}" class="axis"/>`;
  const from = text(points.find((p) => p.ts === min)!.row['ts_recv']);
  out += `<text x="${n((x0 + x1) / 2)}" y="${n(bottom + 38)}" text-anchor="middle" class="axis-title">${e(`ts_recv (UTC), first ${from}`)}</text>`;
  for (const p of points) {
    const r = p.row;
    const kind = text(r['kind']);
    const style = GAP_STYLES[kind] ?? OTHER_STYLE;
    const px = x(p.ts);
    const py = top + laneIndex.get(laneOf(r))! * laneH + (style.row === 0 ? 13 : 28);
    const ts = text(r['ts_recv']);
    const fromSeq = jsonText(r['from_seq']);
    const toSeq = jsonText(r['to_seq']);
    const detail = text(r['detail']);
    const keys: [string, string][] = [
      ['data-report', 'gaps'],
      ['data-row', String(p.index)],
      ['data-venue', text(r['venue'])],
      ['data-symbol', text(r['symbol'])],
      ['data-kind', kind],
      ['data-field', 'ts_recv'],
      ['data-value', ts],
      ['data-detail', detail],
    ];
    if (fromSeq !== null) keys.push(['data-from-seq', fromSeq]);
    if (toSeq !== null) keys.push(['data-to-seq', toSeq]);
    const seq = fromSeq === null ? '' : ` (seq ${fromSeq}${toSeq !== null && toSeq !== fromSeq ? `–${toSeq}` : ''})`;
    const title = `${kind}: ${text(r['venue'])} ${text(r['symbol'])} at ${ts}${seq}${detail === '' ? '' : ` — ${detail}`}`;
    out += shape(style, px, py, ` class="mark"${attrs(keys)}`, title);
  }
  out += '</svg>';
  const untimed = rows.length - points.length;
  const notes = [
    'One lane per venue and symbol (<code>*</code>: the whole feed, such as a hole between recording sessions); problems on the upper row of a lane, recoveries on the lower. Hover a mark for its kind and detail.',
  ];
  if (untimed > 0) notes.push(`${untimed} row(s) without a time are in the table only.`);
  return `${out}<p class="note">${notes.join(' ')}</p>`;
}

// ---------------------------------------------------------------------------------------------
// The page

function chartOf(section: ReportSection): string {
  const rows = section.rows;
  if (rows.length === 0) return '';
  switch (section.name) {
    case 'vwap':
      return barChart('vwap', groupsOf(rows, 'symbol'), seriesOf(['vwap']), 'VWAP (price units)');
    case 'spreads':
      return barChart(
        'spreads',
        groupsOf(rows, 'symbol'),
        seriesOf(['min', 'median', 'mean', 'max']),
        'quoted spread, ask − bid (price units)',
      );
    case 'gaps':
      return gapChart(rows);
    case 'latency':
      return barChart('latency', groupsOf(rows, 'kind'), seriesOf(['p50_us', 'p90_us', 'p99_us', 'max_us']), 'tsRecv − tsEvent (µs)');
  }
}

const NUMERIC = /^-?\d+(\.\d+)?$/;

function table(rows: readonly Row[]): string {
  if (rows.length === 0) return '<p class="none">(none)</p>';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const head = cols.map((c) => `<th>${e(c)}</th>`).join('');
  const body = rows
    .map((r) => {
      const cells = cols.map((c) => {
        const v = jsonText(r[c]);
        if (v === null) return '<td class="null">-</td>';
        return `<td${typeof r[c] === 'number' || NUMERIC.test(v) ? ' class="num"' : ''}>${e(v)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<div class="table"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2328; background: #fff; max-width: 1000px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 4px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
p { margin: 4px 0 10px; }
code, table, svg text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
nav a { margin-right: 14px; }
a { color: #0969da; }
.desc, .note, .meta { color: #59636e; }
.none { color: #59636e; font-style: italic; }
figure { margin: 8px 0 12px; }
svg.chart { display: block; width: 100%; height: auto; }
svg text { font-size: 12px; fill: #1f2328; }
svg .tick, svg .axis-title { fill: #59636e; }
svg .value.none { fill: #8c959f; font-style: italic; }
svg .grid { stroke: #eaeef2; }
svg .axis { stroke: #8c959f; }
svg .band { fill: #f6f8fa; }
svg .mark:hover { stroke: #000; stroke-width: 1.5; }
.table { max-height: 520px; overflow: auto; border: 1px solid #d0d7de; border-radius: 4px; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
th, td { padding: 3px 10px; text-align: left; white-space: nowrap; border-bottom: 1px solid #eaeef2; }
th { position: sticky; top: 0; background: #f6f8fa; }
td.num { text-align: right; }
td.null { color: #8c959f; }
`.trim();

/** The page: a title, then per report its description, chart and table. */
export function reportHtml(input: ReportHtmlInput): string {
  const nav = input.sections.map((s) => `<a href="#report-${s.name}">${s.name}</a>`).join('');
  const sections = input.sections.map((s) => {
    const count = `${s.rows.length} row${s.rows.length === 1 ? '' : 's'}`;
    return [
      `<section id="report-${s.name}" data-report-section="${s.name}">`,
      `<h2>${s.name}</h2>`,
      `<p class="desc">${e(s.description)} · ${count}</p>`,
      s.rows.length === 0 ? '' : `<figure>${chartOf(s)}</figure>`,
      table(s.rows),
      '</section>',
    ]
      .filter((l) => l !== '')
      .join('\n');
  });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(`mdcap report: ${input.capture}`)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>\n${CSS}\n</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>mdcap report: <code>${e(input.capture)}</code></h1>`,
    '<p class="meta">Every value shown is the exact string of <code>mdcap report --json</code>; bar lengths and positions are drawn to scale, approximately.</p>',
    `<nav>${nav}</nav>`,
    '</header>',
    ...sections,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
