import { openAsBlob } from 'node:fs';
import { parquetWasm } from './parquet-wasm.js';
import type { ParquetWasm } from './parquet-wasm.js';
import { CaptureError } from '@mdcap/core';
import { sha256FileAsync } from './finalize.js';
import type { CaptureKind } from './kinds/index.js';
import type { FileEntry } from './manifest.js';

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
 * Checks the file's sha256 against the manifest first when `verify` is set. Runs on the caller's
 * thread or on the decode worker (decode-ahead.ts): the bytes are a buffer of their own, so
 * they can be transferred without a copy.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_CORRUPT` naming the file and row group.
 */
export async function* parquetIpcBatches(
  file: ParquetSource,
  wanted: readonly number[],
  batchSize: number,
  verify: boolean,
): AsyncGenerator<IpcBatch> {
  const entry = file.entry!;
  if (wanted.length === 0) return;
  if (verify) {
    const found = await sha256FileAsync(file.path);
    if (found !== entry.sha256) {
      throw new CaptureError(
        'MDCAP_ERR_CAPTURE_CORRUPT',
        `${file.path}: expected sha256 ${entry.sha256} as the manifest says, found ${found} (the file changed after it was written)`,
        { details: { path: file.path } },
      );
    }
  }
  const pq = parquetWasm();
  let pf: ParquetWasm.ParquetFile;
  try {
    pf = await pq.ParquetFile.fromFile(await openAsBlob(file.path));
  } catch (error) {
    throw corrupt(file, null, error);
  }
  let stream: ReadableStream<ParquetWasm.RecordBatch>;
  try {
    stream = (await pf.stream({ batchSize, rowGroups: [...wanted] })) as ReadableStream<ParquetWasm.RecordBatch>;
  } catch (error) {
    pf.free();
    throw corrupt(file, wanted[0]!, error);
  }
  const reader = stream.getReader();
  // Which row group the stream is in, from the row counts (for error messages).
  let rowsLeft = entry.rowGroups[wanted[0]!]!.rows;
  let gi = 0;
  try {
    for (;;) {
      let step: { done?: boolean | undefined; value?: ParquetWasm.RecordBatch | undefined };
      try {
        step = await reader.read();
      } catch (error) {
        throw corrupt(file, wanted[gi] ?? null, error);
      }
      if (step.done === true) break;
      const batch = step.value!;
      const rows = batch.numRows;
      const rowGroup = wanted[gi] ?? null;
      const bytes = batch.intoIPCStream();
      rowsLeft -= rows;
      while (rowsLeft <= 0 && gi < wanted.length - 1) rowsLeft += entry.rowGroups[wanted[++gi]!]!.rows;
      yield { bytes, rowGroup };
    }
  } finally {
    reader.releaseLock();
    pf.free();
  }
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
