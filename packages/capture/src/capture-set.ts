import { relative, resolve } from 'node:path';
import { CaptureError } from '@mdcap/core';
import type { CaptureSource } from './capture-columns.js';
import type { DecodedBatch } from './kinds/index.js';
import { captureSpan } from './manifest.js';
import type { InstrumentEntry, Manifest, SessionEntry } from './manifest.js';
import { CaptureReader } from './reader.js';
import type { CaptureFile, CaptureGroup, ReadFilter } from './reader.js';

/** The time a capture covers: its first session's start to its last recorded time. */
function span(m: Manifest): { start: bigint; end: bigint } | null {
  const { start, end } = captureSpan(m);
  if (start === null) return null;
  return { start, end: end !== null && end > start ? end : start };
}

/**
 * A batch of root `k` seen through the set: its `recv_seq` numbers moved past every earlier
 * root's (each capture counts from its own start), so a replay's session logic sees one
 * increasing counter. The columns are the root's own (not copied, not changed).
 */
function shifted(b: DecodedBatch, offset: number): DecodedBatch {
  const view = Object.create(b) as DecodedBatch & { recvSeqNumber(i: number): number };
  view.recvSeqNumber = (i: number): number => b.recvSeqNumber(i) + offset;
  return view;
}

/**
 * Several capture roots read as one capture: a date range kept in several folders (a folder a
 * day, a week per disk, or object-storage mounts). Each root is a complete capture with its own
 * manifest; their times must not overlap. They replay one after another in time order, each
 * root's recording sessions in turn, so the hole between two roots is a session boundary: the
 * replay marks it with a `gap` status, as it marks the holes between sessions of one capture.
 *
 * `recv_seq` restarts in every capture; the set numbers rows of later roots after the earlier
 * ones' (its manifest's sessions and `recvSeqNumber` of its batches), leaving the files as they
 * are. A set is read-only: record, import and repair work on one root at a time.
 *
 * `new RealtimeEngine(ReplayProvider.open(CaptureSet.open([a, b])))`, or `mdcap replay A B`.
 */
export class CaptureSet implements CaptureSource {
  /** The earliest root: file paths of {@link manifest} are relative to it. */
  readonly root: string;
  /** The roots in replay order (by time). */
  readonly roots: readonly string[];
  /** One manifest for the whole set (see the class comment); written nowhere. */
  readonly manifest: Manifest;
  private readonly readers: readonly CaptureReader[];
  private readonly offsets: readonly number[];
  private readonly byPath = new Map<string, number>();

  private constructor(readers: readonly CaptureReader[]) {
    this.readers = readers;
    this.roots = readers.map((r) => r.root);
    this.root = readers[0]!.root;
    const offsets: number[] = [];
    let next = 0;
    for (const r of readers) {
      offsets.push(next);
      next += Number(r.manifest.nextRecvSeq);
    }
    this.offsets = offsets;
    readers.forEach((r, k) => {
      for (const f of r.files()) this.byPath.set(f.path, k);
    });
    this.manifest = this.merge(next);
  }

  /**
   * Opens the captures at `roots` (in any order) as one.
   * @throws {CaptureError} what {@link CaptureReader.open} throws for each root, naming it;
   *   `MDCAP_ERR_CAPTURE_OVERLAP` for roots whose times overlap (or the same root twice); and
   *   `MDCAP_ERR_CAPTURE_CORRUPT` for a root other than the last whose last session has no end
   *   (interrupted: `mdcap verify --repair` it first, so that its loss is recorded).
   */
  static open(roots: readonly string[]): CaptureSet {
    if (roots.length === 0)
      throw new CaptureError('MDCAP_ERR_CAPTURE_NOT_FOUND', 'capture set: expected one or more capture roots, found none');
    const readers = roots.map((r) => CaptureReader.open(resolve(r)));
    const spans = readers.map((r) => ({ r, s: span(r.manifest) }));
    const empty = spans.filter((x) => x.s === null).map((x) => x.r);
    const timed = spans.filter((x): x is { r: CaptureReader; s: { start: bigint; end: bigint } } => x.s !== null);
    timed.sort((a, b) => (a.s.start < b.s.start ? -1 : a.s.start > b.s.start ? 1 : 0));
    for (let k = 1; k < timed.length; k++) {
      const a = timed[k - 1]!;
      const b = timed[k]!;
      if (b.s.start < a.s.end || a.r.root === b.r.root) {
        throw new CaptureError(
          'MDCAP_ERR_CAPTURE_OVERLAP',
          `capture set: expected captures whose times do not overlap, found ${a.r.root} (${a.s.start} to ${a.s.end} ns) and ${b.r.root} (from ${b.s.start} ns)${a.r.root === b.r.root ? ' (the same capture twice)' : ''}`,
          { details: { roots: [a.r.root, b.r.root] } },
        );
      }
    }
    for (const { r } of timed.slice(0, -1)) {
      const last = r.manifest.sessions[r.manifest.sessions.length - 1]!;
      if (last.end === null) {
        throw new CaptureError(
          'MDCAP_ERR_CAPTURE_CORRUPT',
          `capture set: expected every capture but the last to have ended, found ${r.root} with session ${last.id} interrupted (run mdcap verify --repair ${r.root}: it records what was lost)`,
          { details: { root: r.root } },
        );
      }
    }
    return new CaptureSet([...empty, ...timed.map((x) => x.r)]);
  }

  private merge(nextRecvSeq: number): Manifest {
    const first = this.readers[0]!.manifest;
    const rel = (k: number, p: string): string => relative(this.root, resolve(this.roots[k]!, p));
    const sessions: SessionEntry[] = [];
    const instruments = new Map<string, InstrumentEntry>();
    const symbols = new Set<string>();
    const feeds = new Set<string>();
    this.readers.forEach((r, k) => {
      const m = r.manifest;
      const off = BigInt(this.offsets[k]!);
      feeds.add(m.feed);
      for (const s of m.symbols) symbols.add(s);
      for (const i of m.instruments) instruments.set(`${i.venue}\u0000${i.symbol}`, i);
      for (const s of m.sessions) {
        sessions.push({
          ...s,
          id: sessions.length + 1,
          firstRecvSeq: (BigInt(s.firstRecvSeq) + off).toString(),
          lastRecvSeq: s.lastRecvSeq === null ? null : (BigInt(s.lastRecvSeq) + off).toString(),
          ...(s.executions !== undefined && { executions: s.executions.map((e) => ({ ...e, path: rel(k, e.path) })) }),
        });
      }
    });
    return {
      ...first,
      feed: [...feeds].join('+'),
      symbols: [...symbols],
      instruments: [...instruments.values()],
      sessions,
      files: this.readers.flatMap((r, k) => r.manifest.files.map((f) => ({ ...f, path: rel(k, f.path) }))),
      gaps: this.readers.flatMap((r) => r.manifest.gaps),
      nextRecvSeq: String(nextRecvSeq),
      sequencing: Object.assign({}, ...this.readers.map((r) => r.manifest.sequencing)) as Manifest['sequencing'],
    };
  }

  /** Every file of every root, finalized or not. */
  files(): CaptureFile[] {
    return this.readers.flatMap((r) => r.files());
  }

  /** Every root's rotation groups, root after root (each root's in its own order). */
  groups(): CaptureGroup[] {
    return this.readers.flatMap((r) => r.groups());
  }

  mayMatch(file: CaptureFile, filter: ReadFilter): boolean {
    return this.readerOf(file).mayMatch(file, filter);
  }

  async *batches(file: CaptureFile, filter: ReadFilter = {}): AsyncGenerator<DecodedBatch> {
    const k = this.indexOf(file);
    const offset = this.offsets[k]!;
    for await (const b of this.readers[k]!.batches(file, filter)) yield offset === 0 ? b : shifted(b, offset);
  }

  /** The capture of a root (its own manifest, files and recv_seq). */
  reader(root: string): CaptureReader {
    const k = this.roots.indexOf(resolve(root));
    if (k < 0)
      throw new CaptureError('MDCAP_ERR_CAPTURE_NOT_FOUND', `capture set: expected one of ${this.roots.join(', ')}, found ${root}`);
    return this.readers[k]!;
  }

  private indexOf(file: CaptureFile): number {
    const k = this.byPath.get(file.path);
    if (k === undefined) {
      throw new CaptureError('MDCAP_ERR_CAPTURE_NOT_FOUND', `capture set: expected a file of ${this.roots.join(', ')}, found ${file.path}`);
    }
    return k;
  }

  private readerOf(file: CaptureFile): CaptureReader {
    return this.readers[this.indexOf(file)]!;
  }
}
