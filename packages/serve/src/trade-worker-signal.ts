import type { MessagePort } from 'node:worker_threads';
import type { TradeSpec } from './trade-session.js';

// What the main thread (trade.ts) and a Trade call's worker thread (trade-worker.ts) share.

export interface TradeWorkerData {
  readonly spec: TradeSpec;
  /** Int32 slots, see {@link SIGNAL}. */
  readonly signal: SharedArrayBuffer;
  /** The client's requests, in order; the worker takes them with receiveMessageOnPort. */
  readonly requests: MessagePort;
}

export type FromTradeWorker =
  | { readonly type: 'send'; readonly bytes: Uint8Array }
  | { readonly type: 'end'; readonly error: { readonly code: string; readonly message: string } | null };

/**
 * Int32 slots of the shared signal: requests posted (the worker waits on it), stop (set when the
 * call is over), responses written to the socket (unanswered windows wait on it).
 */
export const SIGNAL = { POSTED: 0, STOP: 1, WRITTEN: 2 } as const;

/** Windows sent without an answer that may wait to be written before the run waits too. */
export const UNANSWERED_AHEAD = 16;
