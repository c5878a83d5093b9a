import { BookFlags } from '@mdcap/core';
import type { Quote, Status } from '@mdcap/core';
import { BinanceEmulator, readRecording } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import { binanceFeed } from '@mdcap/feeds';
import { datasetFile, describeWithDataset, waitFor, withFrameTrail } from '@mdcap/test-utils';
import { afterEach, expect, it } from 'vitest';

/**
 * The real Binance handler (WebSocket streams + REST depth snapshots) through the engine,
 * against the emulator replaying the real recording at 10x.
 */
const SYMBOLS = ['NKNUSDT', 'BLZETH', 'LRCBTC', 'RUNEEUR'];
const recording = () => ['BINANCE.ws.1.0', 'BINANCE.http.0.0'].flatMap((f) => readRecording(datasetFile('cryptofeed', f)));

let emulator: BinanceEmulator | null = null;
afterEach(async () => {
  await emulator?.close();
  emulator = null;
});

async function run(faults = '', loops = 1) {
  const { emulator: emu, trail } = await withFrameTrail((onSend) =>
    BinanceEmulator.start({ lines: recording(), speed: loops > 1 ? 'max' : 10, faults, loops, onSend }),
  );
  emulator = emu;
  const provider = binanceFeed({ url: `${emu.url}/stream`, restUrl: emu.restUrl, onFrame: (text) => trail.received(text) });
  const engine = new RealtimeEngine(provider, { reconnect: { delaysMs: [100] } });
  const tops = new Map<string, string>();
  const tickers: Quote[] = [];
  const statuses: Status[] = [];
  const errors: string[] = [];
  let trades = 0;
  engine.onBookUpdate((u, book) => {
    if ((u.flags & BookFlags.Last) !== 0 && book.valid) {
      tops.set(`${u.symbol} ${u.seq}`, `${book.bestBidPrice()} ${book.bestBidSize()} ${book.bestAskPrice()} ${book.bestAskSize()}`);
    }
  });
  engine.onQuote((q) => tickers.push(q));
  const tradeSeqs = new Map<string, (bigint | null)[]>();
  engine.onTrade((t) => {
    trades++;
    tradeSeqs.set(t.symbol, [...(tradeSeqs.get(t.symbol) ?? []), t.seq]);
  });
  engine.onStatus((s) => statuses.push(s));
  engine.onError((e) => errors.push(e.message));
  await engine.start(SYMBOLS);
  // Every frame played has been received, and every book has the REST snapshot it asked for.
  const snapshots = provider.parser.snapshotRequests!;
  await waitFor(() => emu.stats.timelineDone && trail.caughtUp() && snapshots.size === 0, {
    what: 'the recording played, every frame sent received and every book synced to its REST snapshot',
    state: () => `${trail.describe()}; snapshots still wanted: ${[...snapshots].join(',')}`,
  });
  await engine.stop();
  const compared = tickers.filter((q) => tops.has(`${q.symbol} ${q.seq}`));
  const mismatched = compared.filter((q) => tops.get(`${q.symbol} ${q.seq}`) !== `${q.bidPrice} ${q.bidSize} ${q.askPrice} ${q.askSize}`);
  return {
    provider,
    statuses,
    errors,
    compared,
    mismatched,
    trades,
    tradeSeqs,
    kinds: (k: string) => statuses.filter((s) => s.kind === k),
  };
}

describeWithDataset('cryptofeed', 'Binance feed against the emulator', () => {
  it('the rebuilt best bid/ask equals bookTicker at all 26 points where the two can be compared', { timeout: 60_000 }, async () => {
    const r = await run();
    expect(r.errors).toEqual([]);
    expect(r.kinds('gap')).toEqual([]);
    expect(r.compared.length).toBe(26);
    expect(r.mismatched).toEqual([]);
    expect(r.trades).toBe(2);
    expect(r.provider.stats.malformed).toBe(0);
  });

  it(
    'played in loops (load tests), each loop renumbered to continue the last: no gap, no resync, trades in id order',
    { timeout: 60_000 },
    async () => {
      const r = await run('', 3);
      expect(r.errors).toEqual([]);
      expect(r.kinds('gap')).toEqual([]);
      expect(r.kinds('resync')).toEqual([]);
      expect(r.trades).toBe(6);
      for (const seqs of r.tradeSeqs.values()) {
        expect(seqs).toHaveLength(3); // a trade a loop, aggregate ids rising across loops
        expect(seqs).toEqual([...seqs].sort((x, y) => (x! < y! ? -1 : 1)));
        expect(new Set(seqs).size).toBe(3);
      }
      expect(r.provider.stats.malformed).toBe(0);
    },
  );

  it(
    'a lost diff: a gap status with the missing update ids, a resync, a new REST snapshot, and matching tops again',
    { timeout: 60_000 },
    async () => {
      const r = await run('skip:40');
      const gaps = r.kinds('gap');
      expect(gaps.length).toBe(1);
      expect(gaps[0]!.fromSeq).not.toBeNull();
      expect(r.kinds('resync').map((s) => s.symbol)).toEqual([gaps[0]!.symbol]);
      expect(r.mismatched).toEqual([]);
      expect(r.compared.length).toBeGreaterThan(10);
    },
  );

  it('an unknown symbol: the REST error as a gap status naming the symbol', { timeout: 60_000 }, async () => {
    emulator = await BinanceEmulator.start({ lines: recording(), speed: 'max' });
    const statuses: Status[] = [];
    const feed = binanceFeed({ url: `${emulator.url}/stream`, restUrl: emulator.restUrl });
    // A symbol the venue does not list gets no stream data (as on Binance); its REST snapshot is refused.
    const engine = new RealtimeEngine(feed);
    engine.onStatus((s) => statuses.push(s));
    await engine.start(['NOPEUSDT', 'NKNUSDT']);
    await waitFor(() => statuses.some((s) => s.symbol === 'NOPEUSDT'), { what: 'a status naming NOPEUSDT' });
    await engine.stop();
    expect(statuses.find((s) => s.symbol === 'NOPEUSDT')?.detail).toMatch(
      /binance: depth snapshot .*NOPEUSDT.* failed: HTTP 400: \{"code":-1121,"msg":"Invalid symbol\."\}/,
    );
  });
});
