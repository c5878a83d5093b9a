import { BookFlags } from '@mdcap/core';
import type { Status } from '@mdcap/core';
import { CoinbaseEmulator, readRecording } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import { coinbaseFeed } from '@mdcap/feeds';
import { datasetFile, describeWithDataset, waitFor, withFrameTrail } from '@mdcap/test-utils';
import { afterEach, expect, it } from 'vitest';

/** The real Coinbase handler through the engine, against the emulator replaying the real recording. */
const PRODUCTS = ['SKL-USD', 'SKL-BTC', 'BAND-GBP', 'NMR-EUR', 'BAND-BTC', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'SKL-GBP'];

let emulator: CoinbaseEmulator | null = null;
afterEach(async () => {
  await emulator?.close();
  emulator = null;
});

describeWithDataset('cryptofeed', 'Coinbase feed against the emulator', () => {
  it('every ticker newer than its product snapshot has the best bid/ask of the book mdcap builds', { timeout: 60_000 }, async () => {
    const { emulator: emu, trail } = await withFrameTrail((onSend) =>
      CoinbaseEmulator.start({ lines: readRecording(datasetFile('cryptofeed', 'COINBASE.ws.28.0')), speed: 'max', onSend }),
    );
    emulator = emu;
    const engine = new RealtimeEngine(coinbaseFeed({ url: emu.url, onFrame: (text) => trail.received(text) }));
    const snapshotAt = new Map<string, bigint>();
    const mismatches: string[] = [];
    const statuses: Status[] = [];
    let compared = 0;
    let trades = 0;
    // The level2 snapshot has no time: the book's venue time is that of its first update. A
    // ticker older than that (the one Coinbase replays on subscribe) cannot be compared.
    engine.onBookUpdate((u) => {
      if ((u.flags & BookFlags.Snapshot) === 0 && !snapshotAt.has(u.symbol)) snapshotAt.set(u.symbol, u.tsEvent);
    });
    engine.onQuote((q) => {
      const book = engine.book(q.symbol);
      const at = snapshotAt.get(q.symbol);
      if (book === undefined || !book.valid || at === undefined || q.tsEvent < at) return;
      compared++;
      if (book.bestBidPrice() !== q.bidPrice || book.bestAskPrice() !== q.askPrice) mismatches.push(`${q.symbol} ${q.seq}`);
    });
    engine.onTrade(() => trades++);
    engine.onStatus((s) => statuses.push(s));
    await engine.start(PRODUCTS);
    await waitFor(() => emu.stats.timelineDone && trail.caughtUp(), {
      what: 'the recording played and every frame sent received',
      state: () => trail.describe(),
    });
    await engine.stop();
    expect(mismatches).toEqual([]);
    expect(compared).toBe(97); // 107 tickers, less the 10 replayed on subscribe
    expect(trades).toBeGreaterThan(90);
    expect(statuses.filter((s) => s.kind === 'gap')).toEqual([]);
  });

  it('an unknown product: the venue error as a status', { timeout: 60_000 }, async () => {
    emulator = await CoinbaseEmulator.start({ lines: readRecording(datasetFile('cryptofeed', 'COINBASE.ws.28.0')), speed: 'max' });
    const engine = new RealtimeEngine(coinbaseFeed({ url: emulator.url }));
    const statuses: Status[] = [];
    engine.onStatus((s) => statuses.push(s));
    await engine.start(['NOPE-USD']);
    await waitFor(() => statuses.some((s) => s.kind === 'gap'), { what: 'a gap status for NOPE-USD' });
    await engine.stop();
    expect(statuses.find((s) => s.kind === 'gap')?.detail).toBe('coinbase error: Failed to subscribe: NOPE-USD is not a valid product');
  });
});
