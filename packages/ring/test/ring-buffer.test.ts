import { MdcapError } from '@mdcap/core';
import { RingBuffer } from '@mdcap/ring';
import { describe, expect, it } from 'vitest';

function fill(ring: RingBuffer<number>, from: number, to: number): boolean[] {
  const accepted: boolean[] = [];
  for (let i = from; i < to; i++) accepted.push(ring.push(i));
  return accepted;
}

function drainAll(ring: RingBuffer<number>): number[] {
  const out: number[] = [];
  ring.drain((x) => out.push(x));
  return out;
}

describe('RingBuffer', () => {
  it('defaults to 65,536 slots and block', () => {
    const ring = new RingBuffer<number>();
    expect(ring.capacity).toBe(65_536);
    expect(ring.overflow).toBe('block');
  });

  it.each([0, 1, 3, 1000, 2 ** 31, 1.5, Number.NaN])('rejects capacity %s with MDCAP_ERR_RING_CAPACITY', (capacity) => {
    expect(() => new RingBuffer({ capacity })).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_RING_CAPACITY' }));
  });

  it('rejects an unknown overflow policy', () => {
    const make = (): unknown => new RingBuffer({ overflow: 'spill' as never });
    expect(make).toThrow(MdcapError);
    expect(make).toThrow(/expected one of block, drop-newest, drop-oldest, found "spill"/);
  });

  it('keeps FIFO order across many wrap-arounds', () => {
    const ring = new RingBuffer<number>({ capacity: 8 });
    const seen: number[] = [];
    let next = 0;
    for (let round = 0; round < 1000; round++) {
      const k = 1 + (round % 8);
      for (let i = 0; i < k; i++) expect(ring.push(next++)).toBe(true);
      for (let i = 0; i < k; i++) seen.push(ring.shift()!);
    }
    expect(seen).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(ring.shift()).toBeUndefined();
  });

  it('block refuses a full ring without losing anything and signals when writable', async () => {
    const ring = new RingBuffer<number>({ capacity: 4, overflow: 'block' });
    expect(fill(ring, 0, 6)).toEqual([true, true, true, true, false, false]);
    let writable = false;
    const waiting = ring.whenWritable().then(() => (writable = true));
    await Promise.resolve();
    expect(writable).toBe(false);
    expect(ring.shift()).toBe(0);
    await waiting;
    expect(writable).toBe(true);
    expect(ring.push(4)).toBe(true);
    expect(drainAll(ring)).toEqual([1, 2, 3, 4]);
    expect(ring.stats()).toEqual({ capacity: 4, depth: 0, highWater: 4, pushed: 5, popped: 5, drops: 0 });
  });

  it('drop-newest discards the pushed record and counts it', () => {
    const ring = new RingBuffer<number>({ capacity: 4, overflow: 'drop-newest' });
    expect(fill(ring, 0, 10)).toEqual([true, true, true, true, false, false, false, false, false, false]);
    expect(drainAll(ring)).toEqual([0, 1, 2, 3]);
    expect(ring.stats()).toMatchObject({ drops: 6, pushed: 4, popped: 4, highWater: 4 });
  });

  it('drop-oldest overwrites the oldest record and counts it', () => {
    const ring = new RingBuffer<number>({ capacity: 4, overflow: 'drop-oldest' });
    expect(fill(ring, 0, 10).every(Boolean)).toBe(true);
    expect(drainAll(ring)).toEqual([6, 7, 8, 9]);
    expect(ring.stats()).toMatchObject({ drops: 6, pushed: 10, popped: 4, depth: 0 });
  });

  it('reports depth and the high-water mark', () => {
    const ring = new RingBuffer<number>({ capacity: 16 });
    fill(ring, 0, 5);
    ring.shift();
    fill(ring, 5, 7);
    expect(ring.stats()).toMatchObject({ depth: 6, highWater: 6 });
    ring.drain(() => {}, 4);
    expect(ring.length).toBe(2);
    expect(ring.stats().highWater).toBe(6);
  });

  it('drain stops at max and keeps the rest', () => {
    const ring = new RingBuffer<number>({ capacity: 8 });
    fill(ring, 0, 6);
    const out: number[] = [];
    expect(ring.drain((x) => out.push(x), 4)).toBe(4);
    expect(out).toEqual([0, 1, 2, 3]);
    expect(ring.peek()).toBe(4);
  });
});
