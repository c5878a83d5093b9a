import { existsSync, openAsBlob, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parquetWasm } from './parquet-wasm.js';
import type { ParquetWasm } from './parquet-wasm.js';
import { ALL_SYMBOLS, CaptureError } from '@mdcap/core';
import type { SequenceRule, Status } from '@mdcap/core';
import { fileEntryOf, sha256FileAsync, StatsAccumulator } from './finalize.js';
import { gapEntry, isDataLoss, MAX_GAP_ENTRIES } from './gaps.js';
import { CAPTURE_KINDS, decodeBatch, SCHEMA_VERSION } from './kinds/index.js';
import type { CaptureKind } from './kinds/index.js';
import { layoutFiles, MANIFEST, PARQUET_EXT, partitionValueDecode } from './layout.js';
export { hasCaptureData } from './manifest.js';
import { emptyManifest, inferSequencing } from './manifest.js';
import type { FileEntry, InstrumentEntry, Manifest, SessionEntry } from './manifest.js';
import { segmentPieces } from './segment.js';

/** What a root's manifest is like: readable, missing or unreadable (rebuildable), or newer than this mdcap. */
export type ManifestState = 'ok' | 'missing' | 'unreadable' | 'newer';

export function manifestState(root: string): ManifestState {
  const path = join(root, MANIFEST);
  if (!existsSync(path)) return 'missing';
  let m: { format?: unknown; schemaVersion?: unknown };
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as typeof m;
  } catch {
    return 'unreadable';
  }
  if (typeof m !== 'object' || m === null || m.format !== 'mdcap-capture' || typeof m.schemaVersion !== 'number') return 'unreadable';
  return m.schemaVersion > SCHEMA_VERSION ? 'newer' : 'ok';
}

export interface RebuildReport {
  /** Parquet files listed in the rebuilt manifest. */
  readonly files: number;
  readonly sessions: number;
  /** Files that could not be read (left out, not deleted). */
  readonly unreadable: readonly string[];
  /** Where the unreadable manifest was moved (kept for inspection), or null if there was none. */
  readonly savedAs: string | null;
}

interface ReadFile {
  readonly entry: FileEntry;
  readonly meta: Map<string, string>;
  readonly scales: Record<string, { price: number; size: number }>;
  readonly losses: Status[];
}

/** A Parquet file of the capture: its manifest entry from its rows, and what its metadata says. */
async function readParquetFile(root: string, kind: CaptureKind, rel: string): Promise<ReadFile> {
  const path = join(root, rel);
  const pq = parquetWasm();
  const pf = await pq.ParquetFile.fromFile(await openAsBlob(path));
  try {
    const md = pf.metadata();
    const meta = new Map<string, string>();
    for (const [k, v] of md.fileMetadata().keyValueMetadata() as Map<string, string>) meta.set(String(k), String(v));
    if (meta.get('mdcap.kind') !== undefined && meta.get('mdcap.kind') !== kind) {
      throw new Error(`its metadata says kind ${meta.get('mdcap.kind')}, its directory ${kind}`);
    }
    const sizes: number[] = [];
    for (let i = 0; i < md.numRowGroups(); i++) sizes.push(md.rowGroup(i).numRows());
    const stats = new StatsAccumulator(sizes);
    const losses: Status[] = [];
    const reader = ((await pf.stream({ batchSize: 65_536 })) as ReadableStream<ParquetWasm.RecordBatch>).getReader();
    for (;;) {
      const step = await reader.read();
      if (step.done === true) break;
      for (const batch of tableFromIPC(step.value.intoIPCStream()).batches) {
        stats.addBatch(batch);
        if (kind !== 'status') continue;
        const b = decodeBatch('status', batch);
        for (let i = 0; i < b.length; i++) {
          const e = b.event(i) as Status;
          if (isDataLoss(e)) losses.push(e);
        }
      }
    }
    stats.cut();
    const entry = fileEntryOf(rel, kind, stats, statSync(path).size, await sha256FileAsync(path));
    return { entry, meta, scales: stats.scales, losses };
  } finally {
    pf.free();
  }
}

function parse<T>(text: string | undefined): T | null {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/**
 * Rebuilds a capture's manifest from its files alone, for a manifest that was deleted or
 * overwritten: each Parquet file is read (rows, row groups, time and recv_seq ranges, symbols,
 * sha256) and its key-value metadata gives the capture, the session that wrote it and the
 * instruments of its symbols (files of mdcap 0.1.0 carry none: one session is assumed). Gap
 * statuses are collected from the status files. A session whose files do not say how it ended
 * stays open, so the repair that follows closes it as interrupted. Unfinalized segments stay for
 * that repair to finalize. The unreadable manifest, if any, is kept as `manifest.json.unreadable`.
 */
export async function rebuildManifest(root: string): Promise<{ manifest: Manifest; report: RebuildReport }> {
  const files: ReadFile[] = [];
  const unreadable: string[] = [];
  for (const { kind, rel } of layoutFiles(root, PARQUET_EXT)) {
    try {
      files.push(await readParquetFile(root, kind, rel));
    } catch {
      unreadable.push(rel);
    }
  }
  files.sort((a, b) =>
    a.entry.group < b.entry.group
      ? -1
      : a.entry.group > b.entry.group
        ? 1
        : CAPTURE_KINDS.indexOf(a.entry.kind) - CAPTURE_KINDS.indexOf(b.entry.kind),
  );
  // Segments not finalized yet: their recv_seq and time ranges, from their chunk trailers.
  let segMax: { seq: bigint; ts: bigint; venue: string } | null = null;
  let segMin: { seq: bigint; ts: bigint; venue: string } | null = null;
  const { findSegments } = await import('./repair.js');
  for (const seg of findSegments(root)) {
    const venue = partitionValueDecode(seg.rel.split('/')[1]!.slice('venue='.length));
    try {
      for (const p of segmentPieces(join(root, seg.rel))) {
        if (p.type !== 'chunk' || !p.ok || p.trailer === null) continue;
        const t = p.trailer;
        if (segMax === null || t.lastRecvSeq > segMax.seq) segMax = { seq: t.lastRecvSeq, ts: t.lastTsRecv, venue };
        if (segMin === null || t.firstRecvSeq < segMin.seq) segMin = { seq: t.firstRecvSeq, ts: t.firstTsRecv, venue };
      }
    } catch {
      unreadable.push(seg.rel);
    }
  }

  const capture =
    files
      .map((f) => parse<{ created: string; feed: string; sequencing?: Record<string, SequenceRule> }>(f.meta.get('mdcap.capture')))
      .find((c) => c !== null) ?? null;
  const venues = [...files.map((f) => f.entry.venue), ...(segMin === null ? [] : [segMin.venue])];
  const feed = capture?.feed ?? venues[0] ?? 'unknown';
  const m = emptyManifest(feed, [], capture?.created ?? new Date().toISOString());
  if (capture?.sequencing !== undefined) m.sequencing = { ...capture.sequencing };

  // Sessions: what the files say (the latest word on each: an entry with an end wins).
  const sessions = new Map<number, SessionEntry>();
  for (const f of files) {
    const s = parse<SessionEntry>(f.meta.get('mdcap.session'));
    if (s === null || typeof s.id !== 'number') continue;
    const had = sessions.get(s.id);
    if (had === undefined || (had.end === null && s.end !== null)) sessions.set(s.id, { ...s });
  }
  const rowsMin = files.reduce<{ seq: bigint; ts: bigint } | null>((acc, f) => {
    const seq = BigInt(f.entry.recvSeqMin);
    return acc === null || seq < acc.seq ? { seq, ts: BigInt(f.entry.tsRecvMin) } : acc;
  }, segMin);
  if (sessions.size === 0 && rowsMin !== null) {
    // Files without metadata (mdcap 0.1.0): one session over everything, its end unknown.
    sessions.set(1, {
      id: 1,
      feed,
      symbols: [],
      start: rowsMin.ts.toString(),
      end: null,
      clean: false,
      firstRecvSeq: rowsMin.seq.toString(),
      lastRecvSeq: null,
    });
  }
  const ordered = [...sessions.values()].sort((a, b) => a.id - b.id);
  ordered.forEach((s, i) => {
    const next = ordered[i + 1];
    if (s.end !== null || next === undefined) return; // the last one stays open: the repair closes it as interrupted
    const mine = files.filter(
      (f) => BigInt(f.entry.recvSeqMin) >= BigInt(s.firstRecvSeq) && BigInt(f.entry.recvSeqMin) < BigInt(next.firstRecvSeq),
    );
    // An earlier session whose files do not say how it ended: it ended with its last row.
    const end = mine.reduce((acc, f) => (BigInt(f.entry.tsRecvMax) > acc ? BigInt(f.entry.tsRecvMax) : acc), BigInt(s.start));
    const last = mine.reduce(
      (acc, f) => (BigInt(f.entry.recvSeqMax) > acc ? BigInt(f.entry.recvSeqMax) : acc),
      BigInt(s.firstRecvSeq) - 1n,
    );
    s.end = end.toString();
    s.clean = false;
    s.lastRecvSeq = last.toString();
  });
  m.sessions = ordered;

  const symbols = new Set<string>();
  for (const s of ordered) for (const x of s.symbols) symbols.add(x);
  for (const f of files) for (const g of f.entry.rowGroups) for (const x of g.symbols) if (x !== ALL_SYMBOLS) symbols.add(x);
  m.symbols = [...symbols];
  const instruments = new Map<string, InstrumentEntry>();
  for (const f of files) {
    for (const i of parse<InstrumentEntry[]>(f.meta.get('mdcap.instruments')) ?? []) instruments.set(`${i.venue}\u0000${i.symbol}`, i);
  }
  // Files of mdcap 0.1.0 carry no instruments: their scales say what the manifest listed.
  for (const f of capture === null ? files : []) {
    for (const [symbol, sc] of Object.entries(f.scales)) {
      const k = `${f.entry.venue}\u0000${symbol}`;
      if (!instruments.has(k)) instruments.set(k, { venue: f.entry.venue, symbol, priceScale: sc.price, sizeScale: sc.size });
    }
  }
  m.instruments = [...instruments.values()];
  m.files = files.map((f) => f.entry);
  for (const f of files) for (const e of f.losses) if (m.gaps.length < MAX_GAP_ENTRIES) m.gaps.push(gapEntry(e));
  let maxSeq = segMax?.seq ?? 0n;
  for (const f of files) if (BigInt(f.entry.recvSeqMax) > maxSeq) maxSeq = BigInt(f.entry.recvSeqMax);
  m.nextRecvSeq = (maxSeq + 1n).toString();
  if (capture?.sequencing === undefined) m.sequencing = inferSequencing(m);

  if (files.length === 0 && segMin === null) {
    throw new CaptureError(
      'MDCAP_ERR_CAPTURE_NOT_FOUND',
      `capture ${root}: expected Parquet files or segments to rebuild the manifest from, found none`,
      { details: { root } },
    );
  }
  let savedAs: string | null = null;
  const path = join(root, MANIFEST);
  if (existsSync(path)) {
    savedAs = `${path}.unreadable`;
    renameSync(path, savedAs);
  }
  return { manifest: m, report: { files: files.length, sessions: ordered.length, unreadable, savedAs } };
}
