/** Why a venue frame was rejected, with the frame's text (the message shows it shortened). */
export class FrameError extends Error {
  constructor(
    readonly venue: string,
    why: string,
    readonly frame: string,
  ) {
    super(`${venue}: ${why}, found ${frame.length > 200 ? `${frame.slice(0, 200)}…` : frame}`);
    this.name = 'FrameError';
  }
}

/** Price and size scales of one symbol. */
export interface PairScales {
  readonly priceScale: number;
  readonly sizeScale: number;
}

const decimals = (s: string): number => {
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
};

/**
 * The scales of `symbol`. Venues that send decimal strings with the instrument's full decimals
 * (Kraken, Binance) fix them with the first price and size strings of a symbol not known yet.
 */
export function scalesOf(scales: Map<string, PairScales>, symbol: string, price: unknown, size: unknown): PairScales {
  let sc = scales.get(symbol);
  if (sc === undefined && typeof price === 'string' && typeof size === 'string') {
    sc = { priceScale: decimals(price), sizeScale: decimals(size) };
    scales.set(symbol, sc);
  }
  return sc ?? { priceScale: 0, sizeScale: 0 };
}

/**
 * What a venue's `seq` promises, for checks over a capture (`mdcap verify`):
 * - `contiguous`: one counter per symbol across every kind, +1 per message (the demo venue,
 *   LOBSTER rows): a jump is lost data;
 * - `monotonic-per-kind`: per symbol and kind the ids only grow, by any step (Binance: depth
 *   `u`, bookTicker `u`, aggregate trade ids): the feed itself checked continuity where the
 *   venue allows it (depth `U`/`u`) and recorded a gap status for every break.
 * Venues without sequence numbers (Kraken v1) send `seq` null; nothing to check.
 */
export type SequenceRule = 'contiguous' | 'monotonic-per-kind';

const RULES: Readonly<Record<string, SequenceRule>> = { binance: 'monotonic-per-kind' };

export function sequenceRule(venue: string): SequenceRule {
  return RULES[venue] ?? 'contiguous';
}
