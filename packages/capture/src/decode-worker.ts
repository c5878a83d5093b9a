/**
 * Worker thread of {@link DecodeAhead}: decodes Parquet files a record batch at a time when
 * asked, and hands each over as Arrow IPC bytes in a transferred buffer (no copy).
 */
import { parentPort } from 'node:worker_threads';
import { MdcapError } from '@mdcap/core';
import { parquetIpcBatches } from './parquet-read.js';
import type { IpcBatch, ParquetSource } from './parquet-read.js';

export type DecodeRequest =
  | {
      readonly op: 'open';
      readonly id: number;
      readonly file: ParquetSource;
      readonly wanted: readonly number[];
      readonly batchSize: number;
      readonly verify: boolean;
      /** Leave out the first row group's rows before this receive time (see parquetIpcBatches). */
      readonly from?: bigint;
    }
  | { readonly op: 'next'; readonly id: number }
  | { readonly op: 'close'; readonly id: number };

export type DecodeReply =
  | { readonly id: number; readonly batch: IpcBatch }
  | { readonly id: number; readonly done: true }
  | {
      readonly id: number;
      readonly error: { readonly code: string; readonly message: string; readonly details?: unknown };
      /** The decoder panicked on this file: the thread ends after this reply. */
      readonly fatal?: true;
    };

const open = new Map<number, AsyncGenerator<IpcBatch>>();
/** Files closed by the reader: requests of theirs still queued are answered without decoding. */
const closed = new Set<number>();
/** Aborted when a file is closed: its open, hashing or decoding in progress stops at the next step. */
const aborts = new Map<number, AbortController>();
// One request at a time, in arrival order (the work is the CPU's anyway): so the file being
// decoded is known when the decoder panics.
let queue: Promise<unknown> = Promise.resolve();
let current: number | null = null;

parentPort!.on('message', (r: DecodeRequest) => {
  if (r.op === 'close') {
    // At once, not after the queued requests: a seek or a stop does not wait for them.
    closed.add(r.id);
    aborts.get(r.id)?.abort();
  }
  queue = queue.then(async () => {
    current = r.id;
    await handle(r);
    current = null;
    if (r.op === 'close') closed.delete(r.id);
  });
});

// A wasm panic (a damaged file) escapes parquet-wasm's stream as an uncaught error and leaves the
// decoder unusable: name the file being decoded, then let this thread die (the pool starts another).
process.on('uncaughtException', (error) => {
  if (current !== null) {
    parentPort!.postMessage({
      id: current,
      error: { code: 'MDCAP_ERR_CAPTURE_CORRUPT', message: `the decoder failed (${error.message})` },
      fatal: true,
    } satisfies DecodeReply);
  }
  process.exit(1);
});

async function handle(r: DecodeRequest): Promise<void> {
  if (r.op === 'open') {
    const abort = new AbortController();
    aborts.set(r.id, abort);
    open.set(r.id, parquetIpcBatches(r.file, r.wanted, r.batchSize, r.verify, r.from, abort.signal));
    return;
  }
  const it = open.get(r.id);
  if (r.op === 'close') {
    open.delete(r.id);
    aborts.delete(r.id);
    await it?.return(undefined);
    return;
  }
  if (it === undefined || closed.has(r.id)) {
    // After an error (or a close): every request still gets its answer.
    parentPort!.postMessage({ id: r.id, done: true } satisfies DecodeReply);
    return;
  }
  try {
    const step = await it.next();
    if (step.done === true) {
      parentPort!.postMessage({ id: r.id, done: true } satisfies DecodeReply);
      return;
    }
    const { bytes } = step.value;
    parentPort!.postMessage({ id: r.id, batch: step.value } satisfies DecodeReply, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    // A panic of the wasm decoder caught here leaves it as unusable as an uncaught one.
    if (error instanceof Error && error.name === 'RuntimeError') throw error;
    open.delete(r.id);
    aborts.delete(r.id);
    const e = error instanceof MdcapError ? error : null;
    parentPort!.postMessage({
      id: r.id,
      error: {
        code: e?.code ?? 'MDCAP_ERR_CAPTURE_CORRUPT',
        message: error instanceof Error ? error.message : String(error),
        details: e?.details,
      },
    } satisfies DecodeReply);
  }
}
