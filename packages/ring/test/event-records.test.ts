import { createBar, createBookUpdate, createOrderUpdate, createQuote, createStatus, createTrade, formatEventJson } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { createSharedRing, EVENT_RECORD_BYTES, EventRecordReader, EventRecordWriter } from '@mdcap/ring';
import type { EventRecordHandler } from '@mdcap/ring';
import { describe, expect, it } from 'vitest';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;
const h = { venue: 'kraken', symbol: 'XBT/USD', tsEvent: 1_700_000_000_123_456_789n, tsRecv: 1_700_000_000_223_456_789n };

/** Every kind, with the edge values each field allows. */
function samples(): MarketEvent[] {
  return [
    createTrade({ ...h, seq: 7n, price: 4_321_012_345n, size: 5n, priceScale: 5, sizeScale: 8, side: 'buy', tradeId: '123456789' }),
    createTrade({ ...h, price: I64_MIN, size: I64_MAX, priceScale: 18, sizeScale: 0, side: 'sell', tradeId: '' }),
    createTrade({ ...h, seq: U64_MAX, price: I64_MAX, size: 0n, priceScale: 0, sizeScale: 18 }),
    createTrade({ ...h, symbol: 'ÉTH/€', price: 1n, size: 1n, priceScale: 2, sizeScale: 2, tradeId: 'ü-✓-𝄞' }),
    createQuote({ ...h, seq: 0n, bidPrice: 100n, bidSize: 2n, askPrice: 101n, askSize: 3n, priceScale: 2, sizeScale: 0 }),
    createQuote({ ...h, bidPrice: null, bidSize: 0n, askPrice: null, askSize: 0n, priceScale: 2, sizeScale: 0 }),
    createBookUpdate({ ...h, seq: 99n, side: 'ask', price: 5n, size: 0n, priceScale: 1, sizeScale: 1, flags: 2 | 8 }),
    createOrderUpdate({
      ...h,
      action: 'modify',
      orderId: U64_MAX,
      side: 'bid',
      price: 9n,
      size: 1n,
      priceScale: 9,
      sizeScale: 0,
      flags: 8,
    }),
    createOrderUpdate({ ...h, action: 'clear', orderId: 'a-string-id', side: 'ask', price: 0n, size: 0n, priceScale: 9, sizeScale: 0 }),
    createOrderUpdate({ ...h, action: 'fill', orderId: -5n, side: 'ask', price: 0n, size: 0n, priceScale: 9, sizeScale: 0 }),
    createOrderUpdate({ ...h, action: 'cancel', orderId: 2n ** 70n, side: 'bid', price: 1n, size: 2n, priceScale: 9, sizeScale: 0 }),
    createBar({
      ...h,
      interval: 86_400,
      start: 0n,
      end: 86_400_000_000_000n,
      open: 1n,
      high: 9n,
      low: -3n,
      close: 4n,
      volume: I64_MAX,
      trades: 2 ** 40,
      priceScale: 4,
      sizeScale: 6,
      flags: 1 | 4,
    }),
    createStatus({ ...h, symbol: '*', kind: 'gap', fromSeq: 10n, toSeq: U64_MAX, detail: 'ids 10..max missing' }),
    createStatus({ ...h, kind: 'checksum', ok: false, detail: '' }),
    createStatus({ ...h, kind: 'checksum', ok: true }),
    createStatus({ ...h, kind: 'gap', fromSeq: 2n ** 80n, toSeq: null, detail: 'line one\nline two' }),
    createStatus({ ...h, kind: 'trading', detail: 'x'.repeat(1000) }),
  ];
}

function collect(): EventRecordHandler & { out: string[] } {
  const out: string[] = [];
  return {
    out,
    event: (e) => out.push(formatEventJson(e)),
    lost: (e) => out.push(`lost ${(e as { code?: string }).code ?? '-'} ${e.message}`),
    end: (e) => out.push(`end ${e === undefined ? '' : e.message}`),
  };
}

describe('event records in a shared ring', () => {
  it('carries every kind and edge value bit-exact, in order, with names defined once', () => {
    const sab = createSharedRing({ recordBytes: EVENT_RECORD_BYTES, capacity: 1024 });
    const w = new EventRecordWriter(sab);
    const r = new EventRecordReader(sab);
    const events = samples();
    for (const e of events) w.write(e);
    w.flush();
    const c = collect();
    expect(r.read(c)).toBe(events.length);
    expect(c.out).toEqual(events.map(formatEventJson));
    // Property order too: the decoded objects have the factories' shapes.
    const again: MarketEvent[] = [];
    for (const e of events) w.write(e);
    w.flush();
    r.read({ event: (e) => again.push(e), lost: () => undefined, end: () => undefined });
    expect(again.map((e) => Object.keys(e))).toEqual(events.map((e) => Object.keys(e)));
    expect(again).toEqual(events);
  });

  it('stops before the first event stamped at or after `before`, and goes on from it', () => {
    const sab = createSharedRing({ recordBytes: EVENT_RECORD_BYTES, capacity: 256 });
    const w = new EventRecordWriter(sab);
    const r = new EventRecordReader(sab);
    for (let i = 0; i < 10; i++) {
      w.write(createTrade({ ...h, tsRecv: 1000n + BigInt(i), price: BigInt(i), size: 1n, priceScale: 0, sizeScale: 0, tradeId: `t${i}` }));
    }
    w.flush();
    const c = collect();
    expect(r.read(c, 1004n)).toBe(4);
    expect(r.stoppedAt).toBe(true);
    expect(r.read(c, 1004n)).toBe(0);
    expect(r.read(c, null, 3)).toBe(3);
    expect(r.stoppedAt).toBe(false);
    expect(r.read(c)).toBe(3);
    expect(r.stoppedAt).toBe(false);
    expect(c.out.map((l) => JSON.parse(l).price as string)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('keeps an event whose text records are not published yet, and completes it later', () => {
    const sab = createSharedRing({ recordBytes: EVENT_RECORD_BYTES, capacity: 256 });
    const w = new EventRecordWriter(sab, { batch: 2 }); // publishes every second record
    const r = new EventRecordReader(sab);
    const long = createStatus({ ...h, kind: 'gap', detail: 'd'.repeat(EVENT_RECORD_BYTES * 3 + 5) });
    w.write(long); // name records (2) + header + 4 text records
    const c = collect();
    r.read(c);
    expect(c.out).toEqual([]);
    w.flush();
    r.read(c);
    expect(c.out).toEqual([formatEventJson(long)]);
  });

  it('cuts a status detail beyond 60,000 bytes and says so', () => {
    const sab = createSharedRing({ recordBytes: EVENT_RECORD_BYTES, capacity: 1024 });
    const w = new EventRecordWriter(sab);
    const r = new EventRecordReader(sab);
    w.write(createStatus({ ...h, kind: 'gap', detail: 'y'.repeat(70_000) }));
    w.flush();
    const got: MarketEvent[] = [];
    r.read({ event: (e) => got.push(e), lost: () => undefined, end: () => undefined });
    const detail = (got[0] as { detail: string }).detail;
    expect(detail.startsWith('y'.repeat(60_000))).toBe(true);
    expect(detail).toContain('(10000 more characters cut)');
  });

  it('delivers lost and end in order with the events, keeping error codes', () => {
    const sab = createSharedRing({ recordBytes: EVENT_RECORD_BYTES, capacity: 64 });
    const w = new EventRecordWriter(sab);
    const r = new EventRecordReader(sab);
    const [t] = samples();
    w.write(t!);
    w.lost(Object.assign(new Error('closed by the venue (code 1006)'), { code: 'MDCAP_ERR_CONNECT_FAILED' }));
    w.write(t!);
    w.end(new Error('no more'));
    w.end();
    const c = collect();
    r.read(c);
    expect(c.out).toEqual([
      formatEventJson(t!),
      'lost MDCAP_ERR_CONNECT_FAILED closed by the venue (code 1006)',
      formatEventJson(t!),
      'end no more',
      'end ',
    ]);
  });

  it('drop-newest drops whole events and marks them with one gap status', () => {
    const sab = createSharedRing({ recordBytes: EVENT_RECORD_BYTES, capacity: 16, overflow: 'drop-newest' });
    const w = new EventRecordWriter(sab);
    const r = new EventRecordReader(sab);
    const trade = (i: number): MarketEvent =>
      createTrade({ ...h, tsRecv: 5000n + BigInt(i), price: BigInt(i), size: 1n, priceScale: 0, sizeScale: 0, tradeId: `id-${i}` });
    for (let i = 0; i < 20; i++) w.write(trade(i)); // names take 2 × 2 records, then 2 per trade: 6 fit
    w.flush();
    expect(w.dropped).toBe(14);
    const c = collect();
    r.read(c);
    w.write(trade(20));
    w.flush();
    r.read(c);
    expect(c.out.length).toBe(6 + 2);
    const gap = JSON.parse(c.out[6]!) as Record<string, string>;
    expect(gap).toMatchObject({ type: 'status', kind: 'gap', symbol: '*', tsRecv: '5006' });
    expect(gap['detail']).toContain('14 events dropped by the shared ring');
    expect(JSON.parse(c.out[7]!).price).toBe('20');
  });

  it('refuses drop-oldest rings and rings of another record size', () => {
    expect(() => new EventRecordWriter(createSharedRing({ recordBytes: 128, capacity: 16, overflow: 'drop-oldest' }))).toThrow(
      /MDCAP_ERR_RING_POLICY|drop-oldest/,
    );
    expect(() => new EventRecordReader(createSharedRing({ recordBytes: 64, capacity: 16 }))).toThrow(/128-byte records, found 64/);
  });
});
