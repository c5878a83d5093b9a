import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseDecimal } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { OrderBook, RealtimeEngine } from '@mdcap/engine';
import type { BookView } from '@mdcap/engine';
import { LobsterParser } from '@mdcap/feeds';
import { datasetFile, describeWithDataset, mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, expect, it } from 'vitest';

/**
 * LOBSTER AAPL 2012-06-21 (NASDAQ ITCH-derived, 10 levels): the book seeded from orderbook row 1
 * and then fed messages 2…999 as L3 order updates must reproduce orderbook row k after every
 * message k, on every level a 10-level seed can know (../shared/datasets/lobster/README.md).
 * Checked through the library (LobsterParser → RealtimeEngine) and through the CLI
 * (`mdcap import lobster` → `mdcap replay --print top --depth 10 --json`).
 */
const DATASET = 'lobster';
const MESSAGES = 'AAPL_2012-06-21_34200000_57600000_message_10.first999.csv';
const BOOKS = 'AAPL_2012-06-21_34200000_57600000_orderbook_10.first999.csv';
const OPTIONS = { symbol: 'AAPL', date: '2012-06-21' };

type Pair = [bigint, bigint];
interface Levels {
  readonly bids: Pair[];
  readonly asks: Pair[];
}

function bookLines(): string[] {
  return readFileSync(datasetFile(DATASET, BOOKS), 'utf8').trim().split('\n');
}
function messageLines(): string[] {
  return readFileSync(datasetFile(DATASET, MESSAGES), 'utf8').trim().split('\n');
}

function parseRow(line: string): Levels {
  const v = line.split(',').map((x) => BigInt(x));
  const out: Levels = { bids: [], asks: [] };
  for (let l = 0; l < 10; l++) {
    out.asks.push([v[4 * l]!, v[4 * l + 1]!]);
    out.bids.push([v[4 * l + 2]!, v[4 * l + 3]!]);
  }
  return out;
}

const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a, big) === JSON.stringify(b, big);

/**
 * Compares the book after each message (`after.get(k)`, message row k, 1-based; carried forward
 * over messages that leave the book alone) with orderbook row k on the known levels. The message
 * file only holds events inside the top 10: a price the book has seen fall below its 10th level
 * may change unseen, so the known region is the prices at or better than the innermost 10th
 * level the book has had (it starts at the seed's 10th level).
 */
function compareKnown(
  rows: readonly Levels[],
  after: ReadonlyMap<number, Levels>,
): { compared: number; levels: number; mismatches: string[] } {
  let bidFloor = rows[0]!.bids[9]![0];
  let askCeiling = rows[0]!.asks[9]![0];
  let book: Levels | undefined = after.get(1);
  let compared = 0;
  let levels = 0;
  const mismatches: string[] = [];
  for (let k = 2; k <= rows.length; k++) {
    book = after.get(k) ?? book;
    if (book === undefined) throw new Error('no book after the seed');
    compared++;
    const tenthBid = book.bids[9]?.[0];
    const tenthAsk = book.asks[9]?.[0];
    if (tenthBid !== undefined && tenthBid > bidFloor) bidFloor = tenthBid;
    if (tenthAsk !== undefined && tenthAsk < askCeiling) askCeiling = tenthAsk;
    const got = { bids: book.bids.filter(([p]) => p >= bidFloor), asks: book.asks.filter(([p]) => p <= askCeiling) };
    const want = rows[k - 1]!;
    const expected = { bids: want.bids.filter(([p]) => p >= bidFloor), asks: want.asks.filter(([p]) => p <= askCeiling) };
    levels += got.bids.length + got.asks.length;
    if (!same(got, expected) && mismatches.length < 5)
      mismatches.push(`after message ${k}: got ${JSON.stringify(got, big)}, expected ${JSON.stringify(expected, big)}`);
  }
  return { compared, levels, mismatches };
}

describeWithDataset(DATASET, 'LOBSTER AAPL: the L3 book reproduces the published book after every message', () => {
  const dir = tempDir('lobster');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('through the library: LobsterParser → RealtimeEngine', async () => {
    const rows = bookLines().map(parseRow);
    const lines = messageLines();
    expect([lines.length, rows.length]).toEqual([999, 999]);
    const parser = new LobsterParser(OPTIONS);
    const events: MarketEvent[] = parser.seed(bookLines()[0]!, lines[0]!);
    for (let k = 2; k <= lines.length; k++) events.push(...parser.message(lines[k - 1]!, k));
    const after = new Map<number, Levels>();
    const keep = (e: MarketEvent, book: BookView): void => {
      const top = book.top(10);
      after.set(Number(e.seq), { bids: top.bids.map((l) => [l.price, l.size]), asks: top.asks.map((l) => [l.price, l.size]) });
    };
    const engine = new RealtimeEngine(events);
    engine.onOrderUpdate(keep);
    engine.onBookUpdate(keep);
    const errors: string[] = [];
    engine.onError((e) => errors.push(e.toString()));
    await engine.run(['AAPL']);
    expect(errors).toEqual([]);
    const result = compareKnown(rows, after);
    expect(result.mismatches).toEqual([]);
    expect(result.compared).toBe(998);
    // The known region shrinks as levels leave the window for good; 6,403 level comparisons remain.
    expect(result.levels).toBe(6403);
    const stats = engine.book('AAPL').stats();
    expect(stats.crossings).toBe(0);
    // Orders resting before the start are unknown by id; their cancels and fills reduce seeded levels.
    expect(stats.unknownOrders).toBeGreaterThan(0);
  });

  it('through the CLI: mdcap import lobster, then mdcap replay --print top --depth 10 --json', () => {
    const cap = join(dir, 'aapl');
    const imp = mdcap([
      'import',
      'lobster',
      '--messages',
      datasetFile(DATASET, MESSAGES),
      '--orderbook',
      datasetFile(DATASET, BOOKS),
      '--out',
      cap,
      '--json',
    ]);
    expect(imp.status, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ symbol: 'AAPL', date: '2012-06-21', rows: 999, events: 1116 });
    const r = mdcap(['replay', cap, '--print', 'top', '--depth', '10', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const after = new Map<number, Levels>();
    const pair = ([p, s]: [string, string]): Pair => [parseDecimal(p, 4), BigInt(s)];
    for (const line of r.stdout.trim().split('\n')) {
      const t = JSON.parse(line) as { type: string; seq: string; bids: [string, string][]; asks: [string, string][] };
      expect(t.type).toBe('top');
      after.set(Number(t.seq), { bids: t.bids.map(pair), asks: t.asks.map(pair) });
    }
    // The seed alone is orderbook row 1 exactly.
    expect(same(after.get(1), parseRow(bookLines()[0]!))).toBe(true);
    const result = compareKnown(bookLines().map(parseRow), after);
    expect(result.mismatches).toEqual([]);
    expect(result.compared).toBe(998);
    expect(result.levels).toBe(6403);
    // Timestamps: seconds after midnight New York time (EDT, UTC-4 in June), to the nanosecond.
    const first = JSON.parse(r.stdout.slice(0, r.stdout.indexOf('\n'))) as { tsEvent: string };
    expect(first.tsEvent).toBe('1340285400004241176'); // 2012-06-21T13:30:00.004241176Z = 34200.004241176 s after NY midnight
  });
});

describeWithDataset(DATASET, 'LOBSTER AAPL: every single transition, row k-1 + message k = row k', () => {
  it('is consistent on the known levels for all 998 transitions, and exact on all 20 levels for 680', () => {
    const books = bookLines();
    const rows = books.map(parseRow);
    const lines = messageLines();
    let consistent = 0;
    let exact = 0;
    const failures: string[] = [];
    for (let k = 1; k < lines.length; k++) {
      const book = new OrderBook('nasdaq', 'AAPL');
      const parser = new LobsterParser(OPTIONS);
      for (const u of parser.seed(books[k - 1]!, lines[k - 1]!)) if (u.type === 'book') book.applyBookUpdate(u);
      for (const e of parser.message(lines[k]!, k + 1)) if (e.type === 'order') book.applyOrderUpdate(e);
      const prev = rows[k - 1]!;
      const floor = prev.bids[9]![0];
      const ceiling = prev.asks[9]![0];
      const top = book.top(10);
      const got = {
        bids: top.bids.filter((l) => l.price >= floor).map((l) => [l.price, l.size]),
        asks: top.asks.filter((l) => l.price <= ceiling).map((l) => [l.price, l.size]),
      };
      const want = rows[k]!;
      const expected = { bids: want.bids.slice(0, got.bids.length), asks: want.asks.slice(0, got.asks.length) };
      if (same(got, expected)) consistent++;
      else if (failures.length < 3) failures.push(`message ${k + 1}: ${JSON.stringify(got, big)} vs ${JSON.stringify(expected, big)}`);
      const full = { bids: top.bids.map((l) => [l.price, l.size]), asks: top.asks.map((l) => [l.price, l.size]) };
      if (same(full, { bids: want.bids, asks: want.asks })) exact++;
    }
    expect(failures).toEqual([]);
    expect(consistent).toBe(998);
    // The other 318: a level enters the top 10 from below, which a 10-level seed cannot know (README).
    expect(exact).toBe(680);
  });
});
