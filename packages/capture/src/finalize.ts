import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { CaptureError } from '@mdcap/core';
import { scanChunks } from './ipc.js';
import type { CaptureKind } from './kinds.js';
import { PARQUET_EXT, partitionValueDecode, SEGMENT_EXT } from './layout.js';
import type { FileEntry, RowGroupStats } from './manifest.js';

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

function writerProperties(kind: CaptureKind, scales: Record<string, { price: number; size: number }>): pq.WriterProperties {
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
      ]),
    );
  for (const c of [...COMMON_DELTA, ...DELTA_COLUMNS[kind]]) {
    b = b.setColumnDictionaryEnabled(c, false).setColumnEncoding(c, pq.Encoding.DELTA_BINARY_PACKED);
  }
  return b.build();
}

/** Statistics of the rows, accumulated per row group as the chunks go by. */
class StatsAccumulator {
  readonly groups: RowGroupStats[] = [];
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
      if (this.rows === ROW_GROUP_ROWS) this.cut();
    }
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

function chunksOf(bytes: Uint8Array, path: string): Uint8Array[] {
  const scan = scanChunks(bytes);
  if (scan.torn) {
    throw new CaptureError(
      'MDCAP_ERR_CAPTURE_CORRUPT',
      `${path}: expected complete Arrow IPC chunks, found a torn tail after byte ${scan.goodLength} (run mdcap verify --repair)`,
      {
        details: { path, goodLength: scan.goodLength },
      },
    );
  }
  const out: Uint8Array[] = [];
  let start = 0;
  for (const end of scan.chunkEnds) {
    out.push(bytes.subarray(start, end));
    start = end;
  }
  return out;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** sha256 of a file, streamed (the event loop keeps turning on big files). */
export async function sha256FileAsync(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Turns a complete segment (`….arrows`) into a Parquet file (`….parquet`) next to it: zstd,
 * delta encodings, rows in the segment's order (replay order), row groups of
 * {@link ROW_GROUP_ROWS}. Written under a temp name, fsynced and renamed, so a reader never sees
 * a half-written Parquet file. The segment is left in place (the caller deletes it once the
 * manifest lists the Parquet file). Returns the manifest entry.
 */
export async function finalizeSegment(root: string, relSegment: string, kind: CaptureKind): Promise<FileEntry> {
  const segPath = join(root, relSegment);
  const bytes = readFileSync(segPath);
  const chunks = chunksOf(bytes, segPath);
  const stats = new StatsAccumulator();
  for (const c of chunks) {
    for (const batch of tableFromIPC(c).batches) {
      const sym = batch.getChild('symbol')!.data[0]!;
      const hasScale = batch.getChild('price_scale') !== null;
      stats.add(
        batch.getChild('ts_recv')!.data[0]!.values as BigInt64Array,
        batch.getChild('recv_seq')!.data[0]!.values as BigUint64Array,
        sym.values as Int32Array,
        sym.dictionary!.toArray() as string[],
        hasScale ? (batch.getChild('price_scale')!.data[0]!.values as Uint8Array) : null,
        hasScale ? (batch.getChild('size_scale')!.data[0]!.values as Uint8Array) : null,
      );
    }
  }
  stats.cut();
  const relParquet = relSegment.slice(0, -SEGMENT_EXT.length) + PARQUET_EXT;
  const outPath = join(root, relParquet);
  const tmp = `${outPath}.tmp`;
  let i = 0;
  const input = new ReadableStream<pq.RecordBatch>(
    {
      pull(controller) {
        while (i < chunks.length) {
          const batches = pq.Table.fromIPCStream(chunks[i++]!).recordBatches();
          if (batches.length === 0) continue;
          for (const b of batches) controller.enqueue(b);
          return;
        }
        controller.close();
      },
    },
    { highWaterMark: 1 },
  );
  const output = await pq.transformParquetStream(input, writerProperties(kind, stats.scales));
  const fd = openSync(tmp, 'w');
  try {
    const reader = (output as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done === true) break;
      writeSync(fd, value);
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw new CaptureError('MDCAP_ERR_IO', `${outPath}: writing Parquet failed: ${(error as Error).message}`, { cause: error });
  }
  closeSync(fd);
  renameSync(tmp, outPath);
  syncDir(dirname(outPath));
  const parts = relSegment.split('/');
  const entry: FileEntry = {
    kind,
    venue: partitionValueDecode(parts[1]!.slice('venue='.length)),
    date: parts[2]!.slice('date='.length),
    group: basename(relSegment, SEGMENT_EXT),
    path: relParquet,
    rows: stats.total,
    bytes: readFileSync(outPath).byteLength,
    sha256: sha256File(outPath),
    tsRecvMin: stats.groups.reduce((m, g) => (BigInt(g.tsRecvMin) < BigInt(m) ? g.tsRecvMin : m), stats.groups[0]?.tsRecvMin ?? '0'),
    tsRecvMax: stats.groups.reduce((m, g) => (BigInt(g.tsRecvMax) > BigInt(m) ? g.tsRecvMax : m), stats.groups[0]?.tsRecvMax ?? '0'),
    recvSeqMin: stats.groups[0]?.recvSeqMin ?? '0',
    recvSeqMax: stats.groups[stats.groups.length - 1]?.recvSeqMax ?? '0',
    rowGroups: stats.groups,
  };
  return entry;
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
