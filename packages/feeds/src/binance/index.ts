import type { Instrument, SubscriptionKind } from '@mdcap/core';
import { WsFeed } from '../transport/ws-feed.js';
import type { FrameParser, WsFeedOptions, WsVenue } from '../transport/ws-feed.js';
import { BinanceParser, binanceError } from './parse.js';
import type { BinanceParserOptions } from './parse.js';

export interface BinanceFeedOptions extends WsFeedOptions, BinanceParserOptions {
  /** Trades from `aggTrade` (default) or `trade`. */
  readonly tradeStream?: 'aggTrade' | 'trade';
}

/** Binance spot: `depth@100ms` synced to REST snapshots, `bookTicker` quotes, `aggTrade` trades. */
export function binanceVenue(options: BinanceFeedOptions = {}): WsVenue {
  const name = options.venue ?? 'binance';
  const trades = options.tradeStream ?? 'aggTrade';
  let id = 0;
  return {
    name,
    url: 'wss://stream.binance.com:9443/stream',
    restUrl: 'https://api.binance.com',
    kinds: ['book', 'trade', 'quote'],
    sequencing: 'monotonic-per-kind', // depth and bookTicker update ids, aggregate trade ids
    subscribeMessages(symbols: readonly string[], kinds: ReadonlySet<SubscriptionKind>): string[] {
      const params: string[] = [];
      for (const s of symbols) {
        const l = s.toLowerCase();
        if (kinds.has('book')) params.push(`${l}@depth@100ms`);
        if (kinds.has('quote')) params.push(`${l}@bookTicker`);
        if (kinds.has('trade')) params.push(`${l}@${trades}`);
      }
      return [JSON.stringify({ method: 'SUBSCRIBE', params, id: ++id })];
    },
    // The book comes back from a new REST snapshot (the parser asks for it); nothing to send.
    resnapshotMessages: (): string[] => [],
    snapshotPath: (symbol: string): string => `/api/v3/depth?symbol=${encodeURIComponent(symbol)}&limit=1000`,
    createParser: (): FrameParser => new BinanceParser(options),
    errorOf: binanceError,
    instruments(parser: FrameParser): Instrument[] {
      return [...(parser as BinanceParser).pairScales()].map(([symbol, sc]) => ({ venue: name, symbol, ...sc }));
    },
  };
}

/** A Binance feed: `new RealtimeEngine(binanceFeed({ url, restUrl }))`. */
export function binanceFeed(options: BinanceFeedOptions = {}): WsFeed {
  return new WsFeed(binanceVenue(options), options);
}
