import { openAsBlob } from 'node:fs';
import { parquetWasm } from './parquet-wasm.js';
import type { ParquetWasm } from './parquet-wasm.js';
import { CaptureError } from '@mdcap/core';
import { sha256FileAsync } from './finalize.js';
import type { CaptureKind } from './kinds/index.js';
import type { FileEntry } from './manifest.js';
import { col, typed } from './kinds/common.js';
import { tableFromIPC } from 'apache-arrow';

/** What reading a Parquet file needs to know of it (a plain object: it crosses to the decode worker). */
export interface ParquetSource {
  readonly kind: CaptureKind;
  readonly path: string;
  readonly format: 'parquet' | 'arrow';
  readonly entry: FileEntry | null;
}

/** One decoded record batch as Arrow IPC stream bytes, and the row group it came from. */
export interface IpcBatch {
  readonly bytes: Uint8Array;
  readonly rowGroup: number | null;
}

/**
 * The row groups `wanted` of a finalized Parquet file, decoded by parquet-wasm and copied out of
 * its memory as Arrow IPC stream bytes, a record batch at a time (`batchSize` rows at most).
 * Checks the file's sha256 against the manifest first when `verify` is set. With `from`, the
 * first row group's leading rows received before it (found from its `ts_recv` column alone)
 * are not decoded: a replay or seek that starts inside a row group decodes from its start on.
 * An abort of `signal` (the reader left the file: a seek, a stop) ends it at the next step, the
 * hashing included. Runs on the caller's thread or on the decode worker (decode-ahead.ts): the
 * bytes are a buffer of their own, so they can be transferred without a copy.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_CORRUPT` naming the file and row group.
 */
export async function* parquetIpcBatches(
  file: ParquetSource,
  wanted: readonly number[],
  batchSize: number,
  verify: boolean,
  from?: bigint,
  signal?: AbortSignal,
): AsyncGenerator<IpcBatch> {
  const entry = file.entry!;
  if (wanted.length === 0) return;
  const stopped = (): boolean => signal?.aborted === true;
  if (verify) {
    let found: string;
    try {
      found = await sha256FileAsync(file.path, signal);
    } catch (error) {
      if (stopped()) return;
      throw error;
    }
    if (found !== entry.sha256) {
      throw new CaptureError(
        'MDCAP_ERR_CAPTURE_CORRUPT',
        `${file.path}: expected sha256 ${entry.sha256} as the manifest says, found ${found} (the file changed after it was written)`,
        { details: { path: file.path } },
      );
    }
  }
  if (stopped()) return;
  const pq = parquetWasm();
  let pf: ParquetWasm.ParquetFile;
  try {
    pf = await pq.ParquetFile.fromFile(await openAsBlob(file.path));
  } catch (error) {
    throw corrupt(file, null, error);
  }
  try {
    const g = wanted[0]!;
    const rows = entry.rowGroups[g]!.rows;
    const skip = from !== undefined && BigInt(entry.rowGroups[g]!.tsRecvMin) < from ? await rowsBefore(file, pf, g, rows, from) : 0;
    if (stopped()) return;
    // (parquet-wasm applies an offset in each row group of a stream: the first group gets its own.)
    if (skip > 0 && skip < rows) yield* groupBatches(file, pf, [g], batchSize, skip);
    yield* groupBatches(file, pf, skip > 0 ? wanted.slice(1) : wanted, batchSize, 0);
  } finally {
    pf.free();
  }
}

/**
 * How many leading rows of row group `g` were received before `from`, read from its `ts_recv`
 * column alone. A prefix: those rows are dropped by every reader that asks for `from` on, which
 * holds whether or not receive times rise row by row.
 */
async function rowsBefore(file: ParquetSource, pf: ParquetWasm.ParquetFile, g: number, rows: number, from: bigint): Promise<number> {
  let reader: ReadableStreamDefaultReader<ParquetWasm.RecordBatch>;
  try {
    const stream = (await pf.stream({ batchSize: rows, rowGroups: [g], columns: ['ts_recv'] })) as ReadableStream<ParquetWasm.RecordBatch>;
    reader = stream.getReader();
  } catch (error) {
    throw corrupt(file, g, error);
  }
  // Compared as 32-bit halves (high signed, low unsigned): no bigint per row.
  const bound = new BigInt64Array([from]);
  const fromHi = new Int32Array(bound.buffer)[1]!;
  const fromLo = new Uint32Array(bound.buffer)[0]!;
  let n = 0;
  try {
    for (;;) {
      const batch = await nextBatch(reader, file, g);
      if (batch === null) return n;
      const ts = typed<BigInt64Array>(col(tableFromIPC(batch.intoIPCStream()).batches[0]!, 'ts_recv'));
      const hi = new Int32Array(ts.buffer, ts.byteOffset, ts.length * 2);
      const lo = new Uint32Array(ts.buffer, ts.byteOffset, ts.length * 2);
      for (let i = 0; i < ts.length; i++) {
        const h = hi[2 * i + 1]!;
        if (h > fromHi || (h === fromHi && lo[2 * i]! >= fromLo)) return n + i;
      }
      n += ts.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** Row groups `groups` of an open file as IPC batches, the first `offset` rows of each group left out. */
async function* groupBatches(
  file: ParquetSource,
  pf: ParquetWasm.ParquetFile,
  groups: readonly number[],
  batchSize: number,
  offset: number,
): AsyncGenerator<IpcBatch> {
  if (groups.length === 0) return;
  const entry = file.entry!;
  let stream: ReadableStream<ParquetWasm.RecordBatch>;
  try {
    stream = (await pf.stream({
      batchSize,
      rowGroups: [...groups],
      ...(offset > 0 ? { offset } : {}),
    })) as ReadableStream<ParquetWasm.RecordBatch>;
  } catch (error) {
    throw corrupt(file, groups[0]!, error);
  }
  const reader = stream.getReader();
  // Which row group the stream is in, from the row counts (for error messages).
  let rowsLeft = entry.rowGroups[groups[0]!]!.rows - offset;
  let gi = 0;
  try {
    for (;;) {
      const batch = await nextBatch(reader, file, groups[gi] ?? null);
      if (batch === null) break;
      const rows = batch.numRows;
      const rowGroup = groups[gi] ?? null;
      const bytes = batch.intoIPCStream();
      rowsLeft -= rows;
      while (rowsLeft <= 0 && gi < groups.length - 1) rowsLeft += entry.rowGroups[groups[++gi]!]!.rows - offset;
      yield { bytes, rowGroup };
    }
  } finally {
    reader.releaseLock();
  }
}

/** The next batch of a parquet-wasm stream (null at its end); a failure is the file's {@link corrupt}. */
async function nextBatch(
  reader: ReadableStreamDefaultReader<ParquetWasm.RecordBatch>,
  file: ParquetSource,
  rowGroup: number | null,
): Promise<ParquetWasm.RecordBatch | null> {
  let step: { done?: boolean | undefined; value?: ParquetWasm.RecordBatch | undefined };
  try {
    step = await reader.read();
  } catch (error) {
    throw corrupt(file, rowGroup, error);
  }
  return step.done === true ? null : step.value!;
}

/** `MDCAP_ERR_CAPTURE_CORRUPT` for a file (and row group) that cannot be read. */
export function corrupt(file: ParquetSource, rowGroup: number | null, error: unknown): CaptureError {
  const where = rowGroup === null ? '' : `, row group ${rowGroup}`;
  return new CaptureError(
    'MDCAP_ERR_CAPTURE_CORRUPT',
    `${file.path}${where}: expected a readable ${file.format === 'parquet' ? 'Parquet file' : 'Arrow segment'} of ${file.kind}, found an error: ${(error as Error).message}`,
    { cause: error, details: { path: file.path, rowGroup } },
  );
}
