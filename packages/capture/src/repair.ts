import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { ALL_SYMBOLS, createStatus, nsToIso } from '@mdcap/core';
import type { Status } from '@mdcap/core';
import { createRowBuilder, decodeBatch } from './kinds/index.js';
import type { CaptureKind } from './kinds/index.js';
import { gapEntry, isDataLoss, MAX_GAP_ENTRIES } from './gaps.js';
import {
  FLUSHED,
  groupName,
  layoutFiles,
  PARQUET_EXT,
  partitionDir,
  partitionValueDecode,
  relativePath,
  SEGMENT_EXT,
  utcDate,
} from './layout.js';
import { fileMetaOf, hasCaptureData, readManifest, writeManifest } from './manifest.js';
import type { Manifest } from './manifest.js';
import { Finalizer } from './finalizer.js';
import type { FinalizeMode } from './finalizer.js';
import { acquireLock, releaseLock } from './lock.js';
import { chunkTrailer, pieceWhere, segmentHeader, segmentPieces } from './segment.js';
import type { ChunkTrailer } from './segment.js';
import { syncDir } from './finalize.js';
import { manifestState, rebuildManifest } from './rebuild.js';
import type { RebuildReport } from './rebuild.js';

/** A part of a segment that failed its checksum (or belongs to no intact chunk), and what it held. */
export interface DamagedRegion {
  /** The segment, relative to the root. */
  readonly path: string;
  /** Where in it: `bytes 16..2048 (chunk 1)`. */
  readonly where: string;
  readonly bytes: number;
  /** Rows and recv_seq range it held, from its trailer (null when the trailer is damaged too). */
  readonly rows: number | null;
  readonly recvSeq: readonly [string, string] | null;
  /** The recv_seq of the gap status that now marks the loss, or null when no row was lost (foreign bytes). */
  readonly gapRecvSeq: string | null;
}

export interface RepairReport {
  /** Segments found (left by a session that did not finish). */
  readonly segments: number;
  /** Segments cut back: a torn tail (a partly written chunk), or chunks of an unconfirmed flush. */
  readonly truncated: number;
  /** Bytes cut off. */
  readonly tornBytes: number;
  /** Parquet files produced from the segments. */
  readonly finalized: number;
  /** The interrupted session, if there was one, and where its recovered data ends. */
  readonly session: { readonly id: number; readonly lastTsRecv: string; readonly gapRecvSeq: string } | null;
  /** Chunks that failed their CRC-32 (and damaged bytes): cut, each loss recorded as a gap status. */
  readonly damaged: readonly DamagedRegion[];
  /** The manifest was missing or unreadable and was rebuilt from the files (repairRoot only). */
  readonly rebuilt: RebuildReport | null;
}

interface FoundSegment {
  readonly kind: CaptureKind;
  readonly rel: string;
}

/**
 * Every `*.arrows` segment under a root, in group order. With `removeTmp` (repair, under the
 * lock), stray `*.tmp` files of an interrupted finalization are removed too; readers leave them
 * alone, since a live recorder may be writing one.
 */
export function findSegments(root: string, removeTmp = false): FoundSegment[] {
  if (removeTmp) for (const f of layoutFiles(root, '.tmp')) unlinkSync(join(root, f.rel));
  return layoutFiles(root, SEGMENT_EXT).sort((a, b) => (groupOf(a.rel) < groupOf(b.rel) ? -1 : 1));
}

/** `g0000000000000001` of `trades/venue=x/date=y/g0000000000000001.arrows`. */
function groupOf(rel: string): string {
  const f = rel.slice(rel.lastIndexOf('/') + 1);
  return f.slice(0, f.indexOf('.'));
}

/** The interrupted session's confirmed flush (see CaptureWriter.flush), or null if unknown. */
export function confirmedFlush(root: string, session: number | undefined): bigint | null {
  const path = join(root, FLUSHED);
  if (session === undefined || !existsSync(path)) return null;
  const m = /^(\d+) (\d+)/.exec(readFileSync(path, 'latin1'));
  return m !== null && Number(m[1]) === session ? BigInt(m[2]!) : null;
}

/** Adds the data-loss statuses of recovered rows to the manifest's gap summary (written after the crash's last manifest update). */
function noteLosses(manifest: Manifest, events: readonly Status[]): void {
  const key = (g: { tsRecv: string; venue: string; symbol: string; kind: string; detail: string }): string =>
    `${g.tsRecv} ${g.venue} ${g.symbol} ${g.kind} ${g.detail}`;
  const seen = new Set(manifest.gaps.map(key));
  for (const e of events) {
    if (manifest.gaps.length >= MAX_GAP_ENTRIES) return;
    if (!isDataLoss(e)) continue;
    const g = gapEntry(e);
    if (seen.has(key(g))) continue;
    seen.add(key(g));
    manifest.gaps.push(g);
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function interruptedPrefix(id: number): string {
  return `capture interrupted: session ${id}`;
}

/** The detail of a gap that repair writes for a damaged chunk (and how repair recognizes it again). */
const DAMAGED_PREFIX = 'capture damaged:';

/** A chunk that repair keeps: intact, and confirmed by a finished flush. */
interface KeptChunk {
  readonly start: number;
  readonly end: number;
  readonly first: bigint;
  readonly last: bigint;
  readonly firstTs: bigint;
  readonly lastTs: bigint;
}

/** A lost part of a segment, between two kept chunks (recv_seq strictly between lo and hi). */
interface Loss {
  readonly where: string;
  readonly bytes: number;
  readonly trailer: ChunkTrailer | null;
  readonly lo: bigint;
  /** Exclusive upper bound, or null when unknown (a tail with no confirmed flush after it). */
  hi: bigint | null;
  /** A tail, a damaged trailer: the chunk may not have been complete. */
  readonly tail: boolean;
}

interface SegmentPlan {
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

interface ChunkRange {
  first: bigint;
  last: bigint;
  firstTs: bigint;
  lastTs: bigint;
  rows: number;
}

/** What a chunk holds: from its trailer, or (a legacy chunk, which has none) from its rows. */
function chunkRange(bytes: Uint8Array, t: ChunkTrailer | null): ChunkRange | null {
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

function statusRows(bytes: Uint8Array): { seq: bigint; event: Status }[] {
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
function planSegment(root: string, seg: FoundSegment, cutoff: bigint | null): SegmentPlan {
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
function writeStatusSegment(path: string, rows: readonly { seq: bigint; event: Status }[]): void {
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
function rewriteSegment(root: string, plan: SegmentPlan): void {
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
async function usedBetween(
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
async function finalizedStatuses(
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

/**
 * Brings a capture root back to a consistent state after a crash (`kill -9`, power loss) or
 * damage to an unfinalized segment:
 * - cuts each segment's torn tail, and the chunks of a flush that did not finish on every
 *   segment (rows at or above the last confirmed flush): a crash loses a suffix, never a hole;
 * - cuts every chunk that fails its CRC-32 (and bytes that belong to no intact chunk), and
 *   records each loss as a `gap` status in the place of the lost rows (its trailer says which);
 *   damaged rows are never finalized;
 * - records the interrupted session's own loss as a `gap` status after its last recovered row;
 * - finalizes every segment to Parquet and lists it in the manifest, and closes the interrupted
 *   session as not clean.
 * Nothing that was flushed intact is lost. Safe to run again, and on a healthy root (it finds
 * nothing to do).
 */
export async function repairCapture(root: string, manifest: Manifest, finalizer: Finalizer): Promise<RepairReport> {
  const found = findSegments(root, true);
  // A segment whose Parquet file is listed was finalized before its deletion: the file holds its rows.
  const listed = new Set(manifest.files.map((f) => f.path.slice(0, -PARQUET_EXT.length)));
  const segments: FoundSegment[] = [];
  for (const seg of found) {
    if (listed.has(seg.rel.slice(0, -SEGMENT_EXT.length))) unlinkSync(join(root, seg.rel));
    else segments.push(seg);
  }
  const open = manifest.sessions.filter((s) => s.end === null);
  // Rows at or above the last confirmed flush of the interrupted session were written by a
  // flush that did not finish on every segment: they go, so the loss is a suffix, not a hole.
  const cutoff = confirmedFlush(root, open[open.length - 1]?.id);
  const plans = segments.map((seg) => planSegment(root, seg, cutoff));

  // Damaged pieces: each loss becomes a gap status where the lost rows were.
  const damaged: DamagedRegion[] = [];
  const gapsByFile = new Map<string, { group: string; venue: string; date: string; rows: { seq: bigint; event: Status }[] }>();
  const taken = new Set<bigint>();
  const lostEnd: { seq: bigint; ts: bigint }[] = []; // where each recorded loss ends
  const existing = new Map<string, { seq: bigint; event: Status }[]>(); // status rows per group and venue, once read
  const statusesOf = async (group: string, venue: string): Promise<{ seq: bigint; event: Status }[]> => {
    const k = `${group}\u0000${venue}`;
    let rows = existing.get(k);
    if (rows === undefined) {
      const plan = plans.find((p) => p.seg.kind === 'status' && p.group === group && p.venue === venue);
      rows = plan !== undefined ? plan.statuses : await finalizedStatuses(root, manifest, group, venue);
      existing.set(k, rows);
    }
    return rows;
  };
  for (const plan of plans) {
    for (const loss of [...plan.losses]) {
      const hi = loss.hi!;
      const already = (await statusesOf(plan.group, plan.venue)).find(
        (r) => r.seq > loss.lo && r.seq < hi && r.event.kind === 'gap' && r.event.detail.startsWith(DAMAGED_PREFIX),
      );
      let at: { seq: bigint; ts: bigint } | null = null;
      if (already !== undefined) at = null;
      else if (loss.trailer !== null) at = { seq: loss.trailer.firstRecvSeq, ts: loss.trailer.firstTsRecv };
      else {
        // The trailer is damaged too: the lost rows held the recv_seq numbers between the
        // neighbouring chunks that no other file of the group holds.
        const used = await usedBetween(root, plans, manifest, plan.group, loss.lo, hi);
        const before = plan.kept.filter((k) => k.last <= loss.lo).pop();
        for (let s = loss.lo + 1n; s < hi; s++) {
          if (used.has(s) || taken.has(s)) continue;
          let ts = before?.lastTs ?? null;
          for (const [u, t] of used) if (u < s && (ts === null || t > ts)) ts = t;
          at = { seq: s, ts: ts ?? plan.kept[0]?.firstTs ?? BigInt(manifest.sessions[manifest.sessions.length - 1]?.start ?? '0') };
          break;
        }
      }
      // A torn tail whose place no confirmed row lacks: the crash's own loss, not damage.
      if (loss.tail && loss.trailer === null && already === undefined && at === null) {
        plan.losses.splice(plan.losses.indexOf(loss), 1);
        if (plan.losses.length === 0) plan.cutFrom = plan.size - loss.bytes;
        continue;
      }
      damaged.push({
        path: plan.seg.rel,
        where: loss.where,
        bytes: loss.bytes,
        rows: loss.trailer?.rows ?? null,
        recvSeq: loss.trailer === null ? null : [loss.trailer.firstRecvSeq.toString(), loss.trailer.lastRecvSeq.toString()],
        gapRecvSeq: (already?.seq ?? at?.seq)?.toString() ?? null,
      });
      if (at === null) continue;
      taken.add(at.seq);
      const held =
        loss.trailer === null
          ? `rows of ${plan.seg.kind} between recv_seq ${loss.lo} and ${hi}`
          : `${loss.trailer.rows} rows of ${plan.seg.kind} (recv_seq ${loss.trailer.firstRecvSeq}..${loss.trailer.lastRecvSeq}, ${nsToIso(loss.trailer.firstTsRecv)} to ${nsToIso(loss.trailer.lastTsRecv)})`;
      const event = createStatus({
        venue: plan.venue,
        symbol: ALL_SYMBOLS,
        tsEvent: at.ts,
        tsRecv: at.ts,
        kind: 'gap',
        detail: `${DAMAGED_PREFIX} ${held} in ${plan.seg.rel} failed their checksum and were cut by repair`,
      });
      const date = utcDate(at.ts);
      const key = relativePath('status', plan.venue, date, plan.group, SEGMENT_EXT);
      let g = gapsByFile.get(key);
      if (g === undefined) gapsByFile.set(key, (g = { group: plan.group, venue: plan.venue, date, rows: [] }));
      g.rows.push({ seq: at.seq, event });
      lostEnd.push(loss.trailer === null ? { seq: at.seq, ts: at.ts } : { seq: loss.trailer.lastRecvSeq, ts: loss.trailer.lastTsRecv });
    }
  }
  // First the gaps (durably), then the cuts: a crash in between repeats the cut, never the gap.
  const rebuiltStatus = new Set<string>();
  for (const [rel, g] of gapsByFile) {
    const rows = [...(await statusesOf(g.group, g.venue)), ...g.rows].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
    writeStatusSegment(join(root, rel), rows);
    rebuiltStatus.add(rel);
    noteLosses(
      manifest,
      g.rows.map((r) => r.event),
    );
  }

  let truncated = 0;
  let tornBytes = 0;
  let maxSeq = -1n;
  let maxTs: bigint | null = null;
  let lastDetail: string | null = null; // detail of the last recovered row, if a status
  const kept: FoundSegment[] = [];
  for (const plan of plans) {
    const path = join(root, plan.seg.rel);
    if (!rebuiltStatus.has(plan.seg.rel)) {
      if (plan.losses.length > 0) {
        rewriteSegment(root, plan);
        truncated++;
        tornBytes += plan.size - plan.dataStart - plan.kept.reduce((n, k) => n + k.end - k.start, 0);
      } else if (plan.cutFrom < plan.size) {
        truncated++;
        tornBytes += plan.size - plan.cutFrom;
        truncateSync(path, plan.cutFrom);
        syncFile(path); // the cut must survive a power loss before the session is closed
      }
      if (plan.kept.length === 0) {
        unlinkSync(path); // nothing in it was ever completely flushed
        continue;
      }
    }
    if (plan.seg.kind === 'status')
      noteLosses(
        manifest,
        plan.statuses.map((r) => r.event),
      );
    for (const k of plan.kept) {
      if (k.last > maxSeq) {
        maxSeq = k.last;
        maxTs = k.lastTs;
        lastDetail = plan.seg.kind === 'status' ? (plan.statuses.find((r) => r.seq === k.last)?.event.detail ?? null) : null;
      }
    }
    kept.push(plan.seg);
  }
  for (const rel of rebuiltStatus) {
    if (!kept.some((s) => s.rel === rel)) kept.push({ kind: 'status', rel });
  }
  for (const l of lostEnd) {
    if (l.seq > maxSeq) {
      maxSeq = l.seq;
      maxTs = l.ts;
      lastDetail = null;
    }
  }
  for (const f of manifest.files) {
    const hi = BigInt(f.recvSeqMax);
    if (hi > maxSeq && BigInt(f.recvSeqMin) >= BigInt(open[0]?.firstRecvSeq ?? '0')) {
      maxSeq = hi;
      maxTs = BigInt(f.tsRecvMax);
      lastDetail = null;
    }
  }

  let session: RepairReport['session'] = null;
  const interrupted = open[open.length - 1];
  if (interrupted !== undefined) {
    // The loss: whatever came after the last recovered event and was not flushed.
    const first = BigInt(interrupted.firstRecvSeq);
    const recovered = maxSeq >= first;
    // A repair that was itself interrupted may have written this gap already: never twice.
    const written = lastDetail !== null && lastDetail.startsWith(interruptedPrefix(interrupted.id));
    const gapSeq = written ? maxSeq : recovered ? maxSeq + 1n : first;
    const ts = recovered && maxTs !== null ? maxTs : BigInt(interrupted.start);
    // Its own group, named by its recv_seq: it sorts after every recovered row, and it never
    // lands on a finalized file of an earlier group (finalizing would replace that file).
    const group = groupName(gapSeq);
    const date = utcDate(ts);
    const detail = `${interruptedPrefix(interrupted.id)} stopped without finishing; events after ${nsToIso(ts)} that were not flushed are lost`;
    const gap = createStatus({ venue: interrupted.feed, symbol: ALL_SYMBOLS, tsEvent: ts, tsRecv: ts, kind: 'gap', detail });
    if (!written) {
      const rel = relativePath('status', interrupted.feed, date, group, SEGMENT_EXT);
      mkdirSync(partitionDir(root, 'status', interrupted.feed, date), { recursive: true });
      writeStatusSegment(join(root, rel), [{ seq: gapSeq, event: gap }]);
      if (!kept.some((s) => s.rel === rel)) kept.push({ kind: 'status', rel });
    }
    manifest.gaps.push(gapEntry(gap));
    for (const s of open) {
      s.end = s === interrupted ? ts.toString() : s.start;
      s.clean = false;
      s.lastRecvSeq = s === interrupted ? gapSeq.toString() : null;
    }
    if (gapSeq + 1n > BigInt(manifest.nextRecvSeq)) manifest.nextRecvSeq = (gapSeq + 1n).toString();
    session = { id: interrupted.id, lastTsRecv: ts.toString(), gapRecvSeq: gapSeq.toString() };
  } else if (maxSeq + 1n > BigInt(manifest.nextRecvSeq)) {
    manifest.nextRecvSeq = (maxSeq + 1n).toString();
  }

  let finalized = 0;
  for (const seg of kept) {
    const entry = await finalizer.run(root, seg.rel, seg.kind, fileMetaOf(manifest, groupOf(seg.rel)));
    const at = manifest.files.findIndex((f) => f.path === entry.path);
    if (at >= 0) manifest.files[at] = entry;
    else manifest.files.push(entry);
    writeManifest(root, manifest);
    unlinkSync(join(root, seg.rel));
    finalized++;
  }
  await finalizer.close();
  if (found.length > 0 || interrupted !== undefined) writeManifest(root, manifest);
  if (existsSync(join(root, FLUSHED))) unlinkSync(join(root, FLUSHED)); // its session is closed now
  return { segments: found.length, truncated, tornBytes, finalized, session, damaged, rebuilt: null };
}

/**
 * `mdcap verify --repair`: takes the root's lock, repairs what an interrupted recording left
 * (see {@link repairCapture}) and releases the lock.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_LOCKED` while a recorder is writing to the root,
 *   `MDCAP_ERR_CAPTURE_NOT_FOUND` / `_SCHEMA` as {@link readManifest}.
 */
export async function repairRoot(root: string, finalize: FinalizeMode = 'worker'): Promise<RepairReport> {
  const state = existsSync(root) ? manifestState(root) : 'missing';
  const rebuild = (state === 'missing' || state === 'unreadable') && hasCaptureData(root);
  if (!rebuild) readManifest(root); // a clear error for a missing or newer capture, before touching it
  acquireLock(root, 'repairing');
  try {
    let rebuilt: RebuildReport | null = null;
    if (rebuild) {
      const r = await rebuildManifest(root);
      writeManifest(root, r.manifest);
      rebuilt = r.report;
    }
    return { ...(await repairCapture(root, readManifest(root), new Finalizer(finalize))), rebuilt };
  } finally {
    releaseLock(root);
  }
}
