import { checkScale } from './decimal.js';
import { ConfigError, InstrumentError, describeValue } from './errors.js';

export type InstrumentKind = 'spot' | 'equity' | 'future' | 'option' | 'perpetual' | 'index' | 'other';

/**
 * What mdcap knows about one instrument of one venue. `priceScale` and `sizeScale` are the
 * decimal scales of every price and size mantissa of the instrument (see `decimal.ts`).
 * Everything else is optional and comes from the venue's definition where it has one.
 */
export interface Instrument {
  readonly venue: string;
  readonly symbol: string;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly kind?: InstrumentKind;
  /** Minimum price increment as a mantissa at `priceScale`. */
  readonly tickSize?: bigint;
  /** Minimum size increment as a mantissa at `sizeScale`. */
  readonly lotSize?: bigint;
  readonly minSize?: bigint;
  readonly baseCurrency?: string;
  readonly quoteCurrency?: string;
  /** Contract multiplier as decimal text (`"50"` for ES). */
  readonly multiplier?: string;
  /** Expiry, ns since the epoch, for dated contracts. */
  readonly expiry?: bigint;
  /** The venue's or vendor's numeric instrument id (Databento `instrument_id`, for example). */
  readonly instrumentId?: bigint;
  /** Anything else the venue's definition gives, as text. */
  readonly extra?: Readonly<Record<string, string>>;
}

const BIGINT_FIELDS = ['tickSize', 'lotSize', 'minSize', 'expiry', 'instrumentId'] as const;

function checkInstrument(def: Instrument): void {
  if (typeof def !== 'object' || def === null) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `expected an instrument definition object, found ${describeValue(def)}`);
  }
  if (typeof def.venue !== 'string' || def.venue === '') {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `instrument.venue: expected a non-empty string, found ${describeValue(def.venue)}`);
  }
  if (typeof def.symbol !== 'string' || def.symbol === '') {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `instrument.symbol: expected a non-empty string, found ${describeValue(def.symbol)}`);
  }
  checkScale(def.priceScale, `instrument ${def.venue}:${def.symbol} priceScale`);
  checkScale(def.sizeScale, `instrument ${def.venue}:${def.symbol} sizeScale`);
  for (const f of BIGINT_FIELDS) {
    const v = def[f];
    if (v !== undefined && typeof v !== 'bigint') {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `instrument ${def.venue}:${def.symbol} ${f}: expected a bigint, found ${describeValue(v)}`,
      );
    }
  }
}

function sameDefinition(a: Instrument, b: Instrument): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const x = (a as unknown as Record<string, unknown>)[k];
    const y = (b as unknown as Record<string, unknown>)[k];
    if (k === 'extra') {
      if (JSON.stringify(x ?? {}) !== JSON.stringify(y ?? {})) return false;
    } else if (x !== y) {
      return false;
    }
  }
  return true;
}

/** Instruments by venue and symbol. Iteration follows insertion order (deterministic). */
export class InstrumentRegistry {
  private readonly byVenue = new Map<string, Map<string, Instrument>>();

  constructor(instruments: Iterable<Instrument> = []) {
    for (const i of instruments) this.add(i);
  }

  /**
   * Registers an instrument. Registering an identical definition again is a no-op.
   * @throws {InstrumentError} `MDCAP_ERR_INSTRUMENT_CONFLICT` if a different one is registered.
   */
  add(def: Instrument): Instrument {
    checkInstrument(def);
    let symbols = this.byVenue.get(def.venue);
    if (symbols === undefined) {
      symbols = new Map();
      this.byVenue.set(def.venue, symbols);
    }
    const existing = symbols.get(def.symbol);
    if (existing !== undefined) {
      if (sameDefinition(existing, def)) return existing;
      throw new InstrumentError(
        'MDCAP_ERR_INSTRUMENT_CONFLICT',
        `instrument ${def.venue}:${def.symbol} is already registered with priceScale ${existing.priceScale}, sizeScale ${existing.sizeScale}; ` +
          `found a different definition with priceScale ${def.priceScale}, sizeScale ${def.sizeScale}`,
        { details: { venue: def.venue, symbol: def.symbol } },
      );
    }
    const frozen = Object.freeze({ ...def });
    symbols.set(def.symbol, frozen);
    return frozen;
  }

  /** The instrument, or undefined. */
  find(venue: string, symbol: string): Instrument | undefined {
    return this.byVenue.get(venue)?.get(symbol);
  }

  /**
   * The instrument.
   * @throws {InstrumentError} `MDCAP_ERR_UNKNOWN_INSTRUMENT` naming the known symbols of the venue.
   */
  get(venue: string, symbol: string): Instrument {
    const found = this.find(venue, symbol);
    if (found !== undefined) return found;
    const known = [...(this.byVenue.get(venue)?.keys() ?? [])];
    const list =
      known.length === 0
        ? `no instruments are registered for venue ${describeValue(venue)}`
        : `known: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}`;
    throw new InstrumentError(
      'MDCAP_ERR_UNKNOWN_INSTRUMENT',
      `no instrument ${describeValue(symbol)} on venue ${describeValue(venue)}; ${list}`,
      {
        details: { venue, symbol },
      },
    );
  }

  has(venue: string, symbol: string): boolean {
    return this.find(venue, symbol) !== undefined;
  }

  /** All instruments, or those of one venue, in registration order. */
  list(venue?: string): Instrument[] {
    if (venue !== undefined) return [...(this.byVenue.get(venue)?.values() ?? [])];
    const out: Instrument[] = [];
    for (const m of this.byVenue.values()) out.push(...m.values());
    return out;
  }

  get size(): number {
    let n = 0;
    for (const m of this.byVenue.values()) n += m.size;
    return n;
  }
}
