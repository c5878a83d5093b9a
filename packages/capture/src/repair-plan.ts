import { closeSync, fdatasyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import type { Status } from '@mdcap/core';
import { syncDir } from './finalize.js';
import { createRowBuilder, decodeBatch } from './kinds/index.js';
import type { CaptureKind } from './kinds/index.js';
import { partitionValueDecode } from './layout.js';
import type { Manifest } from './manifest.js';
import { chunkTrailer, pieceWhere, segmentHeader, segmentPieces } from './segment.js';
import type { ChunkTrailer } from './segment.js';

/**
 * What repair does to one segment, worked out before anything is changed: which chunks stay,
 * which pieces were lost (and between which recv_seq numbers), where a cut begins; and the
 * writes that carry the plan out (a rebuilt status segment, a segment without its holes).
 */

export interface FoundSegment {
  readonly kind: CaptureKind;
  readonly rel: string;
}

/** `g0000000000000001` of `trades/venue=x/date=y/g0000000000000001.arrows`. */
export function groupOf(rel: string): string {
  const f = rel.slice(rel.lastIndexOf('/') + 1);
  return f.slice(0, f.indexOf('.'));
}

/** A chunk that repair keeps: intact, and confirmed by a finished flush. */
export interface KeptChunk {
  readonly start: number;
  readonly end: number;
  readonly first: bigint;
  readonly last: bigint;
  readonly firstTs: bigint;
  readonly lastTs: bigint;
}

/** A lost part of a segment, between two kept chunks (recv_seq strictly between lo and hi). */
export interface Loss {
  readonly where: string;
  readonly bytes: number;
  readonly trailer: ChunkTrailer | null;
  readonly lo: bigint;
  /** Exclusive upper bound, or null when unknown (a tail with no confirmed flush after it). */
  hi: bigint | null;
  /** A tail, a damaged trailer: the chunk may not have been complete. */
  readonly tail: boolean;
}

export interface SegmentPlan {
  readonly seg: FoundSegment;
  readonly group: string;
  readonly venue: string;
  readonly kept: KeptChunk[];
  readonly losses: Loss[];
  /** Bytes after the last kept chunk that go (torn tail, unconfirmed chunks). */
  cutFrom: number;
  size: number;
  /** Where the first piece starts (after the header; 0 in a legacy segment). */
  dataStart: number;
  /** Status rows of the kept chunks (status segments only). */
  readonly statuses: { seq: bigint; event: Status }[];
}

export interface ChunkRange {
  first: bigint;
  last: bigint;
  firstTs: bigint;
  lastTs: bigint;
  rows: number;
}

/** What a chunk holds: from its trailer, or (a legacy chunk, which has none) from its rows. */
export function chunkRange(bytes: Uint8Array, t: ChunkTrailer | null): ChunkRange | null {
  if (t !== null) return { first: t.firstRecvSeq, last: t.lastRecvSeq, firstTs: t.firstTsRecv, lastTs: t.lastTsRecv, rows: t.rows };
  let out: ChunkRange | null = null;
  for (const batch of tableFromIPC(bytes).batches) {
    const rs = batch.getChild('recv_seq')!.data[0]!.values as BigUint64Array;
    const ts = batch.getChild('ts_recv')!.data[0]!.values as BigInt64Array;
    if (rs.length === 0) continue;
    out ??= { first: rs[0]!, last: rs[0]!, firstTs: ts[0]!, lastTs: ts[0]!, rows: 0 };
    out.last = rs[rs.length - 1]!;
    out.lastTs = ts[ts.length - 1]!;
    out.rows += rs.length;
  }
  return out;
}

export function statusRows(bytes: Uint8Array): { seq: bigint; event: Status }[] {
  const out: { seq: bigint; event: Status }[] = [];
  for (const batch of tableFromIPC(bytes).batches) {
    const b = decodeBatch('status', batch);
    for (let i = 0; i < b.length; i++) out.push({ seq: b.recvSeq[i]!, event: b.event(i) as Status });
  }
  return out;
}

/**
 * Reads a segment's pieces and decides what stays: intact chunks below the last confirmed flush;
 * what goes: a torn tail and unconfirmed chunks (a suffix), and damaged pieces before them (holes,
 * which become gap statuses).
 */
export function planSegment(root: string, seg: FoundSegment, cutoff: bigint | null): SegmentPlan {
  const group = groupOf(seg.rel);
  const plan: SegmentPlan = {
    seg,
    group,
    venue: partitionValueDecode(seg.rel.split('/')[1]!.slice('venue='.length)),
    kept: [],
    losses: [],
    cutFrom: -1,
    size: 0,
    dataStart: -1,
    statuses: [],
  };
  let lo = BigInt(group.slice(1)) - 1n; // before the group's first recv_seq
  let pending: Loss[] = []; // losses waiting for the next kept chunk to bound them
  let index = 0;
  let suffix = false;
  for (const p of segmentPieces(join(root, seg.rel))) {
    plan.size = p.end;
    if (plan.dataStart < 0) plan.dataStart = p.start;
    if (suffix) continue;
    const where = pieceWhere(p, index);
    if (p.type === 'chunk') index++;
    if (p.type === 'chunk' && p.ok) {
      const r = chunkRange(p.bytes, p.trailer);
      if (r === null) continue; // an empty legacy chunk holds nothing
      if (cutoff !== null && r.first >= cutoff) {
        suffix = true; // this chunk and the ones after it were never confirmed
        plan.cutFrom = p.start;
        continue;
      }
      const k: KeptChunk = { start: p.start, end: p.end, first: r.first, last: r.last, firstTs: r.firstTs, lastTs: r.lastTs };
      for (const l of pending) l.hi ??= k.first;
      plan.losses.push(...pending);
      pending = [];
      plan.kept.push(k);
      lo = k.last;
      if (seg.kind === 'status') plan.statuses.push(...statusRows(p.bytes));
      continue;
    }
    const t = p.type === 'chunk' ? p.trailer : null;
    if (t !== null && cutoff !== null && t.firstRecvSeq >= cutoff) {
      suffix = true; // damaged, but never confirmed either: part of the lost suffix
      plan.cutFrom = p.start;
      continue;
    }
    if (t !== null) for (const l of pending) l.hi ??= t.firstRecvSeq;
    pending.push({ where, bytes: p.end - p.start, trailer: t, lo, hi: t === null ? null : t.lastRecvSeq + 1n, tail: p.type === 'tail' });
    if (t !== null) lo = t.lastRecvSeq;
  }
  // What lies after the last kept chunk: confirmed rows (below the cutoff) may have been there.
  for (const l of pending) {
    if (l.hi === null && cutoff !== null) l.hi = cutoff;
    if (l.hi === null || (l.tail && l.hi <= l.lo + 1n)) {
      // A torn tail with nothing to say it held confirmed rows: the crash's own loss.
      if (plan.cutFrom < 0) plan.cutFrom = plan.size - l.bytes;
      continue;
    }
    plan.losses.push(l);
  }
  if (plan.dataStart < 0) plan.dataStart = plan.size;
  if (plan.cutFrom < 0 && plan.losses.length === 0) plan.cutFrom = plan.size;
  return plan;
}

/** Writes a segment of one or more chunks from status rows (sorted by recv_seq), under a temp name, then in place. */
export function writeStatusSegment(path: string, rows: readonly { seq: bigint; event: Status }[]): void {
  const tmp = `${path}.tmp`;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, segmentHeader());
    for (let at = 0; at < rows.length; at += 65_536) {
      const part = rows.slice(at, at + 65_536);
      const b = createRowBuilder('status');
      for (const r of part) b.append(r.event, r.seq);
      const ipc = tableToIPC(b.table(), 'stream');
      const first = part[0]!;
      const last = part[part.length - 1]!;
      writeSync(fd, ipc);
      writeSync(fd, chunkTrailer(ipc, part.length, [first.seq, last.seq], [first.event.tsRecv, last.event.tsRecv]));
    }
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** Keeps only the kept chunks of a segment (a hole was cut out of it): rewritten beside it, then renamed. */
export function rewriteSegment(root: string, plan: SegmentPlan): void {
  const path = join(root, plan.seg.rel);
  const tmp = `${path}.tmp`;
  const keep = new Set(plan.kept.map((k) => k.start));
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, segmentHeader());
    for (const p of segmentPieces(path)) {
      if (p.type !== 'chunk' || !keep.has(p.start)) continue;
      const r = chunkRange(p.bytes, p.trailer)!;
      writeSync(fd, p.bytes);
      writeSync(fd, chunkTrailer(p.bytes, r.rows, [r.first, r.last], [r.firstTs, r.lastTs]));
    }
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** recv_seq and ts_recv of the rows of a group's other files within (lo, hi): what a lost chunk cannot have held. */
export async function usedBetween(
  root: string,
  plans: readonly SegmentPlan[],
  manifest: Manifest,
  group: string,
  lo: bigint,
  hi: bigint,
): Promise<Map<bigint, bigint>> {
  const used = new Map<bigint, bigint>();
  for (const plan of plans) {
    if (plan.group !== group) continue;
    const wanted = new Set(plan.kept.filter((k) => k.last > lo && k.first < hi).map((k) => k.start));
    if (wanted.size === 0) continue;
    for (const p of segmentPieces(join(root, plan.seg.rel))) {
      if (p.type !== 'chunk' || !wanted.has(p.start)) continue;
      for (const batch of tableFromIPC(p.bytes).batches) {
        const rs = batch.getChild('recv_seq')!.data[0]!.values as BigUint64Array;
        const ts = batch.getChild('ts_recv')!.data[0]!.values as BigInt64Array;
        for (let i = 0; i < rs.length; i++) if (rs[i]! > lo && rs[i]! < hi) used.set(rs[i]!, ts[i]!);
      }
    }
  }
  const listed = manifest.files.filter((f) => f.group === group && BigInt(f.recvSeqMax) > lo && BigInt(f.recvSeqMin) < hi);
  if (listed.length > 0) {
    const { CaptureReader } = await import('./reader.js');
    const reader = CaptureReader.open(root);
    for (const f of reader.files().filter((x) => x.entry !== null && listed.includes(x.entry))) {
      for await (const b of reader.batches(f)) {
        for (let i = 0; i < b.length; i++) if (b.recvSeq[i]! > lo && b.recvSeq[i]! < hi) used.set(b.recvSeq[i]!, b.tsRecv[i]!);
      }
    }
  }
  return used;
}

/** Status rows of a group's finalized status file of `venue` (when its segment is gone). */
export async function finalizedStatuses(
  root: string,
  manifest: Manifest,
  group: string,
  venue: string,
): Promise<{ seq: bigint; event: Status }[]> {
  const entry = manifest.files.find((f) => f.kind === 'status' && f.group === group && f.venue === venue);
  if (entry === undefined) return [];
  const { CaptureReader } = await import('./reader.js');
  const reader = CaptureReader.open(root);
  const file = reader.files().find((f) => f.entry === entry || f.entry?.path === entry.path)!;
  const out: { seq: bigint; event: Status }[] = [];
  for await (const b of reader.batches(file))
    for (let i = 0; i < b.length; i++) out.push({ seq: b.recvSeq[i]!, event: b.event(i) as Status });
  return out;
}
