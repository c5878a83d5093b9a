/**
 * Rings. In-thread: RingBuffer push/shift of references vs a plain array used as a queue.
 * Cross-thread: SharedRing moving 64-byte records from a worker to the main thread vs the same
 * records written and read by one thread through a plain Float64Array (the memory floor).
 * Usage: node dist/ring.js [records=50e6]
 */
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { createSharedRing, RingBuffer, SharedRingConsumer, SharedRingProducer } from '@mdcap/ring';
import type { RecordViews } from '@mdcap/ring';
import { arg, report, since } from './measure.js';

const RECORD = 64;
const WORDS = RECORD / 8;

if (!isMainThread) {
  const { sab, count, batch } = workerData as { sab: SharedArrayBuffer; count: number; batch: number };
  const p = new SharedRingProducer(sab, { batch });
  const f64 = p.views.f64;
  for (let i = 0; i < count; i++) {
    const w = p.claim() >> 3;
    f64[w] = i;
    f64[w + 1] = 1.7e18 + i;
    f64[w + 2] = 1_265_500 + (i & 1023);
    f64[w + 3] = 1 + (i & 255);
    f64[w + 4] = i & 1;
    p.commit();
  }
  p.close();
  parentPort!.postMessage('done');
} else {
  const N = arg(0, 50_000_000);

  // In-thread
  {
    const M = Math.min(N, 20_000_000);
    const item = { n: 1 };
    const queue: { n: number }[] = [];
    let acc = 0;
    let t0 = performance.now();
    for (let i = 0; i < M; i += 256) {
      for (let k = 0; k < 256; k++) queue.push(item);
      for (let k = 0; k < 256; k++) acc += queue.shift()!.n;
    }
    report({ bench: 'ring', case: 'baseline: plain array push/shift, bursts of 256, one thread', items: M, seconds: since(t0) });
    const ring = new RingBuffer<{ n: number }>({ capacity: 1024 });
    t0 = performance.now();
    for (let i = 0; i < M; i += 256) {
      for (let k = 0; k < 256; k++) ring.push(item);
      for (let k = 0; k < 256; k++) acc += ring.shift()!.n;
    }
    report({
      bench: 'ring',
      case: 'RingBuffer push/shift, bursts of 256, one thread',
      items: M,
      seconds: since(t0),
      note: `acc ${acc > 0}`,
    });
  }

  // Cross-thread baseline: the same 64-byte records written then read by one thread.
  {
    const block = new Float64Array(1024 * WORDS);
    let sum = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i += 1024) {
      for (let j = 0; j < 1024; j++) {
        const w = j * WORDS;
        const k = i + j;
        block[w] = k;
        block[w + 1] = 1.7e18 + k;
        block[w + 2] = 1_265_500 + (k & 1023);
        block[w + 3] = 1 + (k & 255);
        block[w + 4] = k & 1;
      }
      for (let j = 0; j < 1024; j++) {
        const w = j * WORDS;
        sum += block[w + 2]! * block[w + 3]!;
      }
    }
    report({
      bench: 'ring',
      case: 'baseline: same 64-B records written and read by one thread, no ring',
      items: N,
      seconds: since(t0),
      note: `${sum > 0}`,
    });
  }

  for (const batch of [1, 64]) {
    const sab = createSharedRing({ recordBytes: RECORD, capacity: 65_536, overflow: 'block' });
    const c = new SharedRingConsumer(sab);
    const w = new Worker(new URL(import.meta.url), { workerData: { sab, count: N, batch } });
    await new Promise((r) => w.once('online', r));
    let expected = 0;
    let bad = 0;
    let sum = 0;
    const handler = (v: RecordViews, o: number): void => {
      const f = v.f64;
      const x = o >> 3;
      if (f[x] !== expected++) bad++;
      sum += f[x + 2]! * f[x + 3]!;
    };
    const t0 = performance.now();
    for (;;) {
      if (c.poll(handler) === 0) {
        if (c.done) break;
        c.waitSync(1);
      }
    }
    const s = since(t0);
    await w.terminate();
    report({
      bench: 'ring',
      case: `SharedRing worker → main thread, 64-B records, block, tail published every ${batch}`,
      items: N,
      seconds: s,
      note: `${bad === 0 && expected === N ? 'no loss, in order' : `LOST OR REORDERED: ${bad}`}; high water ${c.stats().highWater}${sum > 0 ? '' : '!'}`,
    });
  }
}
