import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

import { ALL_SYMBOLS, createStatus, nsToIso } from '@mdcap/core';
import type { Status } from '@mdcap/core';

import { gapEntry, isDataLoss, MAX_GAP_ENTRIES } from './gaps.js';
import { FLUSHED, groupName, layoutFiles, PARQUET_EXT, partitionDir, relativePath, SEGMENT_EXT, utcDate } from './layout.js';
import { fileMetaOf, hasCaptureData, readManifest, writeManifest } from './manifest.js';
import type { Manifest } from './manifest.js';
import { Finalizer } from './finalizer.js';
import type { FinalizeMode } from './finalizer.js';
import { acquireLock, releaseLock } from './lock.js';
import { finalizedStatuses, groupOf, planSegment, rewriteSegment, usedBetween, writeStatusSegment } from './repair-plan.js';
import type { FoundSegment } from './repair-plan.js';

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

/**
 * Every `*.arrows` segment under a root, in group order. With `removeTmp` (repair, under the
 * lock), stray `*.tmp` files of an interrupted finalization are removed too; readers leave them
 * alone, since a live recorder may be writing one.
 */
export function findSegments(root: string, removeTmp = false): FoundSegment[] {
  if (removeTmp) for (const f of layoutFiles(root, '.tmp')) unlinkSync(join(root, f.rel));
  return layoutFiles(root, SEGMENT_EXT).sort((a, b) => (groupOf(a.rel) < groupOf(b.rel) ? -1 : 1));
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
