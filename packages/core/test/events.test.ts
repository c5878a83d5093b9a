import fc from 'fast-check';
import {
  BookFlags,
  createBar,
  createBookUpdate,
  createOrderUpdate,
  createQuote,
  createStatus,
  createTrade,
  eventToJson,
  formatEventJson,
  isWellFormed,
  validateEvent,
} from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { describe, expect, it } from 'vitest';

const T = 1_704_205_800_000_000_000n;
const head = { venue: 'demo', symbol: 'AAPL', tsEvent: T, tsRecv: T + 1000n };

const samples: MarketEvent[] = [
  createTrade({ ...head, seq: 7n, price: 15025n, size: 100n, priceScale: 2, sizeScale: 0, side: 'buy', tradeId: '42' }),
  createQuote({ ...head, bidPrice: 15024n, bidSize: 300n, askPrice: null, askSize: 0n, priceScale: 2, sizeScale: 0 }),
  createBookUpdate({ ...head, side: 'bid', price: 15024n, size: 0n, priceScale: 2, sizeScale: 0, flags: BookFlags.Last }),
  createOrderUpdate({ ...head, action: 'add', orderId: 16113575n, side: 'ask', price: 5853300n, size: 18n, priceScale: 4, sizeScale: 0 }),
  createBar({
    ...head,
    interval: 60,
    start: T,
    end: T + 60_000_000_000n,
    open: 1n,
    high: 3n,
    low: 1n,
    close: 2n,
    volume: 9n,
    trades: 3,
    priceScale: 2,
    sizeScale: 0,
  }),
  createStatus({ ...head, symbol: '*', kind: 'gap', fromSeq: 8n, toSeq: 9n, detail: 'lost' }),
];

describe('factories', () => {
  it('fill defaults and keep one property order per kind', () => {
    const t = createTrade({ ...head, price: 1n, size: 1n, priceScale: 0, sizeScale: 0 });
    expect(t).toEqual({ type: 'trade', ...head, seq: null, price: 1n, size: 1n, priceScale: 0, sizeScale: 0, side: 'none', tradeId: null });
    expect(Object.keys(t)).toEqual([
      'type',
      'venue',
      'symbol',
      'tsEvent',
      'tsRecv',
      'seq',
      'price',
      'size',
      'priceScale',
      'sizeScale',
      'side',
      'tradeId',
    ]);
    expect(
      createBar({
        ...head,
        interval: 1,
        start: 0n,
        end: 5n,
        open: 0n,
        high: 0n,
        low: 0n,
        close: 0n,
        volume: 0n,
        trades: 0,
        priceScale: 0,
        sizeScale: 0,
      }).tsEvent,
    ).toBe(T);
  });

  it('reject a negative size with MDCAP_ERR_NEGATIVE_SIZE', () => {
    expect(() => createTrade({ ...head, price: 1n, size: -5n, priceScale: 0, sizeScale: 0 })).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_NEGATIVE_SIZE',
        message: 'trade demo:AAPL: size: expected a size of 0 or more, found -5n',
      }),
    );
    expect(() => createBookUpdate({ ...head, side: 'ask', price: 1n, size: -1n, priceScale: 0, sizeScale: 0 })).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_NEGATIVE_SIZE' }),
    );
  });

  it('reject float prices and number timestamps with a hint', () => {
    expect(() => createTrade({ ...head, price: 150.25 as unknown as bigint, size: 1n, priceScale: 2, sizeScale: 0 })).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_INVALID_EVENT',
        message: expect.stringContaining(
          'price: expected a bigint mantissa (a number; parse venue prices with parseDecimal), found 150.25',
        ),
      }),
    );
    expect(() =>
      createTrade({ ...head, tsEvent: 1700000000000 as unknown as bigint, price: 1n, size: 1n, priceScale: 2, sizeScale: 0 }),
    ).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_INVALID_TIMESTAMP',
        message: expect.stringContaining('nanosecond timestamps must be bigint'),
      }),
    );
  });
});

describe('validateEvent and isWellFormed', () => {
  it('accept every factory-built event', () => {
    for (const e of samples) {
      expect(isWellFormed(e)).toBe(true);
      expect(validateEvent(e)).toBe(e);
    }
  });

  it.each([
    ['type', 'tick', 'MDCAP_ERR_INVALID_EVENT'],
    ['venue', '', 'MDCAP_ERR_INVALID_EVENT'],
    ['tsRecv', 2n ** 63n, 'MDCAP_ERR_INVALID_TIMESTAMP'],
    ['seq', -1n, 'MDCAP_ERR_INVALID_EVENT'],
    ['priceScale', 19, 'MDCAP_ERR_INVALID_EVENT'],
    ['side', 'long', 'MDCAP_ERR_INVALID_EVENT'],
    ['tradeId', 42, 'MDCAP_ERR_INVALID_EVENT'],
  ])('a trade with %s = %s fails with %s', (field, value, code) => {
    const bad = { ...samples[0], [field]: value } as unknown as MarketEvent;
    expect(isWellFormed(bad)).toBe(false);
    expect(() => validateEvent(bad)).toThrow(expect.objectContaining({ code }));
  });

  it('agree with each other on randomly broken events', () => {
    const junk = fc.constantFrom<unknown>(
      undefined,
      null,
      -1,
      0,
      1.5,
      19,
      '',
      'x',
      'bid',
      'add',
      'gap',
      -1n,
      0n,
      2n ** 63n,
      2n ** 64n,
      true,
      {},
      [],
    );
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.integer({ min: 0, max: 20 }), junk, (e, k, value) => {
        const keys = Object.keys(e);
        const broken = { ...e, [keys[k % keys.length]!]: value };
        let threw = false;
        try {
          validateEvent(broken);
        } catch {
          threw = true;
        }
        expect(isWellFormed(broken)).toBe(!threw);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('canonical JSON', () => {
  it('prints prices as exact decimals and 64-bit integers as strings, in a fixed key order', () => {
    expect(formatEventJson(samples[0]!)).toBe(
      '{"type":"trade","venue":"demo","symbol":"AAPL","tsEvent":"1704205800000000000","tsRecv":"1704205800000001000","seq":"7","price":"150.25","size":"100","side":"buy","tradeId":"42"}',
    );
    expect(eventToJson(samples[1]!)).toMatchObject({ bidPrice: '150.24', askPrice: null, askSize: '0' });
    expect(eventToJson(samples[3]!)).toMatchObject({ orderId: '16113575', price: '585.3300' });
    expect(eventToJson(samples[4]!)).toMatchObject({
      interval: 60,
      start: `${T}`,
      end: `${T + 60_000_000_000n}`,
      open: '0.01',
      volume: '9',
      trades: 3,
    });
    expect(eventToJson(samples[5]!)).toMatchObject({ kind: 'gap', fromSeq: '8', toSeq: '9', ok: null });
  });
});

describe('consistency rules', () => {
  it('an empty quote side has size 0, and a gap range runs forward', () => {
    expect(() => createQuote({ ...head, bidPrice: null, bidSize: 5n, askPrice: 2n, askSize: 1n, priceScale: 0, sizeScale: 0 })).toThrow(
      /bidSize: expected 0n for an empty side \(bidPrice is null\), found 5n/,
    );
    expect(() => createStatus({ ...head, kind: 'gap', fromSeq: 9n, toSeq: 8n })).toThrow(
      /toSeq: expected a sequence at or after fromSeq 9, found 8n/,
    );
    expect(isWellFormed({ ...samples[1]!, askSize: 1n } as MarketEvent)).toBe(false);
  });
});
