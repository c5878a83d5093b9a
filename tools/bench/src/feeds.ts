/**
 * Venue parsers: the recorded frames of each venue (cryptofeed's samples) parsed and normalized
 * into events, beside a bare `JSON.parse` of the same frames in the same run. Each pass starts
 * a fresh parser (books from their snapshots, as on a new connection). Frames are replayed from
 * memory, so this is the parser's own cost, without sockets.
 * Usage: node dist/feeds.js [passes=40]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MarketEvent } from '@mdcap/core';
import { byTime, datasetsRoot, readRecording } from '@mdcap/emulators';
import { BinanceParser, CoinbaseParser, KrakenParser } from '@mdcap/feeds';
import { arg, report, since } from './measure.js';

const PASSES = arg(0, 40);
const root = datasetsRoot();

interface Parser {
  parse(text: string, tsRecv: bigint, out: (e: MarketEvent) => void): void;
  snapshot?(symbol: string, body: string, tsRecv: bigint, out: (e: MarketEvent) => void): void;
}

const venues: [string, string[], () => Parser][] = [
  ['kraken', ['KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'], () => new KrakenParser()],
  ['binance', ['BINANCE.ws.1.0', 'BINANCE.http.0.0'], () => new BinanceParser()],
  ['coinbase', ['COINBASE.ws.28.0'], () => new CoinbaseParser()],
];

let events = 0;
const out = (): void => {
  events++;
};

for (const [venue, files, make] of venues) {
  const paths = files.map((f) => join(root, 'cryptofeed', f));
  if (paths.some((p) => !existsSync(p))) {
    process.stderr.write(`feeds bench: ${venue} skipped, no ${paths.find((p) => !existsSync(p))} (set MDCAP_DATASETS)\n`);
    continue;
  }
  const lines = paths.flatMap((p) => readRecording(p)).sort(byTime);
  const frames = lines.filter((l) => l.kind === 'received');
  const rest = lines.filter((l) => l.kind === 'rest');
  const n = frames.length * PASSES;
  let t0 = performance.now();
  let keys = 0;
  for (let p = 0; p < PASSES; p++) for (const f of frames) keys += Object.keys(JSON.parse(f.text) as object).length;
  report({
    bench: 'feeds',
    case: `baseline: bare JSON.parse of the ${venue} frames`,
    items: n,
    seconds: since(t0),
    note: `${frames.length} frames × ${PASSES}; ${keys > 0 ? 'ok' : ''}`,
  });
  events = 0;
  t0 = performance.now();
  for (let p = 0; p < PASSES; p++) {
    const parser = make();
    let r = 0;
    for (const f of frames) {
      // Binance's REST snapshots go in where they were received.
      while (r < rest.length && rest[r]!.ts <= f.ts) {
        const symbol = new URL(rest[r]!.url!).searchParams.get('symbol')!;
        parser.snapshot?.(symbol, rest[r]!.text, rest[r]!.ts, out);
        r++;
      }
      parser.parse(f.text, f.ts, out);
    }
  }
  report({
    bench: 'feeds',
    case: `**${venue}** parse + normalize (exact decimals, books, checksums)`,
    items: n,
    seconds: since(t0),
    note: `${Math.round(events / PASSES)} events per pass`,
  });
}
