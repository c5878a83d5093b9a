import {
  closeSync,
  existsSync,
  fsyncSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  truncateSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { ALL_SYMBOLS, createStatus, nsToIso } from '@mdcap/core';
import { scanChunks } from './ipc.js';
import { CAPTURE_KINDS, createRowBuilder, decodeBatch } from './kinds.js';
import type { CaptureKind, DecodedBatch } from './kinds.js';
import { isDataLoss, MAX_GAP_ENTRIES } from './gaps.js';
import { FLUSHED, groupName, partitionDir, relativePath, SEGMENT_EXT, utcDate } from './layout.js';
import { readManifest, writeManifest } from './manifest.js';
import type { Manifest } from './manifest.js';
import { Finalizer } from './finalizer.js';
import type { FinalizeMode } from './finalizer.js';
import { acquireLock, releaseLock } from './lock.js';

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
  const out: FoundSegment[] = [];
  for (const kind of CAPTURE_KINDS) {
    const kdir = join(root, kind);
    if (!existsSync(kdir)) continue;
    for (const v of readdirSync(kdir)) {
      if (!v.startsWith('venue=')) continue;
      for (const d of readdirSync(join(kdir, v))) {
        if (!d.startsWith('date=')) continue;
        const dir = join(kdir, v, d);
        for (const f of readdirSync(dir)) {
          if (f.endsWith('.tmp')) {
            if (removeTmp) unlinkSync(join(dir, f));
          } else if (f.endsWith(SEGMENT_EXT)) out.push({ kind, rel: `${kind}/${v}/${d}/${f}` });
        }
      }
    }
  }
  return out.sort((a, b) => (a.rel.split('/')[3]! < b.rel.split('/')[3]! ? -1 : 1));
}

/** The interrupted session's confirmed flush (see CaptureWriter.flush), or null if unknown. */
export function confirmedFlush(root: string, session: number | undefined): bigint | null {
  const path = join(root, FLUSHED);
  if (session === undefined || !existsSync(path)) return null;
  const m = /^(\d+) (\d+)/.exec(readFileSync(path, 'latin1'));
  return m !== null && Number(m[1]) === session ? BigInt(m[2]!) : null;
}

/** Adds the data-loss statuses of recovered rows to the manifest's gap summary (written after the crash's last manifest update). */
function noteLosses(manifest: Manifest, b: DecodedBatch): void {
  const seen = new Set(manifest.gaps.map((g) => `${g.tsRecv} ${g.venue} ${g.symbol} ${g.kind} ${g.detail}`));
  for (let i = 0; i < b.length && manifest.gaps.length < MAX_GAP_ENTRIES; i++) {
    const e = b.event(i);
    if (e.type !== 'status' || !isDataLoss(e)) continue;
    const k = `${e.tsRecv} ${e.venue} ${e.symbol} ${e.kind} ${e.detail}`;
    if (seen.has(k)) continue;
    seen.add(k);
    manifest.gaps.push({
      venue: e.venue,
      symbol: e.symbol,
      tsRecv: e.tsRecv.toString(),
      kind: e.kind,
      fromSeq: e.fromSeq?.toString() ?? null,
      toSeq: e.toSeq?.toString() ?? null,
      detail: e.detail,
    });
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

/**
 * Brings a capture root back to a consistent state after a crash (`kill -9`, power loss):
 * cuts each segment's torn tail back to its last complete chunk, and the chunks of a flush
 * that did not finish on every segment (rows at or above the last confirmed flush), records the loss as a `gap`
 * status right after the last recovered event, finalizes every segment to Parquet and lists it
 * in the manifest, and closes the interrupted session as not clean. Nothing that was flushed is
 * lost. Safe to run on a healthy root (it finds nothing to do).
 */
export async function repairCapture(root: string, manifest: Manifest, finalizer: Finalizer): Promise<RepairReport> {
  const segments = findSegments(root, true);
  const open = manifest.sessions.filter((s) => s.end === null);
  let truncated = 0;
  let tornBytes = 0;
  let maxSeq = -1n;
  let maxTs: bigint | null = null;
  let lastDetail: string | null = null; // detail of the last recovered row, if a status
  const kept: FoundSegment[] = [];
  // Rows at or above the last confirmed flush of the interrupted session were written by a
  // flush that did not finish on every segment: they go, so the loss is a suffix, not a hole.
  const cutoff = confirmedFlush(root, open[open.length - 1]?.id);
  for (const seg of segments) {
    const path = join(root, seg.rel);
    const bytes = readFileSync(path);
    const scan = scanChunks(bytes);
    let keep = scan.goodLength;
    chunks: for (let start = 0, k = 0; k < scan.chunkEnds.length; k++) {
      const end = scan.chunkEnds[k]!;
      for (const batch of tableFromIPC(bytes.subarray(start, end)).batches) {
        const rs = batch.getChild('recv_seq')!.data[0]!.values as BigUint64Array;
        const ts = batch.getChild('ts_recv')!.data[0]!.values as BigInt64Array;
        if (cutoff !== null && rs.length > 0 && rs[0]! >= cutoff) {
          keep = start; // this chunk and the ones after it were never confirmed
          break chunks;
        }
        if (seg.kind === 'status') noteLosses(manifest, decodeBatch('status', batch));
        for (let i = 0; i < rs.length; i++) {
          if (rs[i]! > maxSeq) {
            maxSeq = rs[i]!;
            maxTs = ts[i]!;
            lastDetail = seg.kind === 'status' ? String(batch.getChild('detail')?.get(i) ?? '') : null;
          }
        }
      }
      start = end;
    }
    if (keep < bytes.byteLength) {
      truncated++;
      tornBytes += bytes.byteLength - keep;
      truncateSync(path, keep);
      syncFile(path); // the cut must survive a power loss before the session is closed
    }
    if (keep === 0) {
      unlinkSync(path); // nothing in it was ever completely flushed
      continue;
    }
    kept.push(seg);
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
      const builder = createRowBuilder('status');
      builder.append(gap, gapSeq);
      mkdirSync(partitionDir(root, 'status', interrupted.feed, date), { recursive: true });
      const rel = relativePath('status', interrupted.feed, date, group, SEGMENT_EXT);
      const fd = openSync(join(root, rel), 'a');
      try {
        writeSync(fd, tableToIPC(builder.table(), 'stream'));
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      if (!kept.some((s) => s.rel === rel)) kept.push({ kind: 'status', rel });
    }
    manifest.gaps.push({
      venue: gap.venue,
      symbol: gap.symbol,
      tsRecv: ts.toString(),
      kind: 'gap',
      fromSeq: null,
      toSeq: null,
      detail: gap.detail,
    });
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
    const entry = await finalizer.run(root, seg.rel, seg.kind);
    const at = manifest.files.findIndex((f) => f.path === entry.path);
    if (at >= 0) manifest.files[at] = entry;
    else manifest.files.push(entry);
    writeManifest(root, manifest);
    unlinkSync(join(root, seg.rel));
    finalized++;
  }
  await finalizer.close();
  if (segments.length > 0 || interrupted !== undefined) writeManifest(root, manifest);
  if (existsSync(join(root, FLUSHED))) unlinkSync(join(root, FLUSHED)); // its session is closed now
  return { segments: segments.length, truncated, tornBytes, finalized, session };
}

/**
 * `mdcap verify --repair`: takes the root's lock, repairs what an interrupted recording left
 * (see {@link repairCapture}) and releases the lock.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_LOCKED` while a recorder is writing to the root,
 *   `MDCAP_ERR_CAPTURE_NOT_FOUND` / `_SCHEMA` as {@link readManifest}.
 */
export async function repairRoot(root: string, finalize: FinalizeMode = 'worker'): Promise<RepairReport> {
  readManifest(root); // a clear error for a missing or newer capture, before touching it
  acquireLock(root, 'repairing');
  try {
    return await repairCapture(root, readManifest(root), new Finalizer(finalize));
  } finally {
    releaseLock(root);
  }
}
