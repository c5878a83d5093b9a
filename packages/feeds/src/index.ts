/**
 * @mdcap/feeds: venue and vendor formats into the normalized event model. So far: LOBSTER
 * limit-order-book files (`mdcap import lobster`); live venue handlers follow.
 */
export { LobsterParser, parseLobsterFileName, lobsterMidnight, LOBSTER_PRICE_SCALE } from './lobster.js';
export type { LobsterOptions, LobsterFileName } from './lobster.js';
export { crc32Ascii } from './book/crc32.js';
export { FrameError, VenueParser } from './frame.js';
export type { PairScales } from './frame.js';
export { KrakenParser } from './kraken/parse.js';
export type { KrakenParserOptions, KrakenStats } from './kraken/parse.js';
export { WsFeed } from './transport/ws-feed.js';
export type { WsVenue, WsFeedOptions, WsFeedStats, FrameParser } from './transport/ws-feed.js';
export { krakenFeed, krakenVenue } from './kraken/index.js';
export type { KrakenFeedOptions } from './kraken/index.js';
export { BinanceParser } from './binance/parse.js';
export type { BinanceParserOptions } from './binance/parse.js';
export { binanceFeed, binanceVenue } from './binance/index.js';
export type { BinanceFeedOptions } from './binance/index.js';
export { CoinbaseParser } from './coinbase/parse.js';
export type { CoinbaseParserOptions } from './coinbase/parse.js';
export { coinbaseFeed, coinbaseVenue } from './coinbase/index.js';
export type { CoinbaseFeedOptions } from './coinbase/index.js';
export { AlpacaParser } from './alpaca/parse.js';
export type { AlpacaParserOptions } from './alpaca/parse.js';
export { alpacaFeed, alpacaVenue } from './alpaca/index.js';
export type { AlpacaFeedOptions } from './alpaca/index.js';
export { VENUE_NAMES, venueFeed, venueSpec } from './venues.js';
export type { VenueFeedOptions, VenueName } from './venues.js';
export { WorkerFeed, workerFeed } from './transport/worker-feed.js';
export type { WorkerFeedOptions } from './transport/worker-feed.js';
export { RawTap } from './transport/raw-tap.js';
export { DatabentoFeed, databentoFeed, databentoGateway } from './databento/index.js';
export type { DatabentoFeedOptions } from './databento/index.js';
export {
  BloombergFeed,
  bloombergFeed,
  BloombergSession,
  loadBlpapi,
  checkBinding,
  floatToMantissa,
  datetimeToNs,
  DEFAULT_FIELDS,
  BLOOMBERG_DEFAULTS,
} from './bloomberg/index.js';
export type {
  BloombergFeedOptions,
  BloombergOptions,
  BloombergStats,
  BlpapiModule,
  BlpSession,
  BlpEvent,
  BlpMessage,
  BlpDatetime,
  BlpElement,
} from './bloomberg/index.js';
export { CmeHandler } from './cme/handler.js';
export type { CmeFeedSide, CmeHandlerOptions, CmeHandlerStats } from './cme/handler.js';
export { fromPrice, priceRule, toPrice } from './cme/prices.js';
export type { PriceRule } from './cme/prices.js';
export { CmeFeed, cmeChannel } from './cme/feed.js';
export type { CmeChannel, CmeFeedOptions, CmeGroup } from './cme/feed.js';
export { CmeWorkerFeed } from './cme/worker-feed.js';
export type { CmeWorkerFeedOptions } from './cme/worker-feed.js';
export { HotReader } from './cme/fast.js';
export type { HotEntry, HotKind, HotVisitor } from './cme/fast.js';
