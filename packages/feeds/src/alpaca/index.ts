import type { Instrument, SubscriptionKind } from '@mdcap/core';
import { WsFeed } from '../transport/ws-feed.js';
import type { FrameParser, WsFeedOptions, WsVenue } from '../transport/ws-feed.js';
import { AlpacaParser, alpacaError } from './parse.js';
import type { AlpacaParserOptions } from './parse.js';

export interface AlpacaFeedOptions extends WsFeedOptions, AlpacaParserOptions {
  /** API key id and secret (the CLI reads them from `--key`/`--secret` or APCA_API_KEY_ID / APCA_API_SECRET_KEY). */
  readonly key: string;
  readonly secret: string;
  /** `iex` (free) or `sip` (the consolidated tape; default iex). */
  readonly feed?: 'iex' | 'sip';
}

/** Alpaca market data v2 stocks: trades, quotes and minute bars, after authentication. */
export function alpacaVenue(options: AlpacaFeedOptions): WsVenue {
  const name = options.venue ?? 'alpaca';
  return {
    name,
    url: `wss://stream.data.alpaca.markets/v2/${options.feed ?? 'iex'}`,
    kinds: ['trade', 'quote', 'bar'],
    authMessages: (): string[] => [JSON.stringify({ action: 'auth', key: options.key, secret: options.secret })],
    authResult(text: string): 'ok' | { error: string } | null {
      if (text.includes('"authenticated"')) return 'ok';
      const e = alpacaError(text);
      return e === null ? null : { error: e.message };
    },
    subscribeMessages(symbols: readonly string[], kinds: ReadonlySet<SubscriptionKind>): string[] {
      return [
        JSON.stringify({
          action: 'subscribe',
          ...(kinds.has('trade') ? { trades: symbols } : {}),
          ...(kinds.has('quote') ? { quotes: symbols } : {}),
          ...(kinds.has('bar') ? { bars: symbols } : {}),
        }),
      ];
    },
    resnapshotMessages: (): string[] => [],
    createParser: (): FrameParser => new AlpacaParser(options),
    errorOf: alpacaError,
    instruments(parser: FrameParser): Instrument[] {
      return [...(parser as AlpacaParser).pairScales()].map(([symbol, sc]) => ({ venue: name, symbol, ...sc }));
    },
  };
}

/** An Alpaca feed: `new RealtimeEngine(alpacaFeed({ key, secret }))`. */
export function alpacaFeed(options: AlpacaFeedOptions): WsFeed {
  return new WsFeed(alpacaVenue(options), options);
}
