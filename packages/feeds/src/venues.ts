import { describeValue, MdcapError } from '@mdcap/core';
import type { PairScales } from './frame.js';
import { alpacaVenue } from './alpaca/index.js';
import { binanceVenue } from './binance/index.js';
import { coinbaseVenue } from './coinbase/index.js';
import { krakenVenue } from './kraken/index.js';
import { WsFeed } from './transport/ws-feed.js';
import type { WsFeedOptions, WsVenue } from './transport/ws-feed.js';

/** The venues mdcap speaks. */
export type VenueName = 'kraken' | 'binance' | 'coinbase' | 'alpaca';
export const VENUE_NAMES: readonly VenueName[] = ['kraken', 'binance', 'coinbase', 'alpaca'];

/**
 * The options of any venue feed that are plain data, so they can be handed to a worker thread
 * (no clock, no callbacks). Each venue reads the ones it knows.
 */
export interface VenueFeedOptions {
  readonly url?: string;
  readonly restUrl?: string;
  readonly staleMs?: number;
  readonly pingMs?: number;
  /** Venue name on the events (default: the venue's own). */
  readonly venue?: string;
  readonly scales?: ReadonlyMap<string, PairScales>;
  /** Kraken book depth. */
  readonly depth?: number;
  /** Binance trades from `aggTrade` (default) or `trade`. */
  readonly tradeStream?: 'aggTrade' | 'trade';
  /** Alpaca credentials and data feed. */
  readonly key?: string;
  readonly secret?: string;
  readonly feed?: 'iex' | 'sip';
}

/** The venue description of `name` (its endpoint, kinds, subscribe messages, parser). */
export function venueSpec(name: VenueName, options: VenueFeedOptions = {}): WsVenue {
  switch (name) {
    case 'kraken':
      return krakenVenue(options);
    case 'binance':
      return binanceVenue(options);
    case 'coinbase':
      return coinbaseVenue(options);
    case 'alpaca':
      if (options.key === undefined || options.secret === undefined) {
        throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'alpaca: expected API credentials (key and secret), found none');
      }
      return alpacaVenue({ ...options, key: options.key, secret: options.secret });
    default:
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `venue: expected one of ${VENUE_NAMES.join(', ')}, found ${describeValue(name)}`);
  }
}

/** A feed of venue `name` on this thread. */
export function venueFeed(name: VenueName, options: VenueFeedOptions & WsFeedOptions = {}): WsFeed {
  return new WsFeed(venueSpec(name, options), options);
}
