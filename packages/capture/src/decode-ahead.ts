import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CaptureError } from '@mdcap/core';
import type { MdcapErrorCode } from '@mdcap/core';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';
import { corrupt } from './parquet-read.js';
import type { IpcBatch, ParquetSource } from './parquet-read.js';

/** The built worker script (from sources under test, the compiled one in dist/). */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../dist/decode-worker.js', here) : new URL('./decode-worker.js', here);
}

type Waiter = (reply: DecodeReply) => void;

let shared: DecodeAhead | null = null;

/** Decode threads of the shared pool: `MDCAP_DECODE_THREADS`, or one fewer than the cores (at least 1, at most 2). */
function decodeThreads(): number {
  const env = Number(process.env['MDCAP_DECODE_THREADS']);
  if (Number.isInteger(env) && env >= 1 && env <= 16) return env;
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

/** Record batches decoded ahead of the one in use, per file. */
const AHEAD = 3;

/**
 * Decodes Parquet files on worker threads, ahead of the reader: while the caller works on one
 * record batch, a worker decodes the next ones (zstd, Parquet encodings, the copy out of wasm
 * memory). Each batch arrives as Arrow IPC bytes in a transferred buffer, so handing it over
 * copies nothing; the caller parses it into typed columns (a little work per batch, none per
 * row). Files are spread over the threads (the one with the fewest open files takes the next),
 * so the files of a rotation group, and the next group opened early, decode in parallel. One
 * pool serves the process (`shared()`): one thread fewer than the cores, at least 1 and at most
 * 2 (the engine's thread needs a core; `MDCAP_DECODE_THREADS` overrides); idle threads do not
 * keep the process alive.
 */
export class DecodeAhead {
  private readonly threads: DecodeThread[];

  constructor(threads: number) {
    this.threads = Array.from({ length: Math.max(1, threads) }, () => new DecodeThread());
  }

  /** The process's decode threads (created on first use). */
  static shared(): DecodeAhead {
    return (shared ??= new DecodeAhead(decodeThreads()));
  }

  /**
   * The record batches of `wanted` row groups of a Parquet file as IPC bytes, decoded ahead of
   * the consumer. Breaking out of the loop closes the file on its thread.
   * @throws {CaptureError} what reading it on this thread would throw (`MDCAP_ERR_CAPTURE_CORRUPT`
   *   naming the file and row group), also when the decoder panics on a damaged file.
   */
  ipcBatches(
    file: ParquetSource,
    wanted: readonly number[],
    options: { readonly batchSize?: number; readonly verifyHashes?: boolean; readonly from?: bigint; readonly signal?: AbortSignal },
  ): AsyncGenerator<IpcBatch> {
    let best = this.threads[0]!;
    for (const t of this.threads) if (t.openFiles < best.openFiles) best = t;
    return best.ipcBatches(file, wanted, options);
  }

  /** Stops the threads (a later read starts new ones). */
  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }
}

/** One decode worker thread and the files open on it. */
class DecodeThread {
  private worker: Worker | null = null;
  private nextId = 1;
  /** Replies awaited, per file id, in request order. */
  private readonly waiting = new Map<number, Waiter[]>();
  private pending = 0;
  /** The file each open id reads (to name it if the worker dies). */
  private readonly files = new Map<number, ParquetSource>();

  get openFiles(): number {
    return this.files.size;
  }

  async *ipcBatches(
    file: ParquetSource,
    wanted: readonly number[],
    options: { readonly batchSize?: number; readonly verifyHashes?: boolean; readonly from?: bigint; readonly signal?: AbortSignal },
  ): AsyncGenerator<IpcBatch> {
    const w = this.ensureWorker();
    const id = this.nextId++;
    const { kind, path, format, entry } = file;
    this.files.set(id, file);
    this.post(w, {
      op: 'open',
      id,
      file: { kind, path, format, entry },
      wanted,
      batchSize: options.batchSize ?? 65_536,
      verify: options.verifyHashes !== false,
      ...(options.from === undefined ? {} : { from: options.from }),
    });
    // Requests in flight, in order: the worker decodes these while the caller uses earlier ones.
    const ahead: Promise<DecodeReply>[] = [];
    for (let k = 0; k < AHEAD; k++) ahead.push(this.request(w, id));
    // Aborted (a seek, a stop): close at once, so that the requests queued ahead are answered
    // without decoding instead of keeping the thread from the files read next. The close in
    // `finally` comes after the batch in hand, which cannot be interrupted.
    const signal = options.signal;
    const abort = (): void => {
      if (this.worker === w && this.files.has(id)) this.post(w, { op: 'close', id });
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      for (;;) {
        const r: DecodeReply = await ahead.shift()!;
        if ('done' in r) return;
        if ('error' in r) {
          throw new CaptureError(r.error.code as MdcapErrorCode, r.error.message, {
            details: (r.error.details ?? {}) as Record<string, unknown>,
          });
        }
        ahead.push(this.request(w, id));
        yield r.batch;
      }
    } finally {
      signal?.removeEventListener('abort', abort);
      this.files.delete(id);
      if (this.worker === w) this.post(w, { op: 'close', id });
      // Replies still on their way are dropped when they come (after a done or an error, the
      // worker answers the requests left with done).
    }
  }

  private post(w: Worker, r: DecodeRequest): void {
    w.postMessage(r);
  }

  private request(w: Worker, id: number): Promise<DecodeReply> {
    if (this.worker !== w) {
      // The thread this file was opened on has stopped: no answer would ever come.
      return Promise.resolve({ id, error: this.stoppedError(id, this.stopped.get(w) ?? 'it was closed') });
    }
    return new Promise<DecodeReply>((resolve) => {
      let list = this.waiting.get(id);
      if (list === undefined) this.waiting.set(id, (list = []));
      list.push(resolve);
      if (this.pending++ === 0) w.ref(); // a request in flight keeps the process alive
      this.post(w, { op: 'next', id });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    this.culprit = null;
    const w = new Worker(workerUrl());
    w.on('message', (message: DecodeReply) => {
      let reply = message;
      if ('fatal' in reply && reply.fatal === true) {
        // The decoder panicked on this file: it is the one named; the thread ends now.
        const file = this.files.get(reply.id);
        this.culprit = file?.path ?? null;
        if (file !== undefined) {
          reply = {
            id: reply.id,
            error: {
              code: 'MDCAP_ERR_CAPTURE_CORRUPT',
              message: corrupt(file, null, new Error(reply.error.message)).message,
              details: { path: file.path },
            },
          };
        }
      }
      const list = this.waiting.get(reply.id);
      const resolve = list?.shift();
      if (list !== undefined && list.length === 0) this.waiting.delete(reply.id);
      if (resolve !== undefined) {
        if (--this.pending === 0) w.unref();
        resolve(reply);
      }
      if ('fatal' in message) {
        // Stopped now, not at its exit: a file opened from here on goes to a new thread.
        this.failAll(w, new Error('the decoder failed'));
        void w.terminate();
      }
    });
    w.on('error', (error) => this.failAll(w, error));
    w.on('exit', (code) => this.failAll(w, new Error(`exited with code ${code}`)));
    w.unref();
    this.worker = w;
    return w;
  }

  /** The file whose damage stopped the current thread, once its panic was reported. */
  private culprit: string | null = null;
  /** Why each stopped thread stopped (for files still asking it for batches). */
  private readonly stopped = new WeakMap<Worker, string>();

  /** What a read of a file gets when its thread stopped under it. */
  private stoppedError(id: number, why: string): { code: string; message: string; details: Record<string, unknown> } {
    const path = this.files.get(id)?.path ?? null;
    return {
      code: 'MDCAP_ERR_IO',
      message: `${path ?? 'a Parquet file'}: not read to its end: the decode thread stopped (${why})`,
      details: { path },
    };
  }

  /**
   * The worker stopped (a wasm panic on a damaged file ends its thread, not this one). The file
   * that caused it already got its error naming it; every other reply awaited, and any later
   * request of a file opened on this thread, gets `MDCAP_ERR_IO` naming the culprit. The next
   * file opened starts a new thread.
   */
  private failAll(w: Worker, error: Error): void {
    if (this.worker !== w) return;
    this.worker = null;
    const why = this.culprit !== null ? `${this.culprit} made the decoder fail` : error.message;
    this.stopped.set(w, why);
    const waiting = [...this.waiting];
    this.waiting.clear();
    this.pending = 0;
    for (const [id, list] of waiting) for (const resolve of list) resolve({ id, error: this.stoppedError(id, why) });
  }

  /** Stops the worker (a later read starts a new one). */
  async close(): Promise<void> {
    const w = this.worker;
    if (w === null) return;
    this.failAll(w, new Error('closed'));
    await w.terminate();
  }
}
