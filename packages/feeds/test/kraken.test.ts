import { BookFlags } from '@mdcap/core';
import type { MarketEvent, Status } from '@mdcap/core';
import { readRecording } from '@mdcap/emulators';
import { crc32Ascii, FrameError, KrakenParser } from '@mdcap/feeds';
import { datasetFile, describeWithDataset } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

/** The received frames of a cryptofeed recording (sent and connection lines skipped). */
const received = (file: string) => readRecording(datasetFile('cryptofeed', file)).filter((l) => l.kind === 'received');

describe('crc32', () => {
  it('is the IEEE CRC-32', () => {
    expect(crc32Ascii('')).toBe(0);
    expect(crc32Ascii('123456789')).toBe(0xcbf43926);
  });
});

describe('Kraken parser', () => {
  const t = 1_618_678_134_000_000_000n;
  const snapshot =
    '[7,{"as":[["100.10","1.50000000","1618678133.100000"]],"bs":[["100.00","2.00000000","1618678133.200000"]]},"book-10","XBT/USD"]';

  it("turns a snapshot into book updates flagged begin … end, exact at the pair's scales", () => {
    const p = new KrakenParser();
    const got: MarketEvent[] = [];
    p.parse(snapshot, t, (e) => got.push(e));
    expect(got).toMatchObject([
      {
        type: 'book',
        symbol: 'XBT/USD',
        side: 'ask',
        price: 10_010n,
        size: 150_000_000n,
        priceScale: 2,
        sizeScale: 8,
        flags: BookFlags.Snapshot | BookFlags.SnapshotBegin,
      },
      { type: 'book', side: 'bid', price: 10_000n, flags: BookFlags.Snapshot | BookFlags.SnapshotEnd | BookFlags.Last },
    ]);
    expect(got[0]!.tsEvent).toBe(1_618_678_133_200_000_000n);
  });

  it('a wrong checksum is a failed checksum status and stops the book until a new snapshot', () => {
    const p = new KrakenParser();
    const got: MarketEvent[] = [];
    p.parse(snapshot, t, (e) => got.push(e));
    p.parse('[7,{"b":[["100.00","3.00000000","1618678133.300000"]],"c":"12345"},"book-10","XBT/USD"]', t, (e) => got.push(e));
    const status = got.at(-1) as Status;
    expect(status).toMatchObject({ type: 'status', kind: 'checksum', ok: false });
    expect(status.detail).toMatch(/expected 12345 as the venue sent, found \d+/);
    expect([...p.resyncs]).toEqual(['XBT/USD']);
    const before = got.length;
    p.parse('[7,{"b":[["100.00","4.00000000","1618678133.400000"]],"c":"1"},"book-10","XBT/USD"]', t, (e) => got.push(e));
    expect(got.length).toBe(before); // nothing applied to a broken book
    p.parse(snapshot, t, (e) => got.push(e));
    expect(p.resyncs.size).toBe(0);
  });

  it('truncates to the subscribed depth with explicit removals', () => {
    const p = new KrakenParser();
    const got: MarketEvent[] = [];
    const two = '[7,{"as":[["1.0","1.0","1.0"],["1.1","1.0","1.0"]],"bs":[]},"book-2","A/B"]';
    p.parse(two, t, (e) => got.push(e));
    got.length = 0;
    p.parse('[7,{"a":[["0.9","1.0","2.0"]]},"book-2","A/B"]', t, (e) => got.push(e));
    expect(got.map((e) => e.type === 'book' && [e.price, e.size])).toEqual([
      [9n, 10n],
      [11n, 0n],
    ]);
  });

  it.each([
    ['not JSON', '[7,{"b":', /not JSON/],
    ['a level without volume', '[7,{"as":[["1.0"]],"bs":[]},"book-10","A/B"]', /expected a level \[price, volume, timestamp\]/],
    [
      'a number where a decimal string belongs',
      '[7,[[1.5,"1.0","1.0","b","l",""]],"trade","A/B"]',
      /expected a trade price as a decimal string/,
    ],
    [
      'more decimals than the pair has',
      '[7,[["1.001","1.0","1.0","b","l",""]],"trade","A/B"]',
      /expected a trade price with at most 2 decimals/,
    ],
  ])('%s: a FrameError naming the venue and the frame', (_name, frame, message) => {
    const p = new KrakenParser({ scales: new Map([['A/B', { priceScale: 2, sizeScale: 1 }]]) });
    expect(() => p.parse(frame, t, () => {})).toThrow(FrameError);
    expect(() => p.parse(frame, t, () => {})).toThrow(message);
    expect(p.stats.malformed).toBe(2);
  });
});

describeWithDataset('cryptofeed', 'Kraken parser on the real recording', () => {
  it('matches all 4,269 checksums of KRAKEN.ws.50.0', () => {
    const p = new KrakenParser();
    const failed: Status[] = [];
    let books = 0;
    for (const f of received('KRAKEN.ws.50.0')) {
      p.parse(f.text, f.ts, (e) => {
        if (e.type === 'status' && e.kind === 'checksum' && e.ok === false) failed.push(e);
        if (e.type === 'book') books++;
      });
    }
    expect(failed.slice(0, 3)).toEqual([]);
    expect(p.stats).toMatchObject({ checksumsVerified: 4269, checksumsFailed: 0, malformed: 0 });
    expect(books).toBeGreaterThan(10_000);
  });

  it('reads the trade and ticker recordings', () => {
    const p = new KrakenParser();
    const got: MarketEvent[] = [];
    for (const file of ['KRAKEN.ws.48.0', 'KRAKEN.ws.49.0']) for (const f of received(file)) p.parse(f.text, f.ts, (e) => got.push(e));
    const trades = got.filter((e) => e.type === 'trade');
    const quotes = got.filter((e) => e.type === 'quote');
    expect(trades.length).toBeGreaterThan(0);
    expect(quotes.length).toBe(18);
    for (const q of quotes) if (q.type === 'quote') expect(q.bidPrice! < q.askPrice!).toBe(true);
  });
});
