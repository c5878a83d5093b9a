import type { Bar, MarketEvent, Status, Trade } from '@mdcap/core';
import { AlpacaEmulator } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import { AlpacaParser, alpacaFeed } from '@mdcap/feeds';
import { waitFor, withFrameTrail } from '@mdcap/test-utils';
import { afterEach, describe, expect, it } from 'vitest';

const t = 1_704_205_800_000_000_000n;

describe('Alpaca parser', () => {
  it('reads prices, sizes and ids from the frame text, never through a float', () => {
    const p = new AlpacaParser();
    const got: MarketEvent[] = [];
    p.parse(
      '[{"T":"t","S":"AAPL","i":12345678901234567891,"x":"V","p":126.5501,"s":100,"t":"2021-02-22T15:51:44.208123456Z","c":["@"],"z":"C"}]',
      t,
      (e) => got.push(e),
    );
    expect(got[0]).toMatchObject({
      type: 'trade',
      price: 1_265_501n,
      priceScale: 4,
      size: 100n,
      tradeId: '12345678901234567891',
      tsEvent: 1_614_009_104_208_123_456n,
      side: 'none',
    });
  });

  it('a fifth decimal is a bad frame, not a rounded price', () => {
    const p = new AlpacaParser();
    expect(() => p.parse('[{"T":"t","S":"AAPL","i":1,"p":1.00001,"s":1,"t":"2021-02-22T15:51:44Z"}]', t, () => {})).toThrow(
      /alpaca: expected a price "p" with at most 4 decimals/,
    );
  });
});

let emulator: AlpacaEmulator | null = null;
afterEach(async () => {
  await emulator?.close();
  emulator = null;
});

describe('Alpaca feed against the scripted emulator', () => {
  it(
    'authenticates, subscribes trades, quotes and bars; the vendor minute bars agree exactly with the trades',
    { timeout: 60_000 },
    async () => {
      const { emulator: emu, trail } = await withFrameTrail((onSend) => AlpacaEmulator.start({ speed: 'max', onSend }));
      emulator = emu;
      const feed = alpacaFeed({ url: emu.url, key: 'key', secret: 'secret', onFrame: (text) => trail.received(text) });
      const engine = new RealtimeEngine(feed, {
        kinds: ['trade', 'quote', 'bar'],
      });
      const trades: Trade[] = [];
      let quotes = 0;
      engine.onTrade((tr) => trades.push(tr));
      engine.onQuote(() => quotes++);
      const provided: Bar[] = [];
      engine.onEvent((e) => {
        if (e.type === 'bar') provided.push(e);
      });
      await engine.start(['AAPL', 'MSFT']);
      await waitFor(() => emu.stats.timelineDone && trail.caughtUp(), {
        what: 'the script played and every frame sent received',
        state: () => trail.describe(),
      });
      await engine.stop();
      expect(quotes).toBe(2 * 2 * 600);
      expect(provided.length).toBe(4); // 2 minutes × 2 symbols, from the venue
      // OHLCV of the trades of each bar's minute, in exact integers.
      for (const b of provided) {
        const inside = trades.filter((tr) => tr.symbol === b.symbol && tr.tsEvent >= b.start && tr.tsEvent < b.end);
        const prices = inside.map((tr) => tr.price);
        expect([b.open, b.high, b.low, b.close, b.volume, b.trades]).toEqual([
          prices[0],
          prices.reduce((a, p) => (p > a ? p : a)),
          prices.reduce((a, p) => (p < a ? p : a)),
          prices.at(-1),
          inside.reduce((a, tr) => a + tr.size, 0n),
          inside.length,
        ]);
      }
    },
  );

  it('bad credentials: start fails with the venue error, one line', { timeout: 30_000 }, async () => {
    emulator = await AlpacaEmulator.start({ speed: 'max' });
    const engine = new RealtimeEngine(alpacaFeed({ url: emulator.url, key: 'key', secret: 'wrong' }));
    await expect(engine.start(['AAPL'])).rejects.toThrow(
      'alpaca: expected the venue to accept the connection, found auth failed (code 402)',
    );
  });

  it('a second connection: the connection limit error', { timeout: 30_000 }, async () => {
    emulator = await AlpacaEmulator.start({ speed: 'max' });
    const first = new RealtimeEngine(alpacaFeed({ url: emulator.url, key: 'key', secret: 'secret' }));
    await first.start(['AAPL']);
    const second = new RealtimeEngine(alpacaFeed({ url: emulator.url, key: 'key', secret: 'secret' }));
    await expect(second.start(['MSFT'])).rejects.toThrow('found connection limit exceeded (code 406)');
    await first.stop();
  });

  it('an injected auth rejection is the same clear error', { timeout: 30_000 }, async () => {
    emulator = await AlpacaEmulator.start({ speed: 'max', faults: 'reject-auth' });
    const statuses: Status[] = [];
    const engine = new RealtimeEngine(alpacaFeed({ url: emulator.url, key: 'key', secret: 'secret' }));
    engine.onStatus((s) => statuses.push(s));
    await expect(engine.start(['AAPL'])).rejects.toThrow(/auth failed \(code 402\)/);
  });
});
