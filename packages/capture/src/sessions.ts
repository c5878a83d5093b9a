import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { nsToIso } from '@mdcap/core';
import { layoutFiles, PARQUET_EXT, SEGMENT_EXT } from './layout.js';
import type { Manifest, SessionEntry, SourceFile } from './manifest.js';

/**
 * Why an import would not fit a capture: a capture replays in the order it was recorded
 * (recv_seq), so a new session must start where the capture ends, and a file imported twice
 * would count its data twice.
 */
export interface ImportOverlap {
  /** Sessions that end after the import starts (its data would replay back in time, or twice). */
  readonly later: readonly SessionEntry[];
  /** Files already imported (same sha256), and the session that imported each. */
  readonly sameFile: readonly { readonly session: SessionEntry; readonly file: string }[];
}

/** The end of a session as far as it is known (its start while it runs, or after a crash). */
function endOf(s: SessionEntry): bigint {
  return BigInt(s.end ?? s.start);
}

/** How an import of `sources` starting at `start` (ns) overlaps what a capture holds; null if it does not. */
export function importOverlap(m: Manifest, start: bigint, sources: readonly SourceFile[]): ImportOverlap | null {
  const later = m.sessions.filter((s) => endOf(s) > start);
  const sameFile: { session: SessionEntry; file: string }[] = [];
  for (const s of m.sessions) {
    for (const f of s.sources ?? []) if (sources.some((x) => x.sha256 === f.sha256)) sameFile.push({ session: s, file: f.file });
  }
  return later.length === 0 && sameFile.length === 0 ? null : { later, sameFile };
}

/** One line about an overlap, for an error: what the capture holds that the import meets. */
export function describeOverlap(o: ImportOverlap): string {
  const parts: string[] = [];
  for (const session of new Set(o.sameFile.map((x) => x.session))) {
    const files = o.sameFile.filter((x) => x.session === session).map((x) => x.file);
    parts.push(`${files.join(' and ')} ${files.length === 1 ? 'was' : 'were'} already imported as session ${session.id}`);
  }
  for (const s of o.later) {
    if (o.sameFile.some((x) => x.session === s)) continue;
    parts.push(`session ${s.id} (${s.feed}, ${nsToIso(BigInt(s.start))} to ${nsToIso(endOf(s))}) ends after it starts`);
  }
  return parts.join('; ');
}

/**
 * Removes sessions and their data from a capture (under the caller's lock): the Parquet files
 * and segments of their rotation groups, their gap summary entries, and their session entries.
 * recv_seq numbers are not reused. Returns the files removed.
 */
export function removeSessions(root: string, m: Manifest, ids: ReadonlySet<number>): number {
  const starts = m.sessions.map((s) => BigInt(s.firstRecvSeq)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges = m.sessions
    .filter((s) => ids.has(s.id))
    .map((s) => {
      const first = BigInt(s.firstRecvSeq);
      const next = starts.find((x) => x > first) ?? null;
      return { s, first, next };
    });
  const inRemoved = (group: string): boolean => {
    const g = BigInt(group.slice(1));
    return ranges.some((r) => g >= r.first && (r.next === null || g < r.next));
  };
  let removed = 0;
  for (const ext of [PARQUET_EXT, SEGMENT_EXT]) {
    for (const f of layoutFiles(root, ext)) {
      const name = f.rel.slice(f.rel.lastIndexOf('/') + 1, -ext.length);
      if (!inRemoved(name)) continue;
      const path = join(root, f.rel);
      if (existsSync(path)) unlinkSync(path);
      removed++;
    }
  }
  m.files = m.files.filter((f) => !inRemoved(f.group));
  m.gaps = m.gaps.filter((g) => !ranges.some((r) => BigInt(g.tsRecv) >= BigInt(r.s.start) && BigInt(g.tsRecv) <= endOf(r.s)));
  m.sessions = m.sessions.filter((s) => !ids.has(s.id));
  return removed;
}
