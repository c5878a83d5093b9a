import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MdcapError } from '@mdcap/core';
import type { MdcapErrorCode } from '@mdcap/core';
import type { ReplaySpec } from './session.js';

/** Messages to a replay worker. */
export type ToWorker =
  | {
      readonly type: 'open';
      readonly id: number;
      readonly spec: ReplaySpec;
      readonly batchEvents: number;
      readonly batchMicros: number;
      readonly credits: number;
    }
  | { readonly type: 'credit'; readonly id: number; readonly n: number }
  | { readonly type: 'pause' | 'resume' | 'stop'; readonly id: number };

/** Messages from a replay worker. */
export type FromWorker =
  | {
      readonly type: 'batch';
      readonly id: number;
      readonly bytes: Uint8Array;
      readonly events: number;
      readonly latency: Float64Array;
      readonly timed: number;
      /** When the batch was closed: ms since the epoch (performance.timeOrigin + now()), comparable across threads. */
      readonly encodedAtMs: number;
      /** The replay's clock then (a drop's gap status is stamped with it). */
      readonly clock: bigint;
    }
  | { readonly type: 'end'; readonly id: number; readonly error: { readonly code: MdcapErrorCode; readonly message: string } | null };

/** What the main thread does with one worker-hosted replay. */
export interface ReplayHandlers {
  batch(bytes: Buffer, events: number, latency: Float64Array, timed: number, encodedAtMs: number, clock: bigint): void;
  end(error: MdcapError | null): void;
}

export interface ReplayHandle {
  /** Lets the worker send `n` more batches (each batch it sends uses one). */
  credit(n: number): void;
  pause(): void;
  resume(): void;
  stop(): void;
}

/** Batches a replay may have in flight to the main thread, or queued there, before it waits for credit. */
export const WORKER_CREDITS = 8;

function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../dist/replay-worker.js', here) : new URL('./replay-worker.js', here);
}

/**
 * Replay sessions on worker threads: each worker runs several subscribers' ReplayProvider +
 * RealtimeEngine + encoder and hands packed batches (transferred, not copied) to the main
 * thread, which only queues and writes them. A worker holds at most WORKER_CREDITS batches of a
 * session in flight, so a slow main thread pauses the replays instead of buffering them.
 */
export class ReplayPool {
  private readonly workers: { worker: Worker; sessions: Set<number> }[] = [];
  private readonly handlers = new Map<number, ReplayHandlers>();
  private nextId = 1;

  /** `size` workers (default: one per core but one, at least one), started when first needed. */
  constructor(readonly size: number = Math.max(1, availableParallelism() - 1)) {}

  /** `credits`: batches the replay may send before it waits for {@link ReplayHandle.credit} (at most WORKER_CREDITS). */
  open(spec: ReplaySpec, batch: { batchEvents: number; batchMicros: number; credits: number }, handlers: ReplayHandlers): ReplayHandle {
    const id = this.nextId++;
    const slot = this.pick();
    slot.sessions.add(id);
    this.handlers.set(id, handlers);
    const post = (m: ToWorker): void => slot.worker.postMessage(m);
    post({
      type: 'open',
      id,
      spec,
      batchEvents: batch.batchEvents,
      batchMicros: batch.batchMicros,
      credits: Math.min(WORKER_CREDITS, batch.credits),
    });
    return {
      credit: (n) => post({ type: 'credit', id, n }),
      pause: () => post({ type: 'pause', id }),
      resume: () => post({ type: 'resume', id }),
      stop: () => post({ type: 'stop', id }),
    };
  }

  private pick(): { worker: Worker; sessions: Set<number> } {
    const idle = this.workers.find((w) => w.sessions.size === 0);
    if (idle !== undefined) return idle;
    if (this.workers.length < this.size) {
      const worker = new Worker(workerUrl());
      const slot = { worker, sessions: new Set<number>() };
      worker.on('message', (m: FromWorker) => this.receive(slot, m));
      worker.on('error', (e) => this.lost(slot, e));
      this.workers.push(slot);
      return slot;
    }
    return this.workers.reduce((a, b) => (b.sessions.size < a.sessions.size ? b : a));
  }

  private receive(slot: { sessions: Set<number> }, m: FromWorker): void {
    const h = this.handlers.get(m.id);
    if (h === undefined) return;
    if (m.type === 'batch') {
      h.batch(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength), m.events, m.latency, m.timed, m.encodedAtMs, m.clock);
    } else {
      this.handlers.delete(m.id);
      slot.sessions.delete(m.id);
      h.end(m.error === null ? null : new MdcapError(m.error.code, m.error.message));
    }
  }

  private lost(slot: { worker: Worker; sessions: Set<number> }, error: Error): void {
    this.workers.splice(this.workers.indexOf(slot), 1);
    for (const id of slot.sessions) {
      const h = this.handlers.get(id);
      this.handlers.delete(id);
      h?.end(new MdcapError('MDCAP_ERR_IO', `the replay worker thread failed: ${error.message}`, { cause: error }));
    }
  }

  async close(): Promise<void> {
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.worker.terminate()));
  }
}
