import { Worker } from 'node:worker_threads';
import { CaptureError } from '@mdcap/core';
import type { MdcapErrorCode } from '@mdcap/core';
import { finalizeSegment } from './finalize.js';
import type { FileMeta } from './finalize.js';
import type { CaptureKind } from './kinds/index.js';
import type { FileEntry } from './manifest.js';

export type FinalizeMode = 'worker' | 'inline';

interface Pending {
  resolve(e: FileEntry): void;
  reject(e: Error): void;
}

/** The built worker script (from sources under test, the compiled one in dist/). */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../dist/finalize-worker.js', here) : new URL('./finalize-worker.js', here);
}

/**
 * Runs {@link finalizeSegment} jobs one at a time, on a worker thread (default) or inline.
 */
export class Finalizer {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly mode: FinalizeMode = 'worker') {}

  /** Finalizes one segment; `meta` goes into the Parquet file's key-value metadata. */
  run(root: string, segment: string, kind: CaptureKind, meta: FileMeta = {}): Promise<FileEntry> {
    if (this.mode === 'inline') {
      const p = this.chain.then(() => finalizeSegment(root, segment, kind, meta));
      this.chain = p.catch(() => undefined);
      return p;
    }
    const w = this.ensureWorker();
    const id = this.nextId++;
    w.ref(); // a pending job keeps the process alive
    return new Promise<FileEntry>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, root, segment, kind, meta });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    // Its JS garbage is small (the rows live in wasm memory): a small young generation.
    const w = new Worker(workerUrl(), { resourceLimits: { maxYoungGenerationSizeMb: 6 } });
    w.on('message', (m: { id: number; entry?: FileEntry; error?: { message: string; code: MdcapErrorCode } }) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref(); // an idle worker does not
      if (m.error !== undefined) p.reject(new CaptureError(m.error.code, m.error.message));
      else p.resolve(m.entry!);
    });
    w.on('error', (error) => {
      for (const p of this.pending.values())
        p.reject(new CaptureError('MDCAP_ERR_IO', `finalizer worker failed: ${error.message}`, { cause: error }));
      this.pending.clear();
      this.worker = null;
    });
    w.unref();
    this.worker = w;
    return w;
  }

  /** Stops the worker thread; await the jobs' own promises first. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w !== null) await w.terminate();
  }
}
