import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CAPTURE_KINDS } from './kinds/index.js';
import type { CaptureKind } from './kinds/index.js';

/**
 * Where things live in a capture root (Hive-style, so DuckDB, Spark, polars and pyarrow read
 * the Parquet files directly):
 *
 *     <root>/manifest.json
 *     <root>/<kind>/venue=<venue>/date=<YYYY-MM-DD>/g<first recv_seq, 16 digits>.parquet
 *     <root>/<kind>/venue=<venue>/date=<YYYY-MM-DD>/g<...>.arrows     (open or unfinalized segment)
 *
 * All files of one rotation group share the `g…` name across kinds; sorting names sorts groups
 * in replay order. The date is the UTC date of `ts_recv`.
 */

export const MANIFEST = 'manifest.json';
export const LOCK = '.lock';
/** The recorder's flush confirmation: `<session id> <recv_seq below which all rows are on disk>`. */
export const FLUSHED = '.flushed';
export const SEGMENT_EXT = '.arrows';
export const PARQUET_EXT = '.parquet';

/**
 * A partition value safe in a path: every byte of its UTF-8 form outside `A-Z a-z 0-9 . _ -`
 * becomes `%XX` (as Hive and URLs escape), so distinct values never share a directory.
 */
export function partitionValue(v: string): string {
  let out = '';
  for (const b of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function partitionValueDecode(v: string): string {
  return decodeURIComponent(v);
}

/** UTC date of a ns timestamp, `YYYY-MM-DD`. */
export function utcDate(ns: bigint): string {
  const day = ns >= 0n ? ns / 86_400_000_000_000n : (ns - 86_399_999_999_999n) / 86_400_000_000_000n;
  return new Date(Number(day) * 86_400_000).toISOString().slice(0, 10);
}

/** Group name: `g` and the group's first recv_seq, zero-padded so names sort numerically. */
export function groupName(firstRecvSeq: bigint): string {
  return `g${firstRecvSeq.toString().padStart(16, '0')}`;
}

export function partitionDir(root: string, kind: CaptureKind, venue: string, date: string): string {
  return join(root, kind, `venue=${partitionValue(venue)}`, `date=${date}`);
}

/** Path of a file relative to the root, with `/` separators (as the manifest stores it). */
export function relativePath(kind: CaptureKind, venue: string, date: string, group: string, ext: string): string {
  return `${kind}/venue=${partitionValue(venue)}/date=${date}/${group}${ext}`;
}

/** The files under a root's `<kind>/venue=…/date=…/` directories whose names end with `ext`. */
export function layoutFiles(root: string, ext: string): { kind: CaptureKind; rel: string }[] {
  const out: { kind: CaptureKind; rel: string }[] = [];
  for (const kind of CAPTURE_KINDS) {
    const kdir = join(root, kind);
    if (!existsSync(kdir)) continue;
    for (const v of readdirSync(kdir)) {
      if (!v.startsWith('venue=')) continue;
      for (const d of readdirSync(join(kdir, v))) {
        if (!d.startsWith('date=')) continue;
        for (const f of readdirSync(join(kdir, v, d))) if (f.endsWith(ext)) out.push({ kind, rel: `${kind}/${v}/${d}/${f}` });
      }
    }
  }
  return out;
}
