import { isoToNs } from '@mdcap/core';
import { LobsterParser, lobsterMidnight, parseLobsterFileName } from '@mdcap/feeds';
import { describe, expect, it } from 'vitest';

const ROW1 = [
  // ask_price_i, ask_size_i, bid_price_i, bid_size_i for 2 levels; level 2 bid empty
  '5859400,200,5853300,18',
  '5859800,200,-9999999999,0',
].join(',');
const options = { symbol: 'AAPL', date: '2012-06-21', levels: 2 };

describe('LOBSTER', () => {
  it('reads symbol, date, window and levels from the file name', () => {
    expect(parseLobsterFileName('/data/AAPL_2012-06-21_34200000_57600000_message_10.first999.csv')).toEqual({
      symbol: 'AAPL',
      date: '2012-06-21',
      startMs: 34_200_000,
      endMs: 57_600_000,
      file: 'message',
      levels: 10,
    });
    expect(parseLobsterFileName('orderbook.csv')).toBeNull();
  });

  it('times are seconds after midnight New York time, daylight saving included', () => {
    expect(lobsterMidnight('2012-06-21')).toBe(isoToNs('2012-06-21T00:00:00-04:00'));
    expect(lobsterMidnight('2012-01-03')).toBe(isoToNs('2012-01-03T00:00:00-05:00'));
    expect(lobsterMidnight('2012-01-03', 'UTC')).toBe(isoToNs('2012-01-03T00:00:00Z'));
  });

  it('seeds the book from orderbook row 1 at message 1, then turns messages into events', () => {
    const p = new LobsterParser(options);
    const seed = p.seed(ROW1, '34200.004241176,1,16113575,18,5853300,1');
    expect(seed.map((e) => e.type)).toEqual(['book', 'book', 'book']); // empty level skipped, message 1 (an add) is inside the seed
    expect(seed[0]).toMatchObject({
      venue: 'nasdaq',
      symbol: 'AAPL',
      side: 'ask',
      price: 5859400n,
      size: 200n,
      priceScale: 4,
      sizeScale: 0,
      seq: 1n,
      flags: 3,
    });
    expect(seed[2]).toMatchObject({ flags: 1 | 4 | 8 });
    expect(seed[0]!.tsEvent).toBe(isoToNs('2012-06-21T13:30:00.004241176Z'));
    const t = '34200.1';
    expect(p.message(`${t},1,7,100,5853400,1`, 2)).toMatchObject([
      { type: 'order', action: 'add', orderId: 7n, side: 'bid', price: 5853400n, size: 100n, seq: 2n },
    ]);
    expect(p.message(`${t},2,7,40,5853400,1`, 3)).toMatchObject([{ type: 'order', action: 'cancel', size: 40n }]);
    expect(p.message(`${t},3,7,60,5853400,1`, 4)).toMatchObject([{ type: 'order', action: 'cancel', size: 60n }]);
    expect(p.message(`${t},4,9,5,5859400,-1`, 5)).toMatchObject([
      { type: 'order', action: 'fill', side: 'ask', size: 5n },
      { type: 'trade', side: 'buy', price: 5859400n, size: 5n },
    ]);
    expect(p.message(`${t},5,0,3,5856000,1`, 6)).toMatchObject([{ type: 'trade', side: 'sell', size: 3n }]);
    expect(p.message(`${t},6,0,3,5856000,1`, 7)).toMatchObject([{ type: 'trade', side: 'none' }]);
    expect(p.message(`${t},7,0,0,-1,1`, 8)).toMatchObject([{ type: 'status', kind: 'trading', detail: expect.stringMatching(/^halted/) }]);
    expect(p.message(`${t},7,0,0,1,1`, 9)).toMatchObject([{ type: 'status', kind: 'trading', detail: expect.stringMatching(/^trading/) }]);
  });

  it('keeps the trade of an execution in message 1 (its book change is in the seed)', () => {
    const seed = new LobsterParser(options).seed(ROW1, '34200.0,4,5,10,5859400,-1');
    expect(seed.map((e) => e.type)).toEqual(['book', 'book', 'book', 'trade']);
  });

  it.each([
    ['34200.0,1,7,100,5853400', /messages row 2: expected 6 columns \(time, type, order_id, size, price, direction\), found 5/],
    ['34200.0,9,7,100,5853400,1', /messages row 2, type: expected 1 to 7, found "9"/],
    ['34200.0,1,7,1.5,5853400,1', /messages row 2, size: expected an integer, found "1.5"/],
    ['34200.0,1,7,100,5853400,0', /messages row 2, direction: expected 1 \(bid\) or -1 \(ask\), found "0"/],
    ['9:30,1,7,100,5853400,1', /messages row 2, time: expected seconds after midnight with at most 9 decimals, found "9:30"/],
    ['34199.0,1,7,100,5853400,1', /messages row 2: expected a time at or after the previous row's, found 34199.0/],
  ])('%j is a clear MDCAP_ERR_IMPORT_FORMAT', (line, message) => {
    const p = new LobsterParser(options);
    p.seed(ROW1, '34200.0,1,1,1,5853300,1');
    expect(() => p.message(line, 2)).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_IMPORT_FORMAT', message: expect.stringMatching(message) }) as Error,
    );
  });

  it('rejects an orderbook row with the wrong number of columns', () => {
    expect(() => new LobsterParser({ ...options, levels: 10 }).seed(ROW1, '34200.0,1,1,1,5853300,1')).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_IMPORT_FORMAT',
        message: expect.stringMatching(/orderbook row 1: expected 40 columns .* found 8/),
      }) as Error,
    );
  });

  it('rejects a bad date or time zone', () => {
    expect(() => lobsterMidnight('2012-13-45')).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }) as Error);
    expect(() => lobsterMidnight('2012-06-21', 'Mars/Olympus')).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }) as Error,
    );
  });
});
