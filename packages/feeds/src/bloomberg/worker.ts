/**
 * The worker-thread side of {@link BloombergFeed}: loads the BLPAPI binding, runs its blocking
 * `nextEvent` loop and writes the events into the shared ring as event records. The thread never
 * returns to its event loop while it runs: commands from the main thread (connect, subscribe,
 * ready, disconnect) are taken synchronously from a MessagePort between two `nextEvent` calls
 * (each waits at most `pollMs`), and when no session is up the thread sleeps on a shared counter
 * the main thread bumps with each command.
 *
 * Stamping protocol (as feed-worker.ts): BUSY is raised before an event's receive time is read
 * and dropped after its records are flushed, so once the main thread sees BUSY down at its time
 * `T`, everything stamped before `T` is in the ring.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { LiveClock } from '@mdcap/core';
import type { LiveClockAnchor, MarketEvent, SubscriptionKind } from '@mdcap/core';
import { errorToWire, EventRecordWriter } from '@mdcap/ring';
import { loadBlpapi } from './binding.js';
import type { BlpapiModule } from './binding.js';
import { BloombergSession } from './session.js';
import type { BloombergOptions, BloombergStats } from './session.js';

export interface BloombergWorkerData {
  readonly options: BloombergOptions;
  readonly anchor: LiveClockAnchor;
  readonly ring: SharedArrayBuffer;
  /** Int32 flags: [0] BUSY, [1] the main thread waits for BUSY to drop, [2] commands posted (a counter). */
  readonly control: SharedArrayBuffer;
  readonly port: MessagePort;
}

export type BloombergRequest =
  | { readonly op: 'connect' | 'disconnect'; readonly id: number }
  | { readonly op: 'subscribe'; readonly id: number; readonly symbol: string; readonly kinds: readonly SubscriptionKind[] }
  | { readonly op: 'unsubscribe'; readonly id: number; readonly symbol: string }
  | { readonly op: 'ready' };

export const BUSY = 0;
export const MAIN_WAITING = 1;
export const COMMANDS = 2;

const data = workerData as BloombergWorkerData;
const port = data.port;
const control = new Int32Array(data.control);
const writer = new EventRecordWriter(data.ring, { batch: 1024 });
const clock = new LiveClock(data.anchor);
const pollMs = data.options.pollMs ?? 50;
const sink = {
  push: (e: MarketEvent): void => writer.write(e),
  lost: (error: unknown): void => writer.lost(error),
  end: (error?: unknown): void => writer.end(error),
};

let blp: BlpapiModule | null = null;
let loadError: unknown = null;
try {
  blp = await loadBlpapi(data.options.module ?? 'blpapi');
} catch (e) {
  loadError = e;
}
const session: BloombergSession | null =
  blp === null
    ? null
    : new BloombergSession(blp, data.options, clock, (symbol, error) =>
        port.postMessage({ op: 'failure', symbol, error: errorToWire(error), stats: stats() }),
      );

function stats(): BloombergStats | null {
  return session === null ? null : { ...session.stats };
}

function raise(): void {
  Atomics.store(control, BUSY, 1);
}

function settle(): void {
  writer.flush();
  Atomics.store(control, BUSY, 0);
  if (Atomics.load(control, MAIN_WAITING) !== 0) Atomics.notify(control, BUSY);
}

function run(m: BloombergRequest): void {
  if (m.op === 'ready') {
    session?.ready();
    return;
  }
  try {
    if (session === null) throw loadError;
    switch (m.op) {
      case 'connect':
        session.connect(sink);
        break;
      case 'subscribe':
        session.subscribe(m.symbol, m.kinds);
        break;
      case 'unsubscribe':
        session.unsubscribe(m.symbol);
        break;
      case 'disconnect':
        session.close();
        break;
    }
    port.postMessage({ id: m.id, stats: stats() });
  } catch (error) {
    port.postMessage({ id: m.id, error: errorToWire(error), stats: stats() });
  }
}

const STATS_MS = 100;
let statsAt = 0;
for (;;) {
  const seen = Atomics.load(control, COMMANDS);
  let took = false;
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    took = true;
    run(m.message as BloombergRequest);
  }
  if (session?.active) {
    session.pump(pollMs, raise);
    settle();
    // The counters, now and then (replies carry them too).
    const now = performance.now();
    if (now - statsAt >= STATS_MS) {
      statsAt = now;
      port.postMessage({ op: 'stats', stats: stats() });
    }
  } else if (!took) {
    Atomics.wait(control, COMMANDS, seen, 1000);
  }
}
