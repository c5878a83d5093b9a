import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import type { RecordBatch } from 'apache-arrow';
import { ALL_SYMBOLS, CaptureError } from '@mdcap/core';
import { DecodeAhead } from './decode-ahead.js';
import { decodeBatch } from './kinds/index.js';
import type { CaptureKind, DecodedBatch } from './kinds/index.js';
import { PARQUET_EXT, partitionValueDecode, SEGMENT_EXT } from './layout.js';
import { readManifest } from './manifest.js';
import type { FileEntry, Manifest, RowGroupStats } from './manifest.js';
import { confirmedFlush, findSegments } from './repair.js';
import { corrupt, parquetIpcBatches } from './parquet-read.js';
import type { IpcBatch } from './parquet-read.js';
import { pieceWhere, segmentPieces } from './segment.js';
import type { SegmentPiece } from './segment.js';

/** One file of a capture: a finalized Parquet file, or a segment not finalized yet. */
export interface CaptureFile {
  readonly kind: CaptureKind;
  readonly venue: string;
  readonly date: string;
  readonly group: string;
  /** Absolute path. */
  readonly path: string;
  readonly format: 'parquet' | 'arrow';
  /** The manifest entry (Parquet files only). */
  readonly entry: FileEntry | null;
}

/** A rotation group: the files of all kinds that share a `g…` name, read together in replay. */
export interface CaptureGroup {
  readonly name: string;
  readonly files: readonly CaptureFile[];
}

export interface ReadFilter {
  /**
   * Only rows with ts_recv at or after this (ns). Parquet row groups that end before it are not
   * read, nor are the rows before it at the start of the first row group read (found from its
   * ts_recv column alone). Rows are not filtered one by one: where receive times are not in
   * order, a row before `from` can still come, and callers drop it (the replay does).
   */
  readonly from?: bigint;
  /** Only rows with ts_recv before this (ns). */
  readonly to?: bigint;
  readonly symbols?: ReadonlySet<string>;
  /** Rows per decoded batch (default 65,536). */
  readonly batchSize?: number;
  /**
   * Check each Parquet file's sha256 against the manifest before decoding it (default true).
   * Parquet pages carry no checksum here, so a flipped bit would otherwise decode into wrong
   * values; hashing costs a few percent of decoding.
   */
  readonly verifyHashes?: boolean;
  /**
   * Segments: skip chunks that fail their CRC-32 (and damaged bytes) instead of failing with
   * `MDCAP_ERR_CAPTURE_CORRUPT` (`mdcap verify` counts them itself). Default false.
   */
  readonly skipDamaged?: boolean;
  /**
   * Decode Parquet files on a worker thread, ahead of the caller (default false here; replays
   * turn it on): the wasm decoder and the copy out of it leave the calling thread, which only
   * parses the Arrow IPC bytes handed over (without a copy) into typed columns.
   */
  readonly decodeAhead?: boolean;
  /**
   * With `decodeAhead`: abort it when leaving a file before its end. The decode thread then
   * drops the batches it was asked for ahead and not started yet (a seek or a stop does not
   * wait for them, nor do the files read next), and the file's batches end there, short of its
   * end: only abort what you no longer read.
   */
  readonly signal?: AbortSignal;
}

/** True if a file may hold rows matching the filter, by its recorded statistics (a segment's are unknown: true). */
export function fileMayMatch(file: CaptureFile, filter: ReadFilter): boolean {
  if (file.entry === null) return true;
  return file.entry.rowGroups.some((rg) => overlaps(rg, filter));
}

/**
 * The decoded batches of one Arrow IPC stream read from `file` (row group `rowGroup`), each
 * batch first passed through `keep` (which may cut it short or drop it: null); a decoding
 * failure names the file and row group (`MDCAP_ERR_CAPTURE_CORRUPT`).
 */
export function decodeIpc(
  file: CaptureFile,
  rowGroup: number | null,
  bytes: Uint8Array,
  keep: (b: RecordBatch) => RecordBatch | null = (b) => b,
): DecodedBatch[] {
  try {
    return tableFromIPC(bytes).batches.flatMap((b) => {
      const kept = keep(b);
      return kept === null || kept.numRows === 0 ? [] : [decodeBatch(file.kind, kept)];
    });
  } catch (error) {
    throw corrupt(file, rowGroup, error);
  }
}

/** True if a row group's statistics allow rows the filter selects. */
export function overlaps(rg: RowGroupStats, f: ReadFilter): boolean {
  if (f.from !== undefined && BigInt(rg.tsRecvMax) < f.from) return false;
  if (f.to !== undefined && BigInt(rg.tsRecvMin) >= f.to) return false;
  // Venue-wide statuses (symbol `*`) concern every symbol.
  if (f.symbols !== undefined && !rg.symbols.some((s) => s === ALL_SYMBOLS || f.symbols!.has(s))) return false;
  return true;
}

/**
 * Reads a capture root: the manifest, the finalized Parquet files (streamed through
 * parquet-wasm's row-group reader, never loaded whole) and any segment not finalized yet.
 * Row groups are skipped by the statistics the writer recorded (time range, symbols).
 */
export class CaptureReader {
  private constructor(
    readonly root: string,
    readonly manifest: Manifest,
    private readonly segments: readonly CaptureFile[],
    /** Rows of segments at or above this recv_seq are not confirmed by a finished flush (see CaptureWriter.flush). */
    private readonly cutoff: bigint | null,
  ) {}

  /**
   * @throws {CaptureError} `MDCAP_ERR_CAPTURE_NOT_FOUND`, `MDCAP_ERR_CAPTURE_SCHEMA`,
   *   `MDCAP_ERR_CAPTURE_CORRUPT` (a listed file missing or of the wrong size).
   */
  static open(root: string): CaptureReader {
    readManifest(root); // a clear error for a missing, empty or newer capture
    // Segments first, then the manifest: a segment finalized in between is then listed in the
    // manifest we read (and skipped below), never missing from both.
    const found = findSegments(root);
    const manifest = readManifest(root);
    for (const f of manifest.files) {
      const path = join(root, f.path);
      if (!existsSync(path)) {
        throw new CaptureError(
          'MDCAP_ERR_CAPTURE_CORRUPT',
          `capture ${root}: expected ${f.path} (listed in the manifest), found no such file`,
          {
            details: { path: f.path },
          },
        );
      }
      const size = statSync(path).size;
      if (size !== f.bytes) {
        throw new CaptureError(
          'MDCAP_ERR_CAPTURE_CORRUPT',
          `${path}: expected ${f.bytes} bytes as the manifest says, found ${size} (truncated or replaced)`,
          {
            details: { path: f.path },
          },
        );
      }
    }
    // A segment whose Parquet file is already listed was finalized; a crash (or a reader racing
    // the recorder) caught it before its deletion: the Parquet file holds the same rows.
    const listed = new Set(manifest.files.map((f) => f.path.slice(0, -PARQUET_EXT.length)));
    const unfinalized = found.filter((s) => !listed.has(s.rel.slice(0, -SEGMENT_EXT.length)));
    const segments: CaptureFile[] = unfinalized.map(({ kind, rel }) => {
      const parts = rel.split('/');
      return {
        kind,
        venue: partitionValueDecode(parts[1]!.slice('venue='.length)),
        date: parts[2]!.slice('date='.length),
        group: parts[3]!.slice(0, -SEGMENT_EXT.length),
        path: join(root, rel),
        format: 'arrow',
        entry: null,
      };
    });
    const open = manifest.sessions.filter((x) => x.end === null);
    return new CaptureReader(root, manifest, segments, confirmedFlush(root, open[open.length - 1]?.id));
  }

  /** Every file, finalized or not. */
  files(): CaptureFile[] {
    const parquet: CaptureFile[] = this.manifest.files.map((entry) => ({
      kind: entry.kind,
      venue: entry.venue,
      date: entry.date,
      group: entry.group,
      path: join(this.root, entry.path),
      format: 'parquet',
      entry,
    }));
    return [...parquet, ...this.segments];
  }

  /** Files grouped by rotation group, in replay order. */
  groups(): CaptureGroup[] {
    const by = new Map<string, CaptureFile[]>();
    for (const f of this.files()) {
      let list = by.get(f.group);
      if (list === undefined) by.set(f.group, (list = []));
      list.push(f);
    }
    return [...by.keys()].sort().map((name) => ({ name, files: by.get(name)! }));
  }

  /** True if the file may hold rows matching the filter (by its recorded statistics). */
  mayMatch(file: CaptureFile, filter: ReadFilter): boolean {
    return fileMayMatch(file, filter);
  }

  /**
   * Decoded batches of a file, in row order. Row groups the filter excludes are not read; rows of
   * the groups read are not filtered (the caller checks each row).
   * @throws {CaptureError} `MDCAP_ERR_CAPTURE_CORRUPT` naming the file and row group.
   */
  async *batches(file: CaptureFile, filter: ReadFilter = {}): AsyncGenerator<DecodedBatch> {
    if (file.format === 'arrow' && !existsSync(file.path)) {
      // Finalized since open: its Parquet file, up to where the segment would have been read.
      const parquet = this.finalizedInstead(file);
      for await (const { bytes, rowGroup } of this.parquetIpc(parquet, filter)) {
        let cut = false;
        yield* decodeIpc(parquet, rowGroup, bytes, (b) => {
          const kept = this.confirmed(b);
          if (kept === null || kept.numRows < b.numRows) cut = true;
          return kept;
        });
        if (cut) return; // the rest was flushed after open()
      }
      return;
    }
    if (file.format === 'arrow') {
      for (const b of this.segmentBatches(file, filter)) {
        let decoded: DecodedBatch;
        try {
          decoded = decodeBatch(file.kind, b);
        } catch (error) {
          throw corrupt(file, null, error);
        }
        yield decoded;
      }
      return;
    }
    for await (const { bytes, rowGroup } of this.parquetIpc(file, filter)) yield* decodeIpc(file, rowGroup, bytes);
  }

  /**
   * The record batches of a file as Arrow IPC stream bytes, each in a buffer of its own (what
   * {@link batches} decodes; `CaptureColumns` keeps them). Same filter and errors as `batches`.
   */
  async *ipcBatches(file: CaptureFile, filter: ReadFilter = {}): AsyncGenerator<IpcBatch> {
    if (file.format === 'arrow' && !existsSync(file.path)) {
      // Finalized since open: its Parquet file, up to where the segment would have been read.
      for await (const x of this.parquetIpc(this.finalizedInstead(file), filter)) {
        if (this.cutoff === null) {
          yield x;
          continue;
        }
        let cut = false;
        const kept = tableFromIPC(x.bytes).batches.flatMap((b) => {
          const k = this.confirmed(b);
          if (k === null || k.numRows < b.numRows) cut = true;
          return k === null || k.numRows === 0 ? [] : [k];
        });
        if (!cut) yield x;
        else if (kept.length > 0) yield { bytes: tableToIPC(new Table(kept), 'stream'), rowGroup: x.rowGroup };
        if (cut) return; // the rest was flushed after open()
      }
      return;
    }
    if (file.format === 'arrow') {
      for (const b of this.segmentBatches(file, filter)) yield { bytes: tableToIPC(new Table(b), 'stream'), rowGroup: null };
      return;
    }
    yield* this.parquetIpc(file, filter);
  }

  /**
   * The rows of a batch that a flush had confirmed when this reader opened (all of them without
   * a cutoff), or null for none: what reading the segment would have given. The Parquet file of
   * a segment finalized since then also holds the rows flushed later, which the other kinds'
   * segments are not read for (the replay is a snapshot as of open()).
   */
  private confirmed(b: RecordBatch): RecordBatch | null {
    const cutoff = this.cutoff;
    const n = b.numRows;
    if (cutoff === null || n === 0) return b;
    const seq = b.getChild('recv_seq')!;
    if ((seq.get(n - 1) as bigint) < cutoff) return b;
    // Rows are in recv_seq order: the first at or past the cutoff, by bisection.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((seq.get(mid) as bigint) >= cutoff) hi = mid;
      else lo = mid + 1;
    }
    return lo === 0 ? null : b.slice(0, lo);
  }

  /** A segment a live recorder finalized since open(): its Parquet file, which holds the same rows. */
  private finalizedInstead(file: CaptureFile): CaptureFile {
    const parquet = `${file.path.slice(0, -SEGMENT_EXT.length)}${PARQUET_EXT}`;
    const entry = readManifest(this.root).files.find((f) => join(this.root, f.path) === parquet);
    if (entry === undefined) {
      throw new CaptureError(
        'MDCAP_ERR_IO',
        `${file.path}: cannot read the segment: it is gone, and no Parquet file was listed in its place`,
      );
    }
    return { ...file, path: parquet, format: 'parquet', entry };
  }

  private parquetIpc(file: CaptureFile, filter: ReadFilter): AsyncGenerator<IpcBatch> | [] {
    const entry = file.entry!;
    const wanted = entry.rowGroups.map((rg, i) => (overlaps(rg, filter) ? i : -1)).filter((i) => i >= 0);
    if (wanted.length === 0) return [];
    return filter.decodeAhead === true
      ? DecodeAhead.shared().ipcBatches(file, wanted, filter)
      : parquetIpcBatches(file, wanted, filter.batchSize ?? 65_536, filter.verifyHashes !== false, filter.from, filter.signal);
  }

  /** The record batches of a segment, up to a torn tail or an unfinished flush. */
  private *segmentBatches(file: CaptureFile, filter: ReadFilter): Generator<RecordBatch> {
    let pieces: Generator<SegmentPiece>;
    try {
      pieces = segmentPieces(file.path);
    } catch (error) {
      throw new CaptureError('MDCAP_ERR_IO', `${file.path}: cannot read the segment: ${(error as Error).message}`, { cause: error });
    }
    let index = 0;
    for (const p of pieces) {
      if (p.type === 'tail') return; // a torn tail (a recorder still writing, or crashed) is not read
      if (p.type === 'damaged' || !p.ok) {
        if (filter.skipDamaged === true) continue;
        throw new CaptureError(
          'MDCAP_ERR_CAPTURE_CORRUPT',
          `${file.path}: expected chunks that match their CRC-32, found ${p.type === 'damaged' ? 'damaged bytes' : 'a damaged chunk'} at ${pieceWhere(p, index)} (mdcap verify lists them; --repair cuts them and records the loss as a gap)`,
          { details: { path: file.path, offset: p.start } },
        );
      }
      index++;
      if (this.cutoff !== null && p.trailer !== null && p.trailer.firstRecvSeq >= this.cutoff) return; // an unfinished flush
      let batches: RecordBatch[];
      try {
        batches = tableFromIPC(p.bytes).batches;
      } catch (error) {
        throw corrupt(file, null, error);
      }
      for (const b of batches) {
        if (this.cutoff !== null && b.numRows > 0 && firstRecvSeq(b) >= this.cutoff) return; // an unfinished flush
        yield b;
      }
    }
  }
}

/** recv_seq of a record batch's first row. */
function firstRecvSeq(b: RecordBatch): bigint {
  return b.getChild('recv_seq')?.get(0) as bigint;
}
