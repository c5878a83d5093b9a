import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { RecordBatch } from 'apache-arrow';
import { parquetWasm } from './parquet-wasm.js';
import type { ParquetWasm } from './parquet-wasm.js';
import { CaptureError } from '@mdcap/core';
import type { SequenceRule } from '@mdcap/core';
import { pieceWhere, segmentPieces } from './segment.js';
import type { CaptureKind } from './kinds/index.js';
import { PARQUET_EXT, partitionValueDecode, SEGMENT_EXT } from './layout.js';
import type { FileEntry, InstrumentEntry, RowGroupStats, SessionEntry } from './manifest.js';

/** Rows per Parquet row group: the unit a reader can skip, and the unit of our statistics. */
export const ROW_GROUP_ROWS = 131_072;

/**
 * Encodings, measured on simulated and recorded data (BENCHMARKS.md): times and sequence
 * numbers rise steadily, so delta encoding shrinks them most; prices and sizes of interleaved
 * symbols jump between rows but take few distinct values, so they keep Parquet's dictionary
 * (which falls back to plain when a row group has too many distinct values); text keeps the
 * dictionary too. zstd over all of it.
 */
const DELTA_COLUMNS: Readonly<Record<CaptureKind, readonly string[]>> = {
  trades: [],
  quotes: [],
  book_updates: [],
  order_updates: [],
  status: ['from_seq', 'to_seq'],
  bars: ['start', 'end'],
};
const COMMON_DELTA = ['ts_recv', 'ts_event', 'recv_seq', 'seq'];

function writerProperties(
  kind: CaptureKind,
  scales: Record<string, { price: number; size: number }>,
  metadata: readonly [string, string][],
): ParquetWasm.WriterProperties {
  const pq = parquetWasm();
  let b = new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression.ZSTD)
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setCreatedBy('mdcap 0.1.0')
    .setKeyValueMetadata(
      new Map([
        ['mdcap.kind', kind],
        ['mdcap.schema', '1'],
        // Mantissa scales per symbol, for engines that read prices without the scale columns.
        ['mdcap.scales', JSON.stringify(scales)],
        // What a manifest needs to be rebuilt from the files alone (see rebuildManifest).
        ...metadata,
      ]),
    );
  for (const c of [...COMMON_DELTA, ...DELTA_COLUMNS[kind]]) {
    b = b.setColumnDictionaryEnabled(c, false).setColumnEncoding(c, pq.Encoding.DELTA_BINARY_PACKED);
  }
  return b.build();
}

/**
 * What a Parquet file carries about its capture besides its rows, so that a manifest that was
 * lost can be rebuilt from the files alone (`mdcap verify --repair`): the capture (feed,
 * creation), the recording session that wrote the file, and the instruments of its symbols.
 */
export interface FileMeta {
  readonly capture?: { readonly created: string; readonly feed: string; readonly sequencing?: Readonly<Record<string, SequenceRule>> };
  readonly session?: SessionEntry;
  readonly instruments?: readonly InstrumentEntry[];
}

/** Key-value metadata of a file: `mdcap.capture`, `mdcap.session`, `mdcap.instruments` (JSON). */
function fileMetadata(meta: FileMeta, symbols: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  if (meta.capture !== undefined) out.push(['mdcap.capture', JSON.stringify(meta.capture)]);
  if (meta.session !== undefined) out.push(['mdcap.session', JSON.stringify(meta.session)]);
  const mine = (meta.instruments ?? []).filter((i) => symbols.includes(i.symbol));
  if (mine.length > 0) out.push(['mdcap.instruments', JSON.stringify(mine)]);
  return out;
}

/**
 * Statistics of the rows, accumulated per row group as the batches go by: row groups of
 * {@link ROW_GROUP_ROWS} (as the Parquet writer cuts them), or of the sizes an existing file has.
 */
export class StatsAccumulator {
  readonly groups: RowGroupStats[] = [];
  constructor(private readonly sizes: readonly number[] = []) {}

  private rows = 0;
  private tsMin = 0n;
  private tsMax = 0n;
  private seqMin = 0n;
  private seqMax = 0n;
  private symbols = new Set<string>();
  readonly scales: Record<string, { price: number; size: number }> = {};
  total = 0;

  add(
    tsRecv: BigInt64Array,
    recvSeq: BigUint64Array,
    symbolCodes: Int32Array,
    symbols: readonly string[],
    priceScale: Uint8Array | null,
    sizeScale: Uint8Array | null,
  ): void {
    for (let i = 0; i < tsRecv.length; i++) {
      const ts = tsRecv[i]!;
      const rs = recvSeq[i]!;
      if (this.rows === 0) {
        this.tsMin = this.tsMax = ts;
        this.seqMin = this.seqMax = rs;
      } else {
        if (ts < this.tsMin) this.tsMin = ts;
        if (ts > this.tsMax) this.tsMax = ts;
        if (rs < this.seqMin) this.seqMin = rs;
        if (rs > this.seqMax) this.seqMax = rs;
      }
      const sym = symbols[symbolCodes[i]!]!;
      this.symbols.add(sym);
      if (priceScale !== null && sizeScale !== null && this.scales[sym] === undefined) {
        this.scales[sym] = { price: priceScale[i]!, size: sizeScale[i]! };
      }
      this.rows++;
      this.total++;
      if (this.rows === (this.sizes[this.groups.length] ?? ROW_GROUP_ROWS)) this.cut();
    }
  }

  /** Adds the rows of a record batch of the capture's layout. */
  addBatch(batch: RecordBatch): void {
    const sym = batch.getChild('symbol')!.data[0]!;
    const hasScale = batch.getChild('price_scale') !== null;
    this.add(
      batch.getChild('ts_recv')!.data[0]!.values as BigInt64Array,
      batch.getChild('recv_seq')!.data[0]!.values as BigUint64Array,
      sym.values as Int32Array,
      sym.dictionary!.toArray() as string[],
      hasScale ? (batch.getChild('price_scale')!.data[0]!.values as Uint8Array) : null,
      hasScale ? (batch.getChild('size_scale')!.data[0]!.values as Uint8Array) : null,
    );
  }

  cut(): void {
    if (this.rows === 0) return;
    this.groups.push({
      rows: this.rows,
      tsRecvMin: this.tsMin.toString(),
      tsRecvMax: this.tsMax.toString(),
      recvSeqMin: this.seqMin.toString(),
      recvSeqMax: this.seqMax.toString(),
      symbols: [...this.symbols].sort(),
    });
    this.rows = 0;
    this.symbols = new Set();
  }
}

/**
 * The chunks of a segment that is to become a Parquet file (each valid until the next is asked
 * for: one reused buffer): every one must be intact. A torn
 * tail, a damaged chunk or one whose bytes fail their CRC stops the finalization (repair cuts
 * them first and records what they held as a gap); nothing damaged is ever written to Parquet.
 */
function* verifiedChunks(path: string): Generator<Uint8Array> {
  let i = 0;
  for (const p of segmentPieces(path, { reuse: true })) {
    if (p.type !== 'chunk' || !p.ok) {
      const what = p.type === 'tail' ? 'a torn tail' : p.type === 'damaged' ? 'damaged bytes' : 'a chunk that fails its CRC-32';
      throw new CaptureError(
        'MDCAP_ERR_CAPTURE_CORRUPT',
        `${path}: expected verified Arrow IPC chunks, found ${what} at ${pieceWhere(p, i)} (run mdcap verify --repair: it cuts them and records the loss as a gap)`,
        { details: { path, offset: p.start } },
      );
    }
    i++;
    yield p.bytes;
  }
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * sha256 of a file, streamed (the event loop keeps turning on big files). An abort of `signal`
 * stops the reading between blocks (it rejects with an `AbortError`).
 */
export async function sha256FileAsync(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, ...(signal === undefined ? {} : { signal }) }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Turns a complete segment (`….arrows`, every chunk verified against its CRC) into a Parquet
 * file (`….parquet`) next to it: zstd, delta encodings, rows in the segment's order (replay
 * order), row groups of {@link ROW_GROUP_ROWS}, `meta` in the file's key-value metadata.
 * Written under a temp name, fsynced and renamed, so a reader never sees a half-written Parquet
 * file; its sha256 is computed as it is written. The segment is left in place (the caller
 * deletes it once the manifest lists the Parquet file). Returns the manifest entry.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_CORRUPT` for a torn or damaged segment (repair
 *   first), `MDCAP_ERR_IO`.
 */
export async function finalizeSegment(root: string, relSegment: string, kind: CaptureKind, meta: FileMeta = {}): Promise<FileEntry> {
  const segPath = join(root, relSegment);
  const pq = parquetWasm();
  // Two passes over the segment, a chunk at a time (memory stays at about one chunk and one row
  // group, whatever the segment's size): statistics first (the scales go into the file's
  // metadata, which the writer needs up front), then the rows.
  const stats = new StatsAccumulator();
  for (const c of verifiedChunks(segPath)) for (const batch of tableFromIPC(c).batches) stats.addBatch(batch);
  stats.cut();
  const relParquet = relSegment.slice(0, -SEGMENT_EXT.length) + PARQUET_EXT;
  const outPath = join(root, relParquet);
  const tmp = `${outPath}.tmp`;
  const chunks = verifiedChunks(segPath);
  const input = new ReadableStream<ParquetWasm.RecordBatch>(
    {
      pull(controller) {
        for (;;) {
          const next = chunks.next();
          if (next.done === true) {
            controller.close();
            return;
          }
          // The wasm Table is freed at once (its batches share its data): wasm memory would
          // otherwise wait for the JS garbage collector, which a small JS heap seldom runs.
          const table = pq.Table.fromIPCStream(next.value);
          const batches = table.recordBatches();
          table.free();
          if (batches.length === 0) continue;
          for (const b of batches) controller.enqueue(b);
          return;
        }
      },
    },
    { highWaterMark: 1 },
  );
  const output = await pq.transformParquetStream(
    input,
    writerProperties(kind, stats.scales, fileMetadata(meta, Object.keys(stats.scales))),
  );
  // The file's hash and size as it is written (it is not read back).
  const hash = createHash('sha256');
  let size = 0;
  const fd = openSync(tmp, 'w');
  try {
    const reader = (output as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done === true) break;
      for (let off = 0; off < value.byteLength;) off += writeSync(fd, value, off, value.byteLength - off);
      hash.update(value);
      size += value.byteLength;
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    if (error instanceof CaptureError) throw error;
    throw new CaptureError('MDCAP_ERR_IO', `${outPath}: writing Parquet failed: ${(error as Error).message}`, { cause: error });
  }
  closeSync(fd);
  renameSync(tmp, outPath);
  syncDir(dirname(outPath));
  return fileEntryOf(relParquet, kind, stats, size, hash.digest('hex'));
}

/** The manifest entry of a Parquet file at `rel` (relative to the root) with these statistics. */
export function fileEntryOf(rel: string, kind: CaptureKind, stats: StatsAccumulator, bytes: number, sha256: string): FileEntry {
  const parts = rel.split('/');
  const g = stats.groups;
  return {
    kind,
    venue: partitionValueDecode(parts[1]!.slice('venue='.length)),
    date: parts[2]!.slice('date='.length),
    group: basename(rel, PARQUET_EXT),
    path: rel,
    rows: stats.total,
    bytes,
    sha256,
    tsRecvMin: g.reduce((m, x) => (BigInt(x.tsRecvMin) < BigInt(m) ? x.tsRecvMin : m), g[0]?.tsRecvMin ?? '0'),
    tsRecvMax: g.reduce((m, x) => (BigInt(x.tsRecvMax) > BigInt(m) ? x.tsRecvMax : m), g[0]?.tsRecvMax ?? '0'),
    recvSeqMin: g[0]?.recvSeqMin ?? '0',
    recvSeqMax: g[g.length - 1]?.recvSeqMax ?? '0',
    rowGroups: g,
  };
}

/** fsync a directory so a rename in it survives a power cut (best effort where unsupported). */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems refuse fsync on directories; the rename is still atomic
  }
}
