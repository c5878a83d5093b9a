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
    }
  | { readonly op: 'next'; readonly id: number }
  | { readonly op: 'close'; readonly id: number };

export type DecodeReply =
  | { readonly id: number; readonly batch: IpcBatch }
  | { readonly id: number; readonly done: true }
  | { readonly id: number; readonly error: { readonly code: string; readonly message: string; readonly details?: unknown } };

const open = new Map<number, AsyncGenerator<IpcBatch>>();
// Requests of one file run in order; different files interleave at their awaits.
const chains = new Map<number, Promise<unknown>>();

/** Files closed by the reader: requests of theirs still queued are answered without decoding. */
const closed = new Set<number>();

parentPort!.on('message', (r: DecodeRequest) => {
  if (r.op === 'close') closed.add(r.id); // at once, not after the queued requests: a seek or a stop does not wait for them
  const prev = chains.get(r.id) ?? Promise.resolve();
  const next = prev.then(() => handle(r));
  chains.set(r.id, next);
  if (r.op === 'close')
    void next.finally(() => {
      chains.delete(r.id);
      closed.delete(r.id);
    });
});

async function handle(r: DecodeRequest): Promise<void> {
  if (r.op === 'open') {
    open.set(r.id, parquetIpcBatches(r.file, r.wanted, r.batchSize, r.verify));
    return;
  }
  const it = open.get(r.id);
  if (r.op === 'close') {
    open.delete(r.id);
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
    open.delete(r.id);
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
