import type { Instrument, SubscriptionKind } from '@mdcap/core';
import { WsFeed } from '../transport/ws-feed.js';
import type { FrameParser, WsFeedOptions, WsVenue } from '../transport/ws-feed.js';
import { KrakenParser, subscriptionError } from './parse.js';
import type { KrakenParserOptions } from './parse.js';

export interface KrakenFeedOptions extends WsFeedOptions, KrakenParserOptions {
  /** Book depth to subscribe: 10, 25, 100, 500 or 1000 (default 1000, as in the recording). */
  readonly depth?: number;
}

/** Kraken spot WebSocket v1: `book` (with CRC32 checks), `trade`, `ticker` (quotes). */
export function krakenVenue(options: KrakenFeedOptions = {}): WsVenue {
  const depth = options.depth ?? 1000;
  const name = options.venue ?? 'kraken';
  const sub = (event: 'subscribe' | 'unsubscribe', pairs: readonly string[], subscription: Record<string, unknown>): string =>
    JSON.stringify({ event, pair: pairs, subscription });
  return {
    name,
    url: 'wss://ws.kraken.com',
    kinds: ['book', 'trade', 'quote'],
    subscribeMessages(symbols: readonly string[], kinds: ReadonlySet<SubscriptionKind>): string[] {
      const out: string[] = [];
      if (kinds.has('book')) out.push(sub('subscribe', symbols, { name: 'book', depth }));
      if (kinds.has('trade')) out.push(sub('subscribe', symbols, { name: 'trade' }));
      if (kinds.has('quote')) out.push(sub('subscribe', symbols, { name: 'ticker' }));
      return out;
    },
    resnapshotMessages(symbol: string): string[] {
      return [sub('unsubscribe', [symbol], { name: 'book', depth }), sub('subscribe', [symbol], { name: 'book', depth })];
    },
    createParser: (): FrameParser => new KrakenParser(options),
    errorOf: subscriptionError,
    instruments(parser: FrameParser): Instrument[] {
      const scales = (parser as KrakenParser).pairScales();
      return [...scales].map(([symbol, sc]) => ({ venue: name, symbol, ...sc }));
    },
  };
}

/** A Kraken feed: `new RealtimeEngine(krakenFeed({ url }))`. */
export function krakenFeed(options: KrakenFeedOptions = {}): WsFeed {
  return new WsFeed(krakenVenue(options), options);
}
