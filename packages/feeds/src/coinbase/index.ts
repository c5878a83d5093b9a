import type { Instrument, SubscriptionKind } from '@mdcap/core';
import { WsFeed } from '../transport/ws-feed.js';
import type { FrameParser, WsFeedOptions, WsVenue } from '../transport/ws-feed.js';
import { CoinbaseParser, coinbaseError } from './parse.js';
import type { CoinbaseParserOptions } from './parse.js';

export type CoinbaseFeedOptions = WsFeedOptions & CoinbaseParserOptions;

/** Coinbase Exchange: `level2` books, `matches` trades, `ticker` quotes, `heartbeat`. */
export function coinbaseVenue(options: CoinbaseFeedOptions = {}): WsVenue {
  const name = options.venue ?? 'coinbase';
  const sub = (type: 'subscribe' | 'unsubscribe', products: readonly string[], channels: string[]): string =>
    JSON.stringify({ type, product_ids: products, channels });
  return {
    name,
    url: 'wss://ws-feed.exchange.coinbase.com',
    kinds: ['book', 'trade', 'quote'],
    sequencing: 'monotonic-per-kind', // one sequence per product, shared by every channel
    subscribeMessages(symbols: readonly string[], kinds: ReadonlySet<SubscriptionKind>): string[] {
      const channels = ['heartbeat'];
      if (kinds.has('book')) channels.push('level2');
      if (kinds.has('trade')) channels.push('matches');
      if (kinds.has('quote')) channels.push('ticker');
      return [sub('subscribe', symbols, channels)];
    },
    resnapshotMessages: (symbol: string): string[] => [sub('unsubscribe', [symbol], ['level2']), sub('subscribe', [symbol], ['level2'])],
    createParser: (): FrameParser => new CoinbaseParser(options),
    errorOf: coinbaseError,
    instruments(parser: FrameParser): Instrument[] {
      return [...(parser as CoinbaseParser).pairScales()].map(([symbol, sc]) => ({ venue: name, symbol, ...sc }));
    },
  };
}

/** A Coinbase feed: `new RealtimeEngine(coinbaseFeed({ url }))`. */
export function coinbaseFeed(options: CoinbaseFeedOptions = {}): WsFeed {
  return new WsFeed(coinbaseVenue(options), options);
}
