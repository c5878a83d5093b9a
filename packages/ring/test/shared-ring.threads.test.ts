import { Worker } from 'node:worker_threads';
import { createSharedRing, SharedRingConsumer } from '@mdcap/ring';
import type { OverflowPolicy, RecordViews } from '@mdcap/ring';
import { describe, expect, it } from 'vitest';

// A real worker_thread produces; the main thread consumes. The worker loads the built package
// (the test command builds first).
const PRODUCER = new URL('./fixtures/producer.mjs', import.meta.url);
const RECORD_BYTES = 64;

interface RunResult {
  received: number;
  firstBad: string | null;
  lastSeq: number;
  workerDropped: number;
  stats: ReturnType<SharedRingConsumer['stats']>;
}

async function run(overflow: OverflowPolicy, count: number, capacity: number, slowEvery = 0): Promise<RunResult> {
  const sab = createSharedRing({ recordBytes: RECORD_BYTES, capacity, overflow });
  const consumer = new SharedRingConsumer(sab);
  const worker = new Worker(PRODUCER, { workerData: { sab, count, batch: overflow === 'block' ? 64 : 1 } });
  const exited = new Promise<{ dropped: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const words = RECORD_BYTES / 8;
  let received = 0;
  let lastSeq = -1;
  let firstBad: string | null = null;
  let sink = 0;
  const check = (v: RecordViews, o: number): void => {
    const w = o >> 3;
    const seq = v.f64[w]!;
    if (firstBad === null) {
      if (overflow === 'block' ? seq !== lastSeq + 1 : seq <= lastSeq) firstBad = `seq ${seq} after ${lastSeq}`;
      else if (v.f64[w + words - 1] !== -seq || v.f64[w + 3] !== seq * 8 + 3) firstBad = `torn record ${seq}`;
    }
    lastSeq = seq;
    received++;
    if (slowEvery > 0 && received % slowEvery === 0) for (let k = 0; k < 20_000; k++) sink += k; // a slow consumer
  };
  await consumer.consume(check);
  const { dropped } = await exited;
  await worker.terminate();
  expect(sink).toBeGreaterThanOrEqual(0);
  return { received, firstBad, lastSeq, workerDropped: dropped, stats: consumer.stats() };
}

describe('SharedRing across two threads', () => {
  it('block: moves 5,000,000 records with no loss and no reordering', async () => {
    const r = await run('block', 5_000_000, 1024);
    expect(r.firstBad).toBeNull();
    expect(r.received).toBe(5_000_000);
    expect(r.lastSeq).toBe(4_999_999);
    expect(r.stats).toMatchObject({ pushed: 5_000_000, popped: 5_000_000, drops: 0, depth: 0 });
    expect(r.stats.highWater).toBeGreaterThan(0);
    expect(r.stats.highWater).toBeLessThanOrEqual(1024);
  });

  it('drop-newest: a slow consumer loses records, every loss is counted, order holds', async () => {
    const count = 2_000_000;
    const r = await run('drop-newest', count, 256, 64);
    expect(r.firstBad).toBeNull();
    expect(r.workerDropped).toBeGreaterThan(0);
    expect(r.stats.drops).toBe(r.workerDropped);
    expect(r.received + r.stats.drops).toBe(count);
    expect(r.stats).toMatchObject({ pushed: r.received, popped: r.received });
  });

  it('drop-oldest: a slow consumer loses the oldest records, never sees a torn one, keeps the newest', async () => {
    const count = 2_000_000;
    const r = await run('drop-oldest', count, 256, 64);
    expect(r.firstBad).toBeNull();
    expect(r.workerDropped).toBe(0);
    expect(r.stats.drops).toBeGreaterThan(0);
    expect(r.received + r.stats.drops).toBe(count);
    expect(r.lastSeq).toBe(count - 1);
    expect(r.stats).toMatchObject({ pushed: count, popped: r.received });
  });
});
