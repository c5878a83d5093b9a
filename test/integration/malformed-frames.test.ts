import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Status } from '@mdcap/core';
import { BinanceEmulator, CoinbaseEmulator, KrakenEmulator, readRecording } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import { workerFeed } from '@mdcap/feeds';
import type { VenueName } from '@mdcap/feeds';
import { record } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { collectCallbacks, datasetFile, describeWithDataset, hashLines, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, expect, it } from 'vitest';

/**
 * A malformed book frame, recorded as `mdcap record` does (the handler on a worker thread, the
 * capture written from the engine's `onEvent`) and replayed: the replay gives the callbacks the
 * strategy saw live, the named gap, the resync and the book's return to valid included.
 */
const dir = tempDir('malformed-frames');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (...files: string[]) => files.flatMap((f) => readRecording(datasetFile('cryptofeed', f)));

const VENUES = {
  kraken: {
    symbols: ['WAVES/EUR', 'XMR/USD', 'KSM/XBT', 'GRT/ETH', 'SC/EUR', 'ETH/CHF', 'OCEAN/XBT', 'OMG/USD', 'XBT/CHF', 'ADA/XBT'],
    symbol: 'XMR/USD',
    path: '',
    start: () =>
      KrakenEmulator.start({ lines: lines('KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'), speed: 10, faults: 'malformed:500' }),
  },
  binance: {
    symbols: ['NKNUSDT', 'BLZETH', 'LRCBTC', 'RUNEEUR'],
    symbol: 'NKNUSDT',
    path: '/stream',
    start: () => BinanceEmulator.start({ lines: lines('BINANCE.ws.1.0', 'BINANCE.http.0.0'), speed: 10, faults: 'malformed:100' }),
  },
  coinbase: {
    symbols: ['SKL-USD', 'SKL-BTC', 'BAND-GBP', 'NMR-EUR', 'BAND-BTC', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'SKL-GBP'],
    symbol: 'BAND-GBP',
    path: '',
    start: () => CoinbaseEmulator.start({ lines: lines('COINBASE.ws.28.0'), speed: 10, faults: 'malformed:1000' }),
  },
} as const;

const until = (done: () => boolean, what: string): Promise<unknown> => waitFor(done, { what, deadlineMs: 60_000 });

describeWithDataset('cryptofeed', 'a malformed book frame: record → replay', () => {
  it.each(['kraken', 'binance', 'coinbase'] as const)(
    '%s: the replay gives the live callbacks, the named gap, the resync and the rebuilt book included',
    { timeout: 120_000 },
    async (venue: VenueName & keyof typeof VENUES) => {
      const v = VENUES[venue];
      const emulator = await v.start();
      const root = join(dir, venue);
      try {
        const feed = workerFeed(venue, { url: `${emulator.url}${v.path}`, restUrl: emulator.restUrl });
        const statuses: Status[] = [];
        let resynced = false;
        let validAgain = false;
        let events = 0;
        let afterGap = -1;
        let live!: ReturnType<typeof collectCallbacks>;
        // Recorded as `mdcap record` does (the library's `record`), a strategy logging every callback.
        const stop = new AbortController();
        const recording = record({
          feed,
          symbols: [...v.symbols],
          out: root,
          flushMs: 200,
          signal: stop.signal,
          engine: { books: true },
          onStart: (engine) => {
            engine.setBarInterval(1);
            live = collectCallbacks(engine);
            engine.onEvent(() => events++);
            engine.onStatus((s) => {
              statuses.push(s);
              if (s.kind === 'gap') afterGap = events;
              if (s.kind === 'resync') resynced = true;
            });
            engine.onBookUpdate((u, book) => {
              if (resynced && u.symbol === v.symbol && book.valid) validAgain = true;
            });
          },
        });
        try {
          await emulator.done();
          // Events come in order: once one came after the gap, what the same frame gave (the resync) is in.
          await until(() => afterGap >= 0 && events > afterGap, 'the gap status and an event after it');
          const lost = statuses.filter((s) => s.kind === 'gap' || s.kind === 'resync').map((s) => `${s.kind} ${s.symbol}`);
          expect(lost).toEqual([`gap ${v.symbol}`, `resync ${v.symbol}`]);
          await until(() => validAgain, `the ${v.symbol} book valid again after its resync`);
        } finally {
          stop.abort();
          await recording;
        }
        expect(live.errors).toEqual([]);

        const replay = new RealtimeEngine(ReplayProvider.open(root));
        replay.setBarInterval(1);
        const again = collectCallbacks(replay);
        await replay.run([...v.symbols]);
        expect(again.errors).toEqual([]);
        const first = again.lines.findIndex((l, i) => l !== live.lines[i]);
        expect(first === -1 ? null : { line: first, live: live.lines[first], replay: again.lines[first] }).toBeNull();
        expect(hashLines(again.lines)).toBe(hashLines(live.lines));
        expect(again.lines.filter((l) => l.startsWith('gap '))).toHaveLength(1);
        for (const symbol of v.symbols) expect(replay.book(symbol).stats().invalidations).toBe(symbol === v.symbol ? 1 : 0);
      } finally {
        await emulator.close();
      }
    },
  );
});
