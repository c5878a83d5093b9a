import { BookFlags } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { readRecording } from '@mdcap/emulators';
import { OrderBook } from '@mdcap/engine';
import { CoinbaseParser, FrameError } from '@mdcap/feeds';
import { datasetFile, describeWithDataset } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

const t = 1_618_677_817_000_000_000n;

describe('Coinbase parser', () => {
  it('level2: snapshot then absolute changes (buy = bid), exact at the product scales', () => {
    const p = new CoinbaseParser({ scales: new Map([['BAND-GBP', { priceScale: 4, sizeScale: 2 }]]) });
    const got: MarketEvent[] = [];
    p.parse('{"type":"snapshot","product_id":"BAND-GBP","bids":[["14.7550","3.1"]],"asks":[["14.8024","12.77"]]}', t, (e) => got.push(e));
    p.parse('{"type":"l2update","product_id":"BAND-GBP","changes":[["sell","14.8024","0"]],"time":"2021-04-17T16:43:37.075687Z"}', t, (e) =>
      got.push(e),
    );
    expect(got.map((e) => e.type === 'book' && [e.side, e.price, e.size, e.flags])).toEqual([
      ['bid', 147550n, 310n, BookFlags.Snapshot | BookFlags.SnapshotBegin],
      ['ask', 148024n, 1277n, BookFlags.Snapshot | BookFlags.SnapshotEnd | BookFlags.Last],
      ['ask', 148024n, 0n, BookFlags.Last],
    ]);
    expect(got[2]!.tsEvent).toBe(1_618_677_817_075_687_000n);
  });

  it('a match: the aggressor is the other side of the maker; seq is the product sequence', () => {
    const p = new CoinbaseParser();
    const got: MarketEvent[] = [];
    p.parse(
      '{"type":"match","trade_id":280232,"side":"sell","size":"985","price":"0.00001305","product_id":"SKL-BTC","sequence":177100030,"time":"2021-04-17T16:43:37.089723Z"}',
      t,
      (e) => got.push(e),
    );
    expect(got[0]).toMatchObject({
      type: 'trade',
      side: 'buy',
      seq: 177100030n,
      price: 130_500n,
      size: 98_500_000_000n,
      tradeId: '280232',
    });
  });

  it('bad frames are FrameErrors naming the venue and the frame', () => {
    const p = new CoinbaseParser();
    expect(() =>
      p.parse('{"type":"l2update","product_id":"A-B","changes":[["up","1","1"]],"time":"2021-04-17T16:43:37Z"}', t, () => {}),
    ).toThrow(FrameError);
    expect(() => p.parse('{"type":"ticker","product_id":"A-B","sequence":1,"best_bid":1.5,"best_ask":"2"}', t, () => {})).toThrow(
      /coinbase: expected a "best_bid" as a decimal string/,
    );
  });
});

describeWithDataset('cryptofeed', 'Coinbase parser on the real recording', () => {
  it('every ticker newer than its product book has the best bid/ask of the book built from level2', () => {
    const p = new CoinbaseParser();
    const books = new Map<string, OrderBook>();
    const snapshotAt = new Map<string, bigint>();
    let compared = 0;
    const mismatches: string[] = [];
    for (const l of readRecording(datasetFile('cryptofeed', 'COINBASE.ws.28.0'))) {
      if (l.kind !== 'received') continue;
      p.parse(l.text, l.ts, (e) => {
        if (e.type === 'book') {
          let b = books.get(e.symbol);
          if (b === undefined) books.set(e.symbol, (b = new OrderBook('coinbase', e.symbol)));
          b.applyBookUpdate(e);
          // The snapshot has no time: the book's venue time is that of its first update.
          if ((e.flags & BookFlags.Snapshot) === 0 && !snapshotAt.has(e.symbol)) snapshotAt.set(e.symbol, e.tsEvent);
        } else if (e.type === 'quote') {
          const b = books.get(e.symbol);
          // A ticker describes the market at its trade time: one older than the book (the
          // ticker Coinbase replays on subscribe) cannot be compared with it.
          const at = snapshotAt.get(e.symbol);
          if (b === undefined || !b.valid || at === undefined || e.tsEvent < at) return;
          compared++;
          if (b.bestBidPrice() !== e.bidPrice || b.bestAskPrice() !== e.askPrice) {
            mismatches.push(`${e.symbol} ${e.seq}: ticker ${e.bidPrice}/${e.askPrice}, book ${b.bestBidPrice()}/${b.bestAskPrice()}`);
          }
        }
      });
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBe(97); // 107 tickers, less the 10 replayed on subscribe
    expect(p.stats.malformed).toBe(0);
  });
});
