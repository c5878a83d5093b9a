import { CaptureReader } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { nsToIso } from '@mdcap/core';
import type { Argv } from 'yargs';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { bytes, count, LineOutput } from '../output.js';

interface InspectArgs {
  readonly dir: string;
  readonly json: boolean;
}

interface KindSummary {
  files: number;
  rows: number;
  bytes: number;
}

/** What `inspect` reports: the manifest, summarized. */
export function summarize(root: string, m: Manifest, segments: number): Record<string, unknown> {
  const kinds: Record<string, KindSummary> = {};
  let tsMin: bigint | null = null;
  let tsMax: bigint | null = null;
  for (const f of m.files) {
    const k = (kinds[f.kind] ??= { files: 0, rows: 0, bytes: 0 });
    k.files++;
    k.rows += f.rows;
    k.bytes += f.bytes;
    const lo = BigInt(f.tsRecvMin);
    const hi = BigInt(f.tsRecvMax);
    if (tsMin === null || lo < tsMin) tsMin = lo;
    if (tsMax === null || hi > tsMax) tsMax = hi;
  }
  return {
    root,
    format: m.format,
    schemaVersion: m.schemaVersion,
    writer: m.writer,
    created: m.created,
    feed: m.feed,
    symbols: m.symbols,
    instruments: m.instruments,
    sessions: m.sessions,
    kinds,
    rows: m.files.reduce((a, f) => a + f.rows, 0),
    bytes: m.files.reduce((a, f) => a + f.bytes, 0),
    files: m.files.length,
    segmentsNotFinalized: segments,
    tsRecvMin: tsMin?.toString() ?? null,
    tsRecvMax: tsMax?.toString() ?? null,
    quality: quality(m),
  };
}

/** The manifest's data-quality summary, counted as `verify` counts (a resync is the recovery, not a gap). */
export function quality(m: Manifest): {
  gaps: number;
  disconnects: number;
  resyncs: number;
  failedChecksums: number;
  sessionHoles: number;
  interruptedSessions: number;
} {
  const n = (k: string): number => m.gaps.filter((g) => g.kind === k).length;
  return {
    gaps: n('gap'),
    disconnects: n('disconnected'),
    resyncs: n('resync'),
    failedChecksums: n('checksum'),
    sessionHoles: Math.max(0, m.sessions.length - 1),
    interruptedSessions: m.sessions.filter((s) => !s.clean && s.end !== null).length,
  };
}

export const inspectCommand: Command<InspectArgs> = {
  command: 'inspect <dir>',
  describe: "Summarize a capture's manifest: feed, symbols, scales, sessions, files, rows, gaps",
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', describe: 'Capture directory' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the summary as one JSON object' })
      .example('mdcap inspect cap', 'what was recorded, when, and how big it is'),
  async run(a) {
    const reader = CaptureReader.open(a.dir);
    const m = reader.manifest;
    const segments = reader.files().filter((f) => f.format === 'arrow').length;
    const out = new LineOutput();
    if (a.json) {
      out.line(JSON.stringify(summarize(a.dir, m, segments)));
      await out.end();
      return EXIT.ok;
    }
    const rows = m.files.reduce((s, f) => s + f.rows, 0);
    const size = m.files.reduce((s, f) => s + f.bytes, 0);
    out.line(`capture ${a.dir} (schema ${m.schemaVersion}, written by ${m.writer.name} ${m.writer.version}, created ${m.created})`);
    out.line(`feed ${m.feed}; symbols ${m.symbols.join(', ')}`);
    for (const i of m.instruments) out.line(`  ${i.venue}:${i.symbol}  price scale ${i.priceScale}, size scale ${i.sizeScale}`);
    out.line(`sessions:`);
    for (const s of m.sessions) {
      const end = s.end === null ? 'still open (recording, or interrupted: mdcap verify --repair)' : nsToIso(BigInt(s.end));
      out.line(
        `  #${s.id} ${s.feed} ${nsToIso(BigInt(s.start))} → ${end}${s.clean ? '' : s.end === null ? '' : '  (interrupted, repaired)'}`,
      );
    }
    out.line(
      `files: ${count(m.files.length)} Parquet, ${count(rows)} rows, ${bytes(size)}${segments > 0 ? `; ${segments} segment(s) not finalized` : ''}`,
    );
    const kinds = summarize(a.dir, m, segments)['kinds'] as Record<string, KindSummary>;
    for (const [k, v] of Object.entries(kinds))
      out.line(`  ${k.padEnd(14)} ${count(v.rows).padStart(12)} rows in ${v.files} files, ${bytes(v.bytes)}`);
    const q = quality(m);
    out.line(
      `data quality: ${q.gaps} gaps, ${q.disconnects} disconnects, ${q.resyncs} resyncs, ${q.failedChecksums} failed checksums; ${q.sessionHoles} holes between sessions, ${q.interruptedSessions} interrupted sessions (mdcap verify counts them all)`,
    );
    for (const g of m.gaps.slice(0, 10)) out.line(`  ${nsToIso(BigInt(g.tsRecv))} ${g.venue}:${g.symbol} ${g.kind}: ${g.detail}`);
    if (m.gaps.length > 10) out.line(`  … ${m.gaps.length - 10} more (mdcap query ${a.dir} "SELECT * FROM status")`);
    await out.end();
    return EXIT.ok;
  },
};
