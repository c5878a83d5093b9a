/**
 * The worker-thread side of {@link WorkerFeed}: runs one venue's {@link WsFeed} (socket, frame
 * parsing, book sync, REST snapshots, raw tap) and writes its events into the shared ring as
 * event records. The main thread drives it with messages (connect, subscribe, ready,
 * disconnect, raw) and reads the ring.
 *
 * Stamping (the protocol is in handler-thread.ts): this thread's clock reads exactly the main
 * thread's time. The first `now()` of a task raises the BUSY flag before it reads the time; at
 * the end of the task (a microtask) the events are flushed to the ring and BUSY drops.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorToWire } from '@mdcap/ring';
import { venueFeed } from '../venues.js';
import type { VenueFeedOptions, VenueName } from '../venues.js';
import { HandlerThreadRing, runRequest, StampingClock } from './handler-thread.js';
import type { HandlerRequest, HandlerThreadData } from './handler-thread.js';
import { RawTap } from './raw-tap.js';
import type { WsFeed } from './ws-feed.js';

export interface FeedWorkerData extends HandlerThreadData {
  readonly venue: VenueName;
  readonly options: VenueFeedOptions;
}

export type FeedWorkerRequest =
  HandlerRequest | { readonly op: 'raw'; readonly root: string; readonly name: string; readonly flushMs: number };

const data = workerData as FeedWorkerData;
const port = parentPort!;
const ring = new HandlerThreadRing(data);

const clock = new StampingClock(ring, data.anchor);
let raw: RawTap | null = null;
let rawTimer: ReturnType<typeof setInterval> | null = null;
const feed: WsFeed = venueFeed(data.venue, {
  ...data.options,
  clock,
  onFrame: (text, ts) => raw?.frame(text, ts),
  onRest: (url, body, ts) => raw?.rest(url, body, ts),
});

function state(): { instruments: unknown[]; stats: WsFeed['stats'] } {
  return { instruments: [...feed.instruments()], stats: { ...feed.stats } };
}

function reply(id: number, work: Promise<unknown>): void {
  work.then(
    () => port.postMessage({ id, ...state() }),
    (error: unknown) => port.postMessage({ id, error: errorToWire(error), ...state() }),
  );
}

function closeRaw(): void {
  if (rawTimer !== null) clearInterval(rawTimer);
  rawTimer = null;
  raw?.close();
  raw = null;
}

port.on('message', (m: FeedWorkerRequest) => {
  if (m.op !== 'raw') return runRequest(m, feed, ring, reply, closeRaw);
  closeRaw();
  raw = new RawTap(m.root, m.name, feed.endpoint, clock.now());
  // Written with the capture's cadence: at most one flush window is lost in a crash.
  rawTimer = setInterval(() => raw?.flush(), m.flushMs);
});
