import { tableFromIPC } from 'apache-arrow';
import type { DecodedBatch } from './kinds/index.js';
import type { Manifest } from './manifest.js';
import { CaptureReader, decodeIpc, fileMayMatch, overlaps } from './reader.js';
import type { CaptureFile, CaptureGroup, ReadFilter } from './reader.js';

/** What a replay reads: a capture on disk ({@link CaptureReader}) or decoded in memory ({@link CaptureColumns}). */
export interface CaptureSource {
  readonly root: string;
  readonly manifest: Manifest;
  /** Files grouped by rotation group, in replay order. */
  groups(): CaptureGroup[];
  /** True if the file may hold rows matching the filter. */
  mayMatch(file: CaptureFile, filter: ReadFilter): boolean;
  /** Decoded batches of a file, in row order (rows are not filtered: the caller checks each). */
  batches(file: CaptureFile, filter?: ReadFilter): AsyncGenerator<DecodedBatch>;
  /** What a source holds when it holds only part of the capture (columns loaded for a range or symbols). */
  readonly loaded?: LoadedPart;
}

/** The part of a capture that {@link CaptureColumns.load} was asked for. */
export interface LoadedPart {
  readonly from: bigint | null;
  readonly to: bigint | null;
  readonly symbols: readonly string[] | null;
}

/** One decoded record batch kept in memory: Arrow IPC bytes in shared memory. */
export interface ColumnChunk {
  readonly bytes: Uint8Array;
  readonly rowGroup: number | null;
  readonly rows: number;
}

/** The plain data of {@link CaptureColumns}: post it to worker threads, which share its memory (no copy). */
export interface CaptureColumnsData {
  readonly root: string;
  readonly manifest: Manifest;
  readonly groups: readonly {
    readonly name: string;
    readonly files: readonly { readonly file: CaptureFile; readonly chunks: readonly ColumnChunk[] }[];
  }[];
  readonly rows: number;
  readonly bytes: number;
  /** The range and symbols loaded (null: all). */
  readonly loaded: LoadedPart;
}

export interface LoadColumnsOptions {
  /** Only row groups that may hold rows at or after this (ns). */
  readonly from?: bigint;
  /** Only row groups that may hold rows before this (ns). */
  readonly to?: bigint;
  /** Only row groups that may hold these symbols. */
  readonly symbols?: ReadonlySet<string>;
  /** Called after each file with the rows and bytes loaded so far. */
  readonly onProgress?: (p: { readonly files: number; readonly totalFiles: number; readonly rows: number; readonly bytes: number }) => void;
}

/**
 * A capture decoded once into memory, for replaying it many times: a parameter sweep, or a
 * strategy tuned in a loop. Each record batch is kept as Arrow IPC bytes in a
 * `SharedArrayBuffer`, so the decoded columns of one load serve every replay on this thread and,
 * posted as {@link data}, on worker threads too (they map the same memory; nothing is copied).
 * Files are checked against their sha256 and decoded on the decode threads while loading; a
 * replay then only parses the bytes into typed columns and dispatches. Memory: about the size of
 * the decoded columns (roughly 60–100 bytes a row), so this is for captures that fit in memory;
 * larger ones are replayed from disk, streaming.
 *
 * ```ts
 * const columns = await CaptureColumns.load('captures/btc');
 * for (const spread of [1, 2, 3]) {
 *   const engine = new RealtimeEngine(ReplayProvider.open(columns));
 *   …
 * }
 * ```
 */
export class CaptureColumns implements CaptureSource {
  private readonly chunks: ReadonlyMap<string, readonly ColumnChunk[]>;

  private constructor(readonly data: CaptureColumnsData) {
    const m = new Map<string, readonly ColumnChunk[]>();
    for (const g of data.groups) for (const f of g.files) m.set(f.file.path, f.chunks);
    this.chunks = m;
  }

  get root(): string {
    return this.data.root;
  }

  get manifest(): Manifest {
    return this.data.manifest;
  }

  get loaded(): LoadedPart {
    return this.data.loaded;
  }

  /** Rows held. */
  get rows(): number {
    return this.data.rows;
  }

  /** Bytes of memory held (the decoded columns). */
  get bytes(): number {
    return this.data.bytes;
  }

  /**
   * Reads and decodes a capture (or the row groups of it that a range or symbols select).
   * @throws {CaptureError} the capture's errors, as a replay would meet them.
   */
  static async load(root: string, options: LoadColumnsOptions = {}): Promise<CaptureColumns> {
    const reader = CaptureReader.open(root);
    const filter: ReadFilter = {
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.to === undefined ? {} : { to: options.to }),
      ...(options.symbols === undefined ? {} : { symbols: options.symbols }),
      decodeAhead: true,
    };
    const groups = reader.groups();
    const totalFiles = groups.reduce((n, g) => n + g.files.length, 0);
    let rows = 0;
    let bytes = 0;
    let filesDone = 0;
    const out: CaptureColumnsData['groups'][number][] = [];
    for (const g of groups) {
      // The files of a group load at once: the decode threads take them in parallel.
      const files = await Promise.all(
        g.files.map(async (file) => {
          const chunks: ColumnChunk[] = [];
          if (reader.mayMatch(file, filter)) {
            for await (const { bytes: ipc, rowGroup } of reader.ipcBatches(file, filter)) {
              const shared = new Uint8Array(new SharedArrayBuffer(ipc.byteLength));
              shared.set(ipc);
              const n = tableFromIPC(shared).numRows;
              chunks.push({ bytes: shared, rowGroup, rows: n });
              rows += n;
              bytes += ipc.byteLength;
            }
          }
          filesDone++;
          options.onProgress?.({ files: filesDone, totalFiles, rows, bytes });
          return { file, chunks };
        }),
      );
      out.push({ name: g.name, files });
    }
    const loaded: LoadedPart = {
      from: options.from ?? null,
      to: options.to ?? null,
      symbols: options.symbols === undefined ? null : [...options.symbols],
    };
    return new CaptureColumns({ root, manifest: reader.manifest, groups: out, rows, bytes, loaded });
  }

  /** The columns a {@link load} made, from their {@link data} (on a worker thread it was posted to). */
  static from(data: CaptureColumnsData): CaptureColumns {
    return new CaptureColumns(data);
  }

  groups(): CaptureGroup[] {
    return this.data.groups.map((g) => ({ name: g.name, files: g.files.filter((f) => f.chunks.length > 0).map((f) => f.file) }));
  }

  mayMatch(file: CaptureFile, filter: ReadFilter): boolean {
    return fileMayMatch(file, filter);
  }

  async *batches(file: CaptureFile, filter: ReadFilter = {}): AsyncGenerator<DecodedBatch> {
    const rowGroups = file.entry?.rowGroups;
    for (const c of this.chunks.get(file.path) ?? []) {
      if (c.rowGroup !== null && rowGroups !== undefined && !overlaps(rowGroups[c.rowGroup]!, filter)) continue;
      yield* decodeIpc(file, c.rowGroup, c.bytes);
    }
    await Promise.resolve();
  }
}
