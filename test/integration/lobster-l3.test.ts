import { readFileSync } from 'node:fs';
import { BookFlags, createBookUpdate, createOrderUpdate, createTrade, isoToNs, parseDecimal } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { OrderBook, RealtimeEngine } from '@mdcap/engine';
import type { BookView } from '@mdcap/engine';
import { datasetFile, describeWithDataset } from '@mdcap/test-utils';
import { expect, it } from 'vitest';

/**
 * LOBSTER AAPL 2012-06-21 (NASDAQ ITCH-derived, 10 levels): seed the book from orderbook row 1,
 * apply messages 2…999 as L3 order updates through the engine, and after each message compare
 * the levels the book can know with orderbook row k. (See ../shared/datasets/lobster/README.md.)
 */
const DATASET = 'lobster';
const MESSAGES = 'AAPL_2012-06-21_34200000_57600000_message_10.first999.csv';
const BOOKS = 'AAPL_2012-06-21_34200000_57600000_orderbook_10.first999.csv';
const MIDNIGHT_NY = isoToNs('2012-06-21T00:00:00-04:00');
const head = { venue: 'nasdaq', symbol: 'AAPL', priceScale: 4, sizeScale: 0 } as const;

interface Row {
  readonly asks: [bigint, bigint][];
  readonly bids: [bigint, bigint][];
}

function readBooks(): Row[] {
  return readFileSync(datasetFile(DATASET, BOOKS), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const v = line.split(',').map((x) => BigInt(x));
      const asks: [bigint, bigint][] = [];
      const bids: [bigint, bigint][] = [];
      for (let l = 0; l < 10; l++) {
        asks.push([v[4 * l]!, v[4 * l + 1]!]);
        bids.push([v[4 * l + 2]!, v[4 * l + 3]!]);
      }
      return { asks, bids };
    });
}

/** Message k → the events it becomes. Types: 1 add, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden execution. */
function toEvents(line: string, k: number): MarketEvent[] {
  const [time, type, id, size, price, direction] = line.split(',') as [string, string, string, string, string, string];
  const ts = MIDNIGHT_NY + parseDecimal(time, 9);
  const t = { ...head, tsEvent: ts, tsRecv: ts, seq: BigInt(k) };
  const side = direction === '1' ? 'bid' : 'ask';
  const order = { ...t, orderId: BigInt(id), side, price: BigInt(price), size: BigInt(size), flags: BookFlags.Last } as const;
  const aggressor = direction === '1' ? 'sell' : 'buy'; // the resting order's side is given
  switch (type) {
    case '1':
      return [createOrderUpdate({ ...order, action: 'add' })];
    case '2':
    case '3':
      return [createOrderUpdate({ ...order, action: 'cancel' })];
    case '4':
      return [
        createOrderUpdate({ ...order, action: 'fill' }),
        createTrade({ ...t, price: BigInt(price), size: BigInt(size), side: aggressor }),
      ];
    case '5':
      return [createTrade({ ...t, price: BigInt(price), size: BigInt(size), side: aggressor })];
    default:
      throw new Error(`message ${k}: type ${type} does not occur in this slice`);
  }
}

function seed(row: Row, ts: bigint): MarketEvent[] {
  const levels = [...row.bids.map(([p, s]) => ['bid', p, s] as const), ...row.asks.map(([p, s]) => ['ask', p, s] as const)];
  return levels.map(([side, price, size], i) =>
    createBookUpdate({
      ...head,
      tsEvent: ts,
      tsRecv: ts,
      side,
      price,
      size,
      flags:
        BookFlags.Snapshot |
        (i === 0 ? BookFlags.SnapshotBegin : 0) |
        (i === levels.length - 1 ? BookFlags.SnapshotEnd | BookFlags.Last : 0),
    }),
  );
}

describeWithDataset(DATASET, 'LOBSTER AAPL: the L3 book reproduces the published book after every message', () => {
  it('matches the known levels of orderbook rows 2–999', async () => {
    const rows = readBooks();
    const lines = readFileSync(datasetFile(DATASET, MESSAGES), 'utf8').trim().split('\n');
    expect([lines.length, rows.length]).toEqual([999, 999]);
    const firstTs = MIDNIGHT_NY + parseDecimal(lines[0]!.split(',')[0]!, 9);
    const events: MarketEvent[] = seed(rows[0]!, firstTs);
    const checkAfter = new Map<MarketEvent, number>(); // last event of message k → k (0-based row)
    for (let k = 1; k < lines.length; k++) {
      const es = toEvents(lines[k]!, k);
      events.push(...es);
      checkAfter.set(es[es.length - 1]!, k);
    }
    // The message file only holds events inside the top 10 levels. A price the book has seen fall
    // below its 10th level may change unseen, so the known region is the prices at or better than
    // the innermost 10th level the book has had (it starts at the seed's 10th level).
    let bidFloor = rows[0]!.bids[9]![0];
    let askCeiling = rows[0]!.asks[9]![0];
    let compared = 0;
    let levelsCompared = 0;
    const mismatches: string[] = [];
    const check = (e: MarketEvent, book: BookView): void => {
      const k = checkAfter.get(e);
      if (k === undefined) return;
      compared++;
      const tenthBid = book.level('bid', 9)?.price;
      const tenthAsk = book.level('ask', 9)?.price;
      if (tenthBid !== undefined && tenthBid > bidFloor) bidFloor = tenthBid;
      if (tenthAsk !== undefined && tenthAsk < askCeiling) askCeiling = tenthAsk;
      const top = book.top(10);
      const knownBids = top.bids.filter((l) => l.price >= bidFloor);
      const knownAsks = top.asks.filter((l) => l.price <= askCeiling);
      const want = rows[k]!;
      const got = { bids: knownBids.map((l) => [l.price, l.size]), asks: knownAsks.map((l) => [l.price, l.size]) };
      const expected = { bids: want.bids.slice(0, knownBids.length), asks: want.asks.slice(0, knownAsks.length) };
      levelsCompared += knownBids.length + knownAsks.length;
      // The book must not hold a level the venue does not have, nor miss one above the floor.
      const expectedKnown = { bids: want.bids.filter(([p]) => p >= bidFloor), asks: want.asks.filter(([p]) => p <= askCeiling) };
      if (JSON.stringify(got, big) !== JSON.stringify(expected, big) || JSON.stringify(got, big) !== JSON.stringify(expectedKnown, big)) {
        if (mismatches.length < 5) {
          mismatches.push(`after message ${k + 1}: got ${JSON.stringify(got, big)}, expected ${JSON.stringify(expectedKnown, big)}`);
        }
      }
    };
    const engine = new RealtimeEngine(events);
    engine.onOrderUpdate(check);
    engine.onTrade((t) => check(t, engine.book('AAPL')));
    const errors: string[] = [];
    engine.onError((e) => errors.push(e.toString()));
    await engine.run(['AAPL']);
    expect(errors).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(compared).toBe(998);
    // The known region shrinks as levels leave the window for good; 6,403 level comparisons remain.
    expect(levelsCompared).toBe(6403);
    const stats = engine.book('AAPL').stats();
    expect(stats.crossings).toBe(0);
    // Orders resting before the start are unknown by id; their cancels and fills reduce seeded levels.
    expect(stats.unknownOrders).toBeGreaterThan(0);
  });
});

describeWithDataset(DATASET, 'LOBSTER AAPL: every single transition, row k-1 + message k = row k', () => {
  it('is consistent on the known levels for all 998 transitions, and exact on all 20 levels for 680', () => {
    const rows = readBooks();
    const lines = readFileSync(datasetFile(DATASET, MESSAGES), 'utf8').trim().split('\n');
    let consistent = 0;
    let exact = 0;
    const failures: string[] = [];
    for (let k = 1; k < lines.length; k++) {
      const book = new OrderBook('nasdaq', 'AAPL');
      const prev = rows[k - 1]!;
      for (const u of seed(prev, 0n)) if (u.type === 'book') book.applyBookUpdate(u);
      for (const e of toEvents(lines[k]!, k)) if (e.type === 'order') book.applyOrderUpdate(e);
      const floor = prev.bids[9]![0];
      const ceiling = prev.asks[9]![0];
      const top = book.top(10);
      const got = {
        bids: top.bids.filter((l) => l.price >= floor).map((l) => [l.price, l.size]),
        asks: top.asks.filter((l) => l.price <= ceiling).map((l) => [l.price, l.size]),
      };
      const want = rows[k]!;
      const expected = { bids: want.bids.slice(0, got.bids.length), asks: want.asks.slice(0, got.asks.length) };
      if (JSON.stringify(got, big) === JSON.stringify(expected, big)) consistent++;
      else if (failures.length < 3) failures.push(`message ${k + 1}: ${JSON.stringify(got, big)} vs ${JSON.stringify(expected, big)}`);
      const full = { bids: top.bids.map((l) => [l.price, l.size]), asks: top.asks.map((l) => [l.price, l.size]) };
      if (JSON.stringify(full, big) === JSON.stringify({ bids: want.bids, asks: want.asks }, big)) exact++;
    }
    expect(failures).toEqual([]);
    expect(consistent).toBe(998);
    // The other 318: a level enters the top 10 from below, which a 10-level seed cannot know (README).
    expect(exact).toBe(680);
  });
});

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
