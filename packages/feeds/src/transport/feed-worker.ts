/**
 * The worker-thread side of {@link WorkerFeed}: runs one venue's {@link WsFeed} (socket, frame
 * parsing, book sync, REST snapshots, raw tap) and writes its events into the shared ring as
 * event records. The main thread drives it with messages (connect, subscribe, ready,
 * disconnect, raw) and reads the ring.
 *
 * Stamping protocol: this thread's clock reads exactly the main thread's time (same anchor,
 * same process-wide monotonic timer). The first `now()` of a task raises the BUSY flag before
 * it reads the time; at the end of the task (a microtask) the events are flushed to the ring and
 * BUSY drops. So once the main thread sees BUSY down at its time `T`, every event stamped before
 * `T` is in the ring, and every later stamp is at or after `T`: that is what `poll(before)` needs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LiveClock, type LiveClockAnchor, type MarketEvent, type SubscriptionKind } from '@mdcap/core';
import { errorToWire, EventRecordWriter } from '@mdcap/ring';
import { venueFeed } from '../venues.js';
import type { VenueFeedOptions, VenueName } from '../venues.js';
import { RawTap } from './raw-tap.js';
import type { WsFeed } from './ws-feed.js';

export interface FeedWorkerData {
  readonly venue: VenueName;
  readonly options: VenueFeedOptions;
  readonly anchor: LiveClockAnchor;
  readonly ring: SharedArrayBuffer;
  /** Int32 flags: [0] BUSY (this thread is stamping or writing), [1] the main thread waits for BUSY to drop. */
  readonly control: SharedArrayBuffer;
}

export type FeedWorkerRequest =
  | { readonly op: 'connect' | 'disconnect'; readonly id: number }
  | { readonly op: 'subscribe'; readonly id: number; readonly symbol: string; readonly kinds: readonly SubscriptionKind[] }
  | { readonly op: 'unsubscribe'; readonly id: number; readonly symbol: string }
  | { readonly op: 'ready' }
  | { readonly op: 'raw'; readonly root: string; readonly name: string; readonly flushMs: number };

export const BUSY = 0;
export const MAIN_WAITING = 1;

const data = workerData as FeedWorkerData;
const port = parentPort!;
const control = new Int32Array(data.control);
const writer = new EventRecordWriter(data.ring, { batch: 1024 });

/** A LiveClock that marks this thread busy from its first reading in a task until the task's events are flushed. */
class StampingClock extends LiveClock {
  private busy = false;
  private readonly idle = (): void => {
    this.busy = false;
    writer.flush();
    Atomics.store(control, BUSY, 0);
    if (Atomics.load(control, MAIN_WAITING) !== 0) Atomics.notify(control, BUSY);
  };

  override now(): bigint {
    if (!this.busy) {
      this.busy = true;
      Atomics.store(control, BUSY, 1); // before the time is read
      queueMicrotask(this.idle);
    }
    return super.now();
  }
}

const clock = new StampingClock(data.anchor);
let raw: RawTap | null = null;
let rawTimer: ReturnType<typeof setInterval> | null = null;
const feed: WsFeed = venueFeed(data.venue, {
  ...data.options,
  clock,
  onFrame: (text, ts) => raw?.frame(text, ts),
  onRest: (url, body, ts) => raw?.rest(url, body, ts),
});
const sink = {
  push: (e: MarketEvent): void => writer.write(e),
  lost: (error: unknown): void => writer.lost(error),
  end: (error?: unknown): void => writer.end(error),
};

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
  switch (m.op) {
    case 'connect':
      return reply(m.id, feed.connect(sink));
    case 'subscribe':
      return reply(m.id, feed.subscribe(m.symbol, m.kinds));
    case 'unsubscribe':
      return reply(m.id, feed.unsubscribe(m.symbol));
    case 'ready':
      return feed.ready();
    case 'disconnect':
      return reply(
        m.id,
        feed.disconnect().then(() => {
          writer.flush();
          closeRaw();
        }),
      );
    case 'raw':
      closeRaw();
      raw = new RawTap(m.root, m.name, feed.endpoint, clock.now());
      // Written with the capture's cadence: at most one flush window is lost in a crash.
      rawTimer = setInterval(() => raw?.flush(), m.flushMs);
      return;
  }
});
