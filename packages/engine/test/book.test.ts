import { BookFlags } from '@mdcap/core';
import { BookTopBuffer, OrderBook, RealtimeEngine } from '@mdcap/engine';
import type { BookView } from '@mdcap/engine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { level, ManualProvider, order, SEC, status, T0 } from './helpers.js';

const { Snapshot, SnapshotBegin, SnapshotEnd, Last } = BookFlags;

function snapshot(symbol: string, ts: bigint, bids: [bigint, bigint][], asks: [bigint, bigint][]) {
  const all = [...bids.map(([p, s]) => ['bid', p, s] as const), ...asks.map(([p, s]) => ['ask', p, s] as const)];
  return all.map(([side, p, s], i) =>
    level(symbol, ts, side, p, s, Snapshot | (i === 0 ? SnapshotBegin : 0) | (i === all.length - 1 ? SnapshotEnd | Last : 0)),
  );
}

function tops(b: BookView, n = 10): string {
  const t = b.top(n);
  return `${t.bids.map((l) => `${l.price}x${l.size}`).join(',')} | ${t.asks.map((l) => `${l.price}x${l.size}`).join(',')}`;
}

describe('L2 book', () => {
  it('a snapshot builds the book; deltas set levels; size 0 removes; best, top-N, depth', () => {
    const b = new OrderBook('test', 'AAPL');
    expect(b.valid).toBe(false);
    for (const u of snapshot(
      'AAPL',
      T0,
      [
        [15000n, 5n],
        [14990n, 7n],
        [14995n, 1n],
      ],
      [
        [15010n, 3n],
        [15020n, 9n],
      ],
    )) {
      b.applyBookUpdate(u);
    }
    expect(b.valid).toBe(true);
    expect(tops(b)).toBe('15000x5,14995x1,14990x7 | 15010x3,15020x9');
    b.applyBookUpdate(level('AAPL', T0 + 1n, 'bid', 15005n, 2n, Last));
    b.applyBookUpdate(level('AAPL', T0 + 2n, 'ask', 15010n, 0n, Last));
    b.applyBookUpdate(level('AAPL', T0 + 3n, 'bid', 14995n, 4n, Last));
    expect([b.bestBidPrice(), b.bestBidSize(), b.bestAskPrice(), b.bestAskSize()]).toEqual([15005n, 2n, 15020n, 9n]);
    expect(tops(b, 2)).toBe('15005x2,15000x5 | 15020x9');
    expect([b.depth('bid'), b.depth('ask')]).toEqual([4, 1]);
    expect(b.level('bid', 3)).toEqual({ price: 14990n, size: 7n });
    expect(b.level('bid', 4)).toBeUndefined();
    expect(b.sizeAt('bid', 14995n)).toBe(4n);
    expect(b.sizeAt('ask', 1n)).toBe(0n);
    b.applyBookUpdate(level('AAPL', T0 + 4n, 'ask', 99999n, 0n, Last));
    expect(b.stats()).toMatchObject({ applied: 9, removedMissingLevel: 1 });
  });

  it('a new snapshot replaces the book; an invalidated book ignores deltas until the next snapshot', () => {
    const b = new OrderBook('test', 'AAPL');
    b.applyBookUpdate(level('AAPL', T0, 'bid', 1n, 1n, Last));
    expect(b.stats().ignoredWhileInvalid).toBe(1);
    for (const u of snapshot('AAPL', T0, [[100n, 1n]], [[101n, 1n]])) b.applyBookUpdate(u);
    b.invalidate();
    expect([b.valid, b.depth('bid'), b.depth('ask')]).toEqual([false, 0, 0]);
    b.applyBookUpdate(level('AAPL', T0, 'bid', 100n, 5n, Last));
    expect(b.depth('bid')).toBe(0);
    for (const u of snapshot('AAPL', T0, [[99n, 2n]], [[102n, 2n]])) b.applyBookUpdate(u);
    expect(tops(b)).toBe('99x2 | 102x2');
    expect(b.stats()).toMatchObject({ ignoredWhileInvalid: 2, invalidations: 1 });
  });

  it('an empty snapshot is one update flagged begin and end with size 0', () => {
    const b = new OrderBook('test', 'AAPL');
    b.applyBookUpdate(level('AAPL', T0, 'bid', 0n, 0n, Snapshot | SnapshotBegin | SnapshotEnd | Last));
    expect([b.valid, b.depth('bid'), b.bestBidPrice()]).toEqual([true, 0, null]);
  });

  it('reports crossing at packet boundaries only, once per crossing', () => {
    const b = new OrderBook('test', 'AAPL');
    for (const u of snapshot('AAPL', T0, [[100n, 1n]], [[101n, 1n]])) b.applyBookUpdate(u);
    expect(b.applyBookUpdate(level('AAPL', T0, 'bid', 102n, 1n))).toBe(false); // mid-packet
    expect(b.applyBookUpdate(level('AAPL', T0, 'ask', 101n, 2n, Last))).toBe(true);
    expect(b.crossed).toBe(true);
    expect(b.applyBookUpdate(level('AAPL', T0, 'bid', 103n, 1n, Last))).toBe(false); // still crossed
    b.applyBookUpdate(level('AAPL', T0, 'bid', 103n, 0n));
    expect(b.applyBookUpdate(level('AAPL', T0, 'bid', 102n, 0n, Last))).toBe(false);
    expect(b.crossed).toBe(false);
    expect(b.stats().crossings).toBe(1);
  });

  it('matches a naive model on random update sequences', () => {
    const buffer = new BookTopBuffer();
    fc.assert(
      fc.property(
        fc.array(fc.record({ bid: fc.boolean(), price: fc.bigInt({ min: 1n, max: 40n }), size: fc.bigInt({ min: 0n, max: 3n }) }), {
          maxLength: 300,
        }),
        (ops) => {
          const b = new OrderBook('test', 'X');
          b.applyBookUpdate(level('X', T0, 'bid', 0n, 0n, Snapshot | SnapshotBegin | SnapshotEnd | Last));
          const model = { bid: new Map<bigint, bigint>(), ask: new Map<bigint, bigint>() };
          for (const op of ops) {
            const side = op.bid ? 'bid' : 'ask';
            b.applyBookUpdate(level('X', T0, side, op.price, op.size, Last));
            if (op.size === 0n) model[side].delete(op.price);
            else model[side].set(op.price, op.size);
          }
          const sorted = (m: Map<bigint, bigint>, desc: boolean) =>
            [...m].sort((x, y) => (x[0] < y[0] ? (desc ? 1 : -1) : desc ? -1 : 1)).map(([p, s]) => ({ price: p, size: s }));
          expect(b.top(100)).toEqual({ bids: sorted(model.bid, true), asks: sorted(model.ask, false) });
          // The reads without objects say the same, also into a buffer reused across depths.
          for (const n of [100, 3, 0, 7]) {
            const t = b.top(n);
            b.topInto(n, buffer);
            expect(buffer.bids).toBe(t.bids.length);
            expect(buffer.asks).toBe(t.asks.length);
            const read = (prices: bigint[], sizes: bigint[], k: number) =>
              prices.slice(0, k).map((price, i) => ({ price, size: sizes[i]! }));
            expect(read(buffer.bidPrices, buffer.bidSizes, buffer.bids)).toEqual(t.bids);
            expect(read(buffer.askPrices, buffer.askSizes, buffer.asks)).toEqual(t.asks);
            for (let i = 0; i <= n; i++) {
              expect(b.levelPrice('bid', i)).toBe(b.level('bid', i)?.price ?? null);
              expect(b.levelSize('ask', i)).toBe(b.level('ask', i)?.size ?? 0n);
            }
          }
        },
      ),
    );
  });

  it('refuses updates whose scale differs from the book', () => {
    const b = new OrderBook('test', 'AAPL');
    b.applyBookUpdate(level('AAPL', T0, 'bid', 1n, 1n, SnapshotBegin | SnapshotEnd));
    expect(() => b.applyBookUpdate({ ...level('AAPL', T0, 'bid', 1n, 1n), priceScale: 4 })).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_SCALE_MISMATCH',
        message: 'book test:AAPL: priceScale: expected scale 2 as in earlier events of this instrument, found 4',
      }),
    );
  });
});

describe('L3 book', () => {
  it('add, modify, partial cancel, fill, full cancel keep the L2 view in step', () => {
    const b = new OrderBook('test', 'AAPL');
    b.applyOrderUpdate(order('AAPL', T0, 'clear', 0n, 'bid', 0n, 0n));
    expect(b.valid).toBe(true);
    b.applyOrderUpdate(order('AAPL', T0, 'add', 1n, 'bid', 100n, 10n));
    b.applyOrderUpdate(order('AAPL', T0, 'add', 2n, 'bid', 100n, 5n));
    b.applyOrderUpdate(order('AAPL', T0, 'add', 3n, 'ask', 102n, 7n));
    b.applyOrderUpdate(order('AAPL', T0, 'add', 4n, 'bid', 99n, 1n));
    expect(tops(b)).toBe('100x15,99x1 | 102x7');
    b.applyOrderUpdate(order('AAPL', T0, 'modify', 2n, 'bid', 101n, 4n)); // moves to a new price
    expect(tops(b)).toBe('101x4,100x10,99x1 | 102x7');
    b.applyOrderUpdate(order('AAPL', T0, 'cancel', 1n, 'bid', 100n, 3n)); // partial
    b.applyOrderUpdate(order('AAPL', T0, 'fill', 3n, 'ask', 102n, 7n)); // complete
    b.applyOrderUpdate(order('AAPL', T0, 'cancel', 4n, 'bid', 99n, 0n)); // size 0: whole order
    expect(tops(b)).toBe('101x4,100x7 | ');
    expect(b.orderCount).toBe(2);
    b.applyOrderUpdate(order('AAPL', T0, 'cancel', 77n, 'bid', 100n, 1n)); // unknown id: reduces the level it names
    b.applyOrderUpdate(order('AAPL', T0, 'fill', 2n, 'bid', 101n, 9n)); // overfill
    expect(tops(b)).toBe('100x6 | ');
    expect(b.stats()).toMatchObject({ unknownOrders: 1, overfills: 1 });
    b.applyOrderUpdate(order('AAPL', T0, 'clear', 0n, 'bid', 0n, 0n));
    expect([tops(b), b.orderCount]).toEqual([' | ', 0]);
  });

  it('a book seeded from levels treats the seeded size as anonymous liquidity', () => {
    const b = new OrderBook('test', 'AAPL');
    for (const u of snapshot('AAPL', T0, [[100n, 50n]], [[101n, 20n]])) b.applyBookUpdate(u);
    b.applyOrderUpdate(order('AAPL', T0, 'add', 9n, 'bid', 100n, 5n));
    b.applyOrderUpdate(order('AAPL', T0, 'fill', 1234n, 'ask', 101n, 20n)); // an order from before the snapshot
    b.applyOrderUpdate(order('AAPL', T0, 'cancel', 9n, 'bid', 100n, 5n));
    expect(tops(b)).toBe('100x50 | ');
  });
});

describe('books in the engine', () => {
  it('applies updates before the callbacks, reports crossing as a status, invalidates on gaps', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const seen: string[] = [];
    engine.onBookUpdate((u, book) =>
      seen.push(`book ${u.side} ${u.price} -> best ${book.bestBidPrice()}/${book.bestAskPrice()} ${book.valid}`),
    );
    engine.onStatus((s) => seen.push(`status ${s.kind} ${s.detail}`));
    await engine.start(['AAPL']);
    p.push(...snapshot('AAPL', T0, [[15000n, 1n]], [[15010n, 1n]]));
    p.push(level('AAPL', T0 + SEC, 'bid', 15010n, 1n, Last));
    p.push(status('AAPL', T0 + 2n * SEC, 'gap', { fromSeq: 3n, toSeq: 3n }));
    p.push(level('AAPL', T0 + 3n * SEC, 'bid', 15000n, 9n, Last));
    expect(seen).toEqual([
      'book bid 15000 -> best 15000/null false',
      'book ask 15010 -> best 15000/15010 true',
      'book bid 15010 -> best 15010/15010 true',
      'status crossed best bid 150.10 = best ask 150.10 (locked book)',
      'status gap ',
      'book bid 15000 -> best null/null false',
    ]);
    expect(engine.book('AAPL').stats()).toMatchObject({ crossings: 1, invalidations: 1, ignoredWhileInvalid: 1 });
    await engine.stop();
  });

  it('book() names the problem for unknown symbols and ambiguous venues', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    await engine.start(['AAPL']);
    expect(() => engine.book('TSLA')).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_UNKNOWN_SYMBOL', message: 'book: expected a subscribed symbol (AAPL), found "TSLA"' }),
    );
    expect(engine.book('AAPL').valid).toBe(false);
    p.push(
      level('AAPL', T0, 'bid', 1n, 1n, SnapshotBegin | SnapshotEnd),
      level('AAPL', T0, 'bid', 1n, 1n, SnapshotBegin | SnapshotEnd, 'other'),
    );
    expect(() => engine.book('AAPL')).toThrow(/AAPL has books on other and test; expected a venue argument/);
    expect(engine.book('AAPL', 'other').valid).toBe(true);
    await engine.stop();
  });
});
