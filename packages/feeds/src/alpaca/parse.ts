import { createBar, createQuote, createTrade, isoToNs } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { VenueParser } from '../frame.js';
import type { PairScales } from '../frame.js';

/**
 * Alpaca market data v2, stocks (`wss://stream.data.alpaca.markets/v2/{iex|sip}`): every frame
 * is a JSON array of messages tagged `T`: `t` trade, `q` quote, `b` minute bar (also `d` daily
 * and `u` updated bars), `success`, `subscription`, `error`. Pure.
 *
 * Alpaca sends prices and sizes as JSON numbers. They are never read as floats: the number's
 * own text is kept (quoted before `JSON.parse`) and parsed exactly. Prices have at most 4
 * decimals (sub-penny quotes) and sizes are whole shares: scale 4 and 0 unless configured.
 * Times are RFC 3339 with up to nanoseconds. Alpaca has no aggressor side (`none`) and no
 * sequence numbers (`seq` null); the trade id is kept as text.
 */
export interface AlpacaParserOptions {
  /** Venue name on the events (default `alpaca`). */
  readonly venue?: string;
  readonly scales?: ReadonlyMap<string, PairScales>;
}

const DEFAULT_SCALES: PairScales = { priceScale: 4, sizeScale: 0 };
/** Numeric fields whose text must survive: prices, sizes, bar values, trade ids (int64). */
const NUMBERS = /"(p|s|bp|bs|ap|as|o|h|l|c|v|vw|i)":(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
const BAR_SECONDS: Record<string, number> = { b: 60, u: 60, d: 86_400 };
/** The symbol field of a message, `"S":"AAPL"`. */
const SYMBOL = /"S"\s*:\s*"([^"\\]+)"/g;

export class AlpacaParser extends VenueParser {
  constructor(options: AlpacaParserOptions = {}) {
    super(options.venue ?? 'alpaca', options.scales);
  }

  reset(): void {}

  /**
   * The symbols of a frame that could not be parsed: every message's `"S"` (a frame may carry
   * messages of several symbols). A tolerant look at the text, never a parse.
   */
  symbolsOf(text: string): string[] {
    const out = new Set<string>();
    for (const m of text.matchAll(SYMBOL)) out.add(m[1]!);
    return [...out];
  }

  private scaleOf(symbol: string): PairScales {
    let sc = this.scales.get(symbol);
    if (sc === undefined) this.scales.set(symbol, (sc = DEFAULT_SCALES));
    return sc;
  }

  parse(text: string, tsRecv: bigint, out: (e: MarketEvent) => void): void {
    const msgs = this.json(text.replace(NUMBERS, '"$1":"$2"'));
    if (!Array.isArray(msgs)) throw this.bad('expected an array of messages', text);
    for (const m of msgs as Record<string, unknown>[]) {
      if (typeof m !== 'object' || m === null) throw this.bad('expected message objects', text);
      const t = m['T'];
      if (t === 't') this.trade(m, tsRecv, text, out);
      else if (t === 'q') this.quote(m, tsRecv, text, out);
      else if (t === 'b' || t === 'u' || t === 'd') this.bar(m, BAR_SECONDS[t]!, tsRecv, text, out);
      // success, subscription, error (read by the transport): no events
    }
  }

  private symbol(m: Record<string, unknown>, text: string): string {
    const s = m['S'];
    if (typeof s !== 'string') throw this.bad('expected a symbol "S"', text);
    return s;
  }

  private time(m: Record<string, unknown>, text: string): bigint {
    const t = m['t'];
    if (typeof t !== 'string') throw this.bad('expected a time "t"', text);
    try {
      return isoToNs(t);
    } catch {
      throw this.bad('expected "t" as an RFC 3339 time', text);
    }
  }

  private trade(m: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const symbol = this.symbol(m, text);
    const sc = this.scaleOf(symbol);
    out(
      createTrade({
        venue: this.venue,
        symbol,
        tsEvent: this.time(m, text),
        tsRecv,
        price: this.dec(m['p'], sc.priceScale, 'a price "p"', text),
        size: this.dec(m['s'], sc.sizeScale, 'a size "s"', text),
        ...sc,
        side: 'none',
        tradeId: typeof m['i'] === 'string' ? m['i'] : null,
      }),
    );
  }

  private quote(m: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const symbol = this.symbol(m, text);
    const sc = this.scaleOf(symbol);
    out(
      createQuote({
        venue: this.venue,
        symbol,
        tsEvent: this.time(m, text),
        tsRecv,
        bidPrice: this.dec(m['bp'], sc.priceScale, 'a bid price "bp"', text),
        bidSize: this.dec(m['bs'], sc.sizeScale, 'a bid size "bs"', text),
        askPrice: this.dec(m['ap'], sc.priceScale, 'an ask price "ap"', text),
        askSize: this.dec(m['as'], sc.sizeScale, 'an ask size "as"', text),
        ...sc,
      }),
    );
  }

  private bar(m: Record<string, unknown>, seconds: number, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const symbol = this.symbol(m, text);
    const sc = this.scaleOf(symbol);
    const start = this.time(m, text);
    const end = start + BigInt(seconds) * 1_000_000_000n;
    const n = m['n'];
    out(
      createBar({
        venue: this.venue,
        symbol,
        tsEvent: end,
        tsRecv,
        interval: seconds,
        start,
        end,
        open: this.dec(m['o'], sc.priceScale, 'an open "o"', text),
        high: this.dec(m['h'], sc.priceScale, 'a high "h"', text),
        low: this.dec(m['l'], sc.priceScale, 'a low "l"', text),
        close: this.dec(m['c'], sc.priceScale, 'a close "c"', text),
        volume: this.dec(m['v'], sc.sizeScale, 'a volume "v"', text),
        trades: typeof n === 'number' ? n : 0,
        ...sc,
      }),
    );
  }
}

/** The first `error` message of an Alpaca frame, as text with its code; or null. */
export function alpacaError(text: string): { symbol: string | null; message: string } | null {
  if (!text.includes('"error"')) return null;
  try {
    const msgs = JSON.parse(text) as { T?: string; code?: number; msg?: string }[];
    const e = Array.isArray(msgs) ? msgs.find((m) => m.T === 'error') : undefined;
    return e === undefined ? null : { symbol: null, message: `${e.msg ?? 'error'} (code ${e.code ?? '?'})` };
  } catch {
    return null;
  }
}
