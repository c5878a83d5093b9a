/**
 * The worker-thread side of {@link CmeWorkerFeed}: runs a {@link CmeFeed} (the multicast sockets,
 * A/B arbitration, decoding, books, recovery) and writes its events into the shared ring as event
 * records. The main thread drives it with messages (connect, subscribe, unsubscribe,
 * disconnect) and reads the ring; this thread answers each, and reports the handler's counters
 * and the instruments it has defined now and then.
 *
 * Stamping follows handler-thread.ts: a packet is stamped by a clock on the main thread's time,
 * and its events are in the ring before the thread says it is idle.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '@mdcap/ring';
import { HandlerThreadRing, runRequest, StampingClock } from '../transport/handler-thread.js';
import type { HandlerRequest } from '../transport/handler-thread.js';
import { CmeFeed } from './feed.js';
import type { CmeWorkerData, CmeWorkerReply } from './worker-feed.js';

const data = workerData as CmeWorkerData;
const port = parentPort!;
const ring = new HandlerThreadRing(data);
const feed = new CmeFeed({ ...data.options, clock: new StampingClock(ring, data.anchor) });
let definedSent = 0;

function state(id: number | null): CmeWorkerReply {
  // The list is built only when it has changed (the reports come every few tens of ms).
  const defined = feed.definedCount();
  const fresh = defined !== definedSent;
  definedSent = defined;
  return { id, stats: feed.stats(), instruments: fresh ? [...feed.instruments()] : [] };
}

function reply(id: number, work: Promise<unknown>): void {
  work.then(
    () => port.postMessage(state(id)),
    (error: unknown) => port.postMessage({ ...state(id), error: errorToWire(error) }),
  );
}

// The counters, for a caller that watches them (they are not events: nothing waits on them).
const report = setInterval(() => port.postMessage(state(null)), data.reportMs);
report.unref();

port.on('message', (m: HandlerRequest) => runRequest(m, feed, ring, reply));
