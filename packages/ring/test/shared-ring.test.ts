import { createSharedRing, SHARED_RING_HEADER_BYTES, SharedRingConsumer, SharedRingProducer } from '@mdcap/ring';
import type { OverflowPolicy, RecordViews } from '@mdcap/ring';
import { describe, expect, it } from 'vitest';

function produce(p: SharedRingProducer, from: number, to: number): number[] {
  const accepted: number[] = [];
  for (let i = from; i < to; i++) {
    const o = p.claim();
    if (o < 0) continue;
    p.views.f64[o >> 3] = i;
    p.commit();
    accepted.push(i);
  }
  return accepted;
}

function consumeAll(c: SharedRingConsumer): number[] {
  const out: number[] = [];
  c.poll((v: RecordViews, o: number) => out.push(v.f64[o >> 3]!));
  return out;
}

function ring(overflow: OverflowPolicy, capacity = 8): [SharedRingProducer, SharedRingConsumer] {
  const sab = createSharedRing({ recordBytes: 16, capacity, overflow });
  return [new SharedRingProducer(sab), new SharedRingConsumer(sab)];
}

describe('SharedRing on one thread', () => {
  it('lays records out after a 512-byte header', () => {
    const sab = createSharedRing({ recordBytes: 64, capacity: 1024 });
    expect(sab.byteLength).toBe(SHARED_RING_HEADER_BYTES + 64 * 1024);
    const p = new SharedRingProducer(sab);
    expect(p.claim()).toBe(512);
    expect(p.capacity).toBe(1024);
    expect(p.overflow).toBe('block');
  });

  it.each([0, 4, 12, -8, 1.5])('rejects recordBytes %s with MDCAP_ERR_RING_RECORD_SIZE', (recordBytes) => {
    expect(() => createSharedRing({ recordBytes })).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_RING_RECORD_SIZE' }));
  });

  it('rejects a buffer that is not a ring', () => {
    expect(() => new SharedRingConsumer(new SharedArrayBuffer(1024))).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_RING_BUFFER', message: expect.stringMatching(/expected header magic/) }),
    );
    expect(() => new SharedRingConsumer(new ArrayBuffer(1024) as never)).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_RING_BUFFER' }),
    );
  });

  it('block: tryClaim refuses a full ring, nothing is lost', () => {
    const [p, c] = ring('block');
    expect(produce(p, 0, 8)).toHaveLength(8);
    expect(p.tryClaim()).toBe(-1);
    expect(consumeAll(c)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(p.tryClaim()).toBeGreaterThan(0);
    expect(c.stats()).toMatchObject({ pushed: 8, popped: 8, drops: 0, highWater: 8, depth: 0 });
  });

  it('drop-newest: counts exactly the refused records', () => {
    const [p, c] = ring('drop-newest');
    expect(produce(p, 0, 20)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(consumeAll(c)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(c.stats()).toMatchObject({ pushed: 8, popped: 8, drops: 12 });
  });

  it('drop-oldest: keeps the newest capacity records and counts exactly the rest', () => {
    const [p, c] = ring('drop-oldest');
    produce(p, 0, 20);
    expect(consumeAll(c)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    expect(c.stats()).toMatchObject({ pushed: 20, popped: 8, drops: 12 });
    produce(p, 20, 24);
    expect(consumeAll(c)).toEqual([20, 21, 22, 23]);
    expect(c.stats()).toMatchObject({ pushed: 24, popped: 12, drops: 12 });
  });

  it('drop-oldest: a full ring that is not being written loses nothing', () => {
    const [p, c] = ring('drop-oldest', 4);
    produce(p, 0, 4);
    p.close();
    expect(consumeAll(c)).toEqual([0, 1, 2, 3]);
    expect(c.stats().drops).toBe(0);
  });

  it('records keep their exact bits, NaN payloads included', () => {
    const [p, c] = ring('drop-oldest');
    const o = p.claim();
    p.views.u32[o >> 2] = 0x7ff80001; // a NaN with a payload, as a float64's high word
    p.views.u32[(o >> 2) + 1] = 0xdeadbeef;
    p.views.i64[(o >> 3) + 1] = -12345678901234567n;
    p.commit();
    const got: string[] = [];
    c.poll((v, off) => got.push(`${v.u32[off >> 2]!.toString(16)} ${v.u32[(off >> 2) + 1]!.toString(16)} ${v.i64[(off >> 3) + 1]}`));
    expect(got).toEqual(['7ff80001 deadbeef -12345678901234567']);
  });

  it('a consumer waiting for data notices close() even when it races the wait', async () => {
    const [p, c] = ring('block');
    const waited = c.waitForData(5_000);
    p.close();
    expect(await waited).toBe(true);
    expect(c.done).toBe(true);
  });

  it('survives the 32-bit head/tail wrap', () => {
    const sab = createSharedRing({ recordBytes: 8, capacity: 16 });
    const ctrl = new Int32Array(sab);
    ctrl[16] = ctrl[32] = 0x7fff_fff0; // tail and head, 16 short of the int32 sign flip
    const p = new SharedRingProducer(sab);
    const c = new SharedRingConsumer(sab);
    const seen: number[] = [];
    for (let round = 0; round < 10; round++) {
      produce(p, round * 10, round * 10 + 10);
      seen.push(...consumeAll(c));
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('batched publishing hides records until flush', () => {
    const sab = createSharedRing({ recordBytes: 8, capacity: 64 });
    const p = new SharedRingProducer(sab, { batch: 16 });
    const c = new SharedRingConsumer(sab);
    produce(p, 0, 10);
    expect(c.available()).toBe(0);
    p.flush();
    expect(c.available()).toBe(10);
    p.close();
    expect(consumeAll(c)).toHaveLength(10);
    expect(c.done).toBe(true);
  });
});
