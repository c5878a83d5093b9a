import { BookFlags } from '@mdcap/core';
import type { MarketEvent, Quote } from '@mdcap/core';
import { OrderBook } from '@mdcap/engine';
import { byTime, readRecording } from '@mdcap/emulators';
import { BinanceParser, FrameError } from '@mdcap/feeds';
import { datasetFile, describeWithDataset } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

const t = 1_633_998_512_000_000_000n;
const diff = (U: number, u: number, b: string[][] = [], a: string[][] = []): string =>
  JSON.stringify({ stream: 'abcusdt@depth@100ms', data: { e: 'depthUpdate', E: 1633998512068, s: 'ABCUSDT', U, u, b, a } });
const snap = (L: number): string => JSON.stringify({ lastUpdateId: L, bids: [['1.00', '5.0']], asks: [['1.10', '2.0']] });

describe('Binance parser: book sync by the documented U/u rules', () => {
  it('buffers diffs until the snapshot, drops u ≤ L, applies the one straddling L+1, then each next U = u + 1', () => {
    const p = new BinanceParser();
    const got: MarketEvent[] = [];
    const out = (e: MarketEvent): number => got.push(e);
    p.parse(diff(95, 99, [['0.90', '1.0']]), t, out);
    p.parse(diff(100, 103, [['0.95', '1.0']]), t, out);
    expect(got).toEqual([]);
    expect([...p.snapshotRequests]).toEqual(['ABCUSDT']);
    p.snapshot('ABCUSDT', snap(101), t, out);
    expect(p.snapshotRequests.size).toBe(0);
    expect(got.map((e) => e.type === 'book' && [e.side, e.price, e.seq, e.flags])).toEqual([
      ['bid', 100n, 101n, BookFlags.Snapshot | BookFlags.SnapshotBegin],
      ['ask', 110n, 101n, BookFlags.Snapshot | BookFlags.SnapshotEnd | BookFlags.Last],
      ['bid', 95n, 103n, BookFlags.Last], // 95..99 dropped (u ≤ 101); 100..103 straddles 102
    ]);
    got.length = 0;
    p.parse(diff(104, 104, [], [['1.20', '1.0']]), t, out);
    expect(got.map((e) => e.seq)).toEqual([104n]);
  });

  it('a break in the ids: a gap status with the missing ids, a resync, and a new snapshot before any more diffs', () => {
    const p = new BinanceParser();
    const got: MarketEvent[] = [];
    const out = (e: MarketEvent): number => got.push(e);
    p.parse(diff(10, 12), t, out);
    p.snapshot('ABCUSDT', snap(11), t, out);
    got.length = 0;
    p.parse(diff(15, 16, [['0.99', '1.0']]), t, out);
    expect(got).toMatchObject([
      { type: 'status', kind: 'gap', fromSeq: 13n, toSeq: 14n },
      { type: 'status', kind: 'resync' },
    ]);
    expect([...p.snapshotRequests]).toEqual(['ABCUSDT']);
  });

  it('a snapshot before any diff: the first diff may straddle its id', () => {
    const p = new BinanceParser();
    const got: MarketEvent[] = [];
    p.subscribed(['ABCUSDT'], new Set(['book']));
    expect([...p.snapshotRequests]).toEqual(['ABCUSDT']);
    p.snapshot('ABCUSDT', snap(20), t, (e) => got.push(e));
    got.length = 0;
    p.parse(diff(18, 23, [['0.99', '1.0']]), t, (e) => got.push(e));
    expect(got.map((e) => e.type === 'book' && e.seq)).toEqual([23n]);
  });

  it('a snapshot older than the first buffered diff is a gap and is asked for again', () => {
    const p = new BinanceParser();
    const got: MarketEvent[] = [];
    p.parse(diff(50, 60), t, (e) => got.push(e));
    p.snapshot('ABCUSDT', snap(40), t, (e) => got.push(e));
    expect(got).toMatchObject([{ kind: 'gap', fromSeq: 41n, toSeq: 49n }, { kind: 'resync' }]);
    expect([...p.snapshotRequests]).toEqual(['ABCUSDT']);
  });

  it('bad frames are FrameErrors naming the venue and the frame', () => {
    const p = new BinanceParser();
    expect(() => p.parse('{"stream":"x","data":{"e":"depthUpdate","s":"A"', t, () => {})).toThrow(FrameError);
    expect(() => p.parse('{"stream":"x","data":{"e":"depthUpdate","s":"A","U":1,"u":2,"E":1,"b":{},"a":[]}}', t, () => {})).toThrow(
      /binance: expected "b" and "a" arrays of \[price, quantity\], found/,
    );
  });
});

describeWithDataset('cryptofeed', 'Binance parser on the real recording', () => {
  it('the rebuilt best bid/ask equals bookTicker at all 26 points where both have the same update id', () => {
    const all = ['BINANCE.ws.1.0', 'BINANCE.http.0.0'].flatMap((f) => readRecording(datasetFile('cryptofeed', f))).sort(byTime);
    const p = new BinanceParser();
    const books = new Map<string, OrderBook>();
    const tops = new Map<string, string>(); // `${symbol} ${u}` → the book's top after that diff
    const tickers: Quote[] = [];
    const out = (e: MarketEvent): void => {
      if (e.type === 'quote') tickers.push(e);
      if (e.type !== 'book') return;
      let b = books.get(e.symbol);
      if (b === undefined) books.set(e.symbol, (b = new OrderBook('binance', e.symbol)));
      b.applyBookUpdate(e);
      if ((e.flags & BookFlags.Last) !== 0)
        tops.set(`${e.symbol} ${e.seq}`, `${b.bestBidPrice()} ${b.bestBidSize()} ${b.bestAskPrice()} ${b.bestAskSize()}`);
    };
    for (const l of all) {
      if (l.kind === 'rest') p.snapshot(new URL(l.url!).searchParams.get('symbol')!, l.text, l.ts, out);
      else if (l.kind === 'received') p.parse(l.text, l.ts, out);
    }
    const compared = tickers.filter((q) => tops.has(`${q.symbol} ${q.seq}`));
    expect(compared.length).toBe(26);
    for (const q of compared) expect(tops.get(`${q.symbol} ${q.seq}`)).toBe(`${q.bidPrice} ${q.bidSize} ${q.askPrice} ${q.askSize}`);
    expect(p.stats).toMatchObject({ malformed: 0, resnapshots: 0 });
  });
});
