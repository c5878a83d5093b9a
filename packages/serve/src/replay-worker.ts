import { parentPort } from 'node:worker_threads';
import { MdcapError } from '@mdcap/core';
import { LatencyStages, monotonicNs } from './metrics.js';
import type { FromWorker, ToWorker } from './pool.js';
import { ReplaySession } from './session.js';
import { BatchBuilder } from './subscriber.js';

// A replay worker (pool.ts): runs the sessions the main thread opens here and posts their
// batches back, each a transferred buffer, within the credits the main thread grants.

interface Running {
  session: ReplaySession | null;
  builder: BatchBuilder;
  credits: number;
  /** Held for want of credit (the engine is paused once for it). */
  starved: boolean;
  stopped: boolean;
}

const port = parentPort!;
const sessions = new Map<number, Running>();
const unusedStages = new LatencyStages(); // a replay times no live stages
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

function open(m: Extract<ToWorker, { type: 'open' }>): void {
  const r: Running = { session: null, builder: null as unknown as BatchBuilder, credits: m.credits, starved: false, stopped: false };
  r.builder = new BatchBuilder({ batchEvents: m.batchEvents, batchMicros: m.batchMicros }, monotonicNs, (w, events, latency, timed) => {
    const bytes = new Uint8Array(w.pos);
    bytes.set(w.buf.subarray(0, w.pos));
    const lat = latency.slice(0, timed);
    const clock = r.session?.provider.clock.now() ?? 0n;
    post({ type: 'batch', id: m.id, bytes, events, latency: lat, timed, encodedAtMs: performance.timeOrigin + performance.now(), clock }, [
      bytes.buffer,
      lat.buffer,
    ]);
    if (--r.credits === 0 && !r.starved) {
      r.starved = true;
      r.session?.engine.pause();
    }
  });
  sessions.set(m.id, r);
  const finish = (error: MdcapError | null): void => {
    r.builder.flush();
    r.builder.close();
    sessions.delete(m.id);
    post({ type: 'end', id: m.id, error: error === null ? null : { code: error.code, message: error.message } });
  };
  try {
    r.session = new ReplaySession(m.spec, unusedStages, r.builder);
  } catch (e) {
    finish(e instanceof MdcapError ? e : new MdcapError('MDCAP_ERR_IO', (e as Error).message));
    return;
  }
  r.session.run().then(
    (error) => finish(r.stopped ? null : error),
    (e: unknown) => finish(e instanceof MdcapError ? e : new MdcapError('MDCAP_ERR_IO', (e as Error).message)),
  );
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'open') {
    open(m);
    return;
  }
  const r = sessions.get(m.id);
  if (r === undefined) return;
  switch (m.type) {
    case 'credit':
      r.credits += m.n;
      if (r.starved && r.credits > 0) {
        r.starved = false;
        r.session?.engine.resume();
      }
      break;
    case 'pause':
      r.session?.engine.pause();
      break;
    case 'resume':
      r.session?.engine.resume();
      break;
    case 'stop':
      r.stopped = true;
      void r.session?.engine.stop();
      break;
  }
});
