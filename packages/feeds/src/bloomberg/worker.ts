/**
 * The worker-thread side of {@link BloombergFeed}: loads the BLPAPI binding, runs its blocking
 * `nextEvent` loop and writes the events into the shared ring as event records. The thread never
 * returns to its event loop while it runs: commands from the main thread (connect, subscribe,
 * ready, disconnect) are taken synchronously from a MessagePort between two `nextEvent` calls
 * (each waits at most `pollMs`), and when no session is up the thread sleeps on a shared counter
 * (COMMANDS) the main thread bumps with each command.
 *
 * Stamping (the protocol is in transport/handler-thread.ts): BUSY is raised before an event's
 * receive time is read and dropped after its records are flushed.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { LiveClock } from '@mdcap/core';
import { errorToWire } from '@mdcap/ring';
import { COMMANDS, HandlerThreadRing } from '../transport/handler-thread.js';
import type { HandlerRequest, HandlerThreadData } from '../transport/handler-thread.js';
import { loadBlpapi } from './binding.js';
import type { BlpapiModule } from './binding.js';
import { BloombergSession } from './session.js';
import type { BloombergOptions, BloombergStats } from './session.js';

export interface BloombergWorkerData extends HandlerThreadData {
  readonly options: BloombergOptions;
  /** Commands in, answers and reports out. */
  readonly port: MessagePort;
}

const data = workerData as BloombergWorkerData;
const port = data.port;
const ring = new HandlerThreadRing(data);
const control = ring.control;
const raise = (): void => ring.raise();
const clock = new LiveClock(data.anchor);
const pollMs = data.options.pollMs ?? 50;

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

function run(m: HandlerRequest): void {
  if (m.op === 'ready') {
    session?.ready();
    return;
  }
  try {
    if (session === null) throw loadError;
    switch (m.op) {
      case 'connect':
        session.connect(ring.sink);
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
    run(m.message as HandlerRequest);
  }
  if (session?.active) {
    session.pump(pollMs, raise);
    ring.settle();
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
