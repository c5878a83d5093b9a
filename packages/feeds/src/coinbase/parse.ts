import { BookFlags, createBookUpdate, createQuote, createTrade, isoToNs } from '@mdcap/core';
import type { BookSide, MarketEvent } from '@mdcap/core';
import { snapshotFlags, VenueParser } from '../frame.js';
import type { PairScales } from '../frame.js';

/**
 * Coinbase Exchange WebSocket feed (`wss://ws-feed.exchange.coinbase.com`, formerly
 * `ws-feed.pro.coinbase.com`): channels `level2`, `matches`, `ticker`, `heartbeat`. Pure.
 *
 * - `snapshot` (`bids`, `asks`: `[price, size]`) then `l2update` (`changes`: `[side, price,
 *   size]`, sizes absolute, 0 removes; `side` buy = bid, sell = ask). The channel has no
 *   sequence numbers (`seq` null).
 * - `match` / `last_match`: a trade; `side` is the maker's, so the aggressor is the other side;
 *   `seq` = the product's `sequence`.
 * - `ticker`: best bid and ask after a trade → a `quote` with `seq` = `sequence`; the feed sends
 *   `best_bid_size` / `best_ask_size` only since 2022: without them the sizes are 0 (unknown).
 *   The first ticker of a product is the last one before the subscription (older than the book).
 * - `heartbeat` keeps the connection known to be alive; `error` messages are venue errors.
 *
 * Coinbase's strings do not carry fixed decimals (`"12.77"`, `"123.10"`, `"985"`), so scales are
 * fixed per product: given in the options (from REST `/products`: `quote_increment`,
 * `base_increment`), else 10 for prices and 8 for sizes, which hold every Coinbase increment.
 */
export interface CoinbaseParserOptions {
  /** Venue name on the events (default `coinbase`). */
  readonly venue?: string;
  readonly scales?: ReadonlyMap<string, PairScales>;
}

const DEFAULT_SCALES: PairScales = { priceScale: 10, sizeScale: 8 };
/** The product field of any message, `"product_id":"BTC-USD"`. */
const PRODUCT = /"product_id"\s*:\s*"([^"\\]+)"/;

export class CoinbaseParser extends VenueParser {
  /** Products whose level2 book must come again (a lost frame named them): the transport resubscribes them. */
  readonly resyncs: Set<string> = new Set<string>();

  constructor(options: CoinbaseParserOptions = {}) {
    super(options.venue ?? 'coinbase', options.scales);
  }

  reset(): void {
    this.resyncs.clear();
  }

  /** The product of a frame that could not be parsed: its `"product_id"`, by a tolerant look at the text. */
  symbolsOf(text: string): string[] {
    const m = PRODUCT.exec(text);
    return m === null ? [] : [m[1]!];
  }

  /** The product's book must come again: a level2 resubscription brings a new snapshot. */
  rebuild(product: string): void {
    this.resyncs.add(product);
  }

  parse(text: string, tsRecv: bigint, out: (e: MarketEvent) => void): void {
    const m = this.json(text) as Record<string, unknown>;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw this.bad('expected an object', text);
    const type = m['type'];
    if (type === 'snapshot') this.bookSnapshot(m, tsRecv, text, out);
    else if (type === 'l2update') this.update(m, tsRecv, text, out);
    else if (type === 'match' || type === 'last_match') this.match(m, tsRecv, text, out);
    else if (type === 'ticker') this.ticker(m, tsRecv, text, out);
    // subscriptions, heartbeat, error (read by the transport), other channels: no events
  }

  private product(m: Record<string, unknown>, text: string): { symbol: string; sc: PairScales } {
    const symbol = m['product_id'];
    if (typeof symbol !== 'string') throw this.bad('expected a "product_id"', text);
    let sc = this.scales.get(symbol);
    if (sc === undefined) this.scales.set(symbol, (sc = DEFAULT_SCALES));
    return { symbol, sc };
  }

  private time(v: unknown, text: string): bigint {
    if (typeof v !== 'string') throw this.bad('expected a "time"', text);
    try {
      return isoToNs(v);
    } catch {
      throw this.bad('expected "time" as an RFC 3339 timestamp', text);
    }
  }

  private seq(v: unknown, text: string): bigint {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw this.bad('expected "sequence" as an integer', text);
    return BigInt(v);
  }

  private bookSnapshot(m: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const { symbol, sc } = this.product(m, text);
    const bids = m['bids'];
    const asks = m['asks'];
    if (!Array.isArray(bids) || !Array.isArray(asks)) throw this.bad('expected "bids" and "asks" arrays', text);
    const levels: [BookSide, unknown[]][] = [
      ...bids.map((l) => ['bid', l] as [BookSide, unknown[]]),
      ...asks.map((l) => ['ask', l] as [BookSide, unknown[]]),
    ];
    for (let i = 0; i < levels.length; i++) {
      const [side, l] = levels[i]!;
      const flags = snapshotFlags(i, levels.length);
      out(
        createBookUpdate({
          venue: this.venue,
          symbol,
          tsEvent: tsRecv, // the snapshot carries no time
          tsRecv,
          side,
          price: this.dec(l[0], sc.priceScale, 'a price', text),
          size: this.dec(l[1], sc.sizeScale, 'a size', text),
          ...sc,
          flags,
        }),
      );
    }
  }

  private update(m: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const { symbol, sc } = this.product(m, text);
    const changes = m['changes'];
    if (!Array.isArray(changes) || changes.length === 0) throw this.bad('expected "changes" [side, price, size]', text);
    const tsEvent = this.time(m['time'], text);
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i] as unknown[];
      if (!Array.isArray(c) || (c[0] !== 'buy' && c[0] !== 'sell')) throw this.bad('expected a change [buy|sell, price, size]', text);
      out(
        createBookUpdate({
          venue: this.venue,
          symbol,
          tsEvent,
          tsRecv,
          side: c[0] === 'buy' ? 'bid' : 'ask',
          price: this.dec(c[1], sc.priceScale, 'a price', text),
          size: this.dec(c[2], sc.sizeScale, 'a size', text),
          ...sc,
          flags: i === changes.length - 1 ? BookFlags.Last : 0,
        }),
      );
    }
  }

  private match(m: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const { symbol, sc } = this.product(m, text);
    out(
      createTrade({
        venue: this.venue,
        symbol,
        tsEvent: this.time(m['time'], text),
        tsRecv,
        seq: this.seq(m['sequence'], text),
        price: this.dec(m['price'], sc.priceScale, 'a price', text),
        size: this.dec(m['size'], sc.sizeScale, 'a size', text),
        ...sc,
        // `side` is the maker order's side: a sell maker was hit by a buyer.
        side: m['side'] === 'sell' ? 'buy' : m['side'] === 'buy' ? 'sell' : 'none',
        tradeId: typeof m['trade_id'] === 'number' ? String(m['trade_id']) : null,
      }),
    );
  }

  private ticker(m: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const { symbol, sc } = this.product(m, text);
    const size = (v: unknown, what: string): bigint => (v === undefined ? 0n : this.dec(v, sc.sizeScale, what, text));
    out(
      createQuote({
        venue: this.venue,
        symbol,
        tsEvent: m['time'] === undefined ? tsRecv : this.time(m['time'], text),
        tsRecv,
        seq: this.seq(m['sequence'], text),
        bidPrice: this.dec(m['best_bid'], sc.priceScale, 'a "best_bid"', text),
        bidSize: size(m['best_bid_size'], 'a "best_bid_size"'),
        askPrice: this.dec(m['best_ask'], sc.priceScale, 'a "best_ask"', text),
        askSize: size(m['best_ask_size'], 'a "best_ask_size"'),
        ...sc,
      }),
    );
  }
}

/** A Coinbase `error` message: its text, or null. */
export function coinbaseError(text: string): { symbol: string | null; message: string } | null {
  // Coinbase puts "type" first: then the prefix decides without scanning the whole frame.
  if (text.startsWith('{"type":"') ? !text.startsWith('{"type":"error"') : !text.includes('"error"')) return null;
  try {
    const o = JSON.parse(text) as { type?: string; message?: string; reason?: string };
    if (o.type !== 'error') return null;
    return { symbol: null, message: `${o.message ?? 'error'}${o.reason === undefined ? '' : `: ${o.reason}`}` };
  } catch {
    return null;
  }
}
