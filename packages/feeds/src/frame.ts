import { BookFlags, parseDecimal } from '@mdcap/core';

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
 * What every venue parser shares: its venue name, frame counters, per-symbol scales (given or
 * learned), and the errors that name the venue and the frame.
 */
export abstract class VenueParser {
  readonly venue: string;
  readonly stats: { frames: number; malformed: number } = { frames: 0, malformed: 0 };
  protected readonly scales: Map<string, PairScales>;

  protected constructor(venue: string, scales: ReadonlyMap<string, PairScales> | undefined) {
    this.venue = venue;
    this.scales = new Map(scales ?? []);
  }

  /** The scales of every symbol seen or configured (for the instrument registry and the capture manifest). */
  pairScales(): ReadonlyMap<string, PairScales> {
    return this.scales;
  }

  protected bad(why: string, text: string): FrameError {
    this.stats.malformed++;
    return new FrameError(this.venue, why, text);
  }

  /** A decimal string at `scale`, exact; anything else is a bad frame. */
  protected dec(v: unknown, scale: number, what: string, text: string): bigint {
    if (typeof v !== 'string') throw this.bad(`expected ${what} as a decimal string`, text);
    try {
      return parseDecimal(v, scale);
    } catch {
      throw this.bad(`expected ${what} with at most ${scale} decimals`, text);
    }
  }

  /** The JSON of a frame; a frame that is not JSON is a bad frame. */
  protected json(text: string): unknown {
    this.stats.frames++;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.bad('not JSON', text);
    }
  }
}

/** Flags of level `i` of an `n`-level snapshot: Snapshot, plus SnapshotBegin on the first and SnapshotEnd | Last on the last. */
export function snapshotFlags(i: number, n: number): number {
  let flags: number = BookFlags.Snapshot;
  if (i === 0) flags |= BookFlags.SnapshotBegin;
  if (i === n - 1) flags |= BookFlags.SnapshotEnd | BookFlags.Last;
  return flags;
}
