import { MdcapError } from '@mdcap/core';
import type { SbeDecimal } from '@mdcap/mdp3';

/**
 * CME prices on the wire are "price units" (PRICE9: a mantissa at 1e-9, or PRICE: at 1e-7);
 * the instrument's DisplayFactor turns them into the price a trader reads (ES: 243150 × 0.01 =
 * 2431.50). mdcap keeps prices as mantissas at the instrument's own scale, the decimals of its
 * tick (MinPriceIncrement × DisplayFactor: ES 0.25 → 2), so a conversion is exact or refused.
 */
export interface PriceRule {
  /** Fraction digits of the instrument's prices. */
  readonly scale: number;
  /** The display factor as a mantissa at 1e-9. */
  readonly displayFactor: bigint;
  /** The tick as a mantissa at `scale`. */
  readonly tick: bigint;
}

const TEN = 10n;
/** Powers of ten a price conversion needs, made once (a conversion runs per book entry). */
const POW10: readonly bigint[] = Array.from({ length: 48 }, (_, i) => TEN ** BigInt(i));

function pow10(n: number): bigint {
  return POW10[n] ?? TEN ** BigInt(n);
}

/** `d` as a mantissa at 1e-9 (exact: a finer decimal is refused). */
function at9(d: SbeDecimal, what: string): bigint {
  if (d.exponent === -9) return d.mantissa;
  if (d.exponent > -9) return d.mantissa * pow10(d.exponent + 9);
  const div = pow10(-9 - d.exponent);
  if (d.mantissa % div !== 0n) throw new MdcapError('MDCAP_ERR_SCALE', `${what}: expected at most 9 decimals, found ${d.toString()}`);
  return d.mantissa / div;
}

/** The price rule of an instrument from its definition's MinPriceIncrement and DisplayFactor. */
export function priceRule(minPriceIncrement: SbeDecimal, displayFactor: SbeDecimal, symbol: string): PriceRule {
  const df = at9(displayFactor, `${symbol} DisplayFactor`);
  if (df <= 0n)
    throw new MdcapError('MDCAP_ERR_SCALE', `${symbol} DisplayFactor: expected a positive factor, found ${String(displayFactor)}`);
  // The tick at 1e-18, its trailing zeros stripped: what remains is the scale.
  let tick18 = at9(minPriceIncrement, `${symbol} MinPriceIncrement`) * df;
  if (tick18 <= 0n)
    throw new MdcapError('MDCAP_ERR_SCALE', `${symbol} MinPriceIncrement: expected a positive tick, found ${String(minPriceIncrement)}`);
  let scale = 18;
  while (scale > 0 && tick18 % TEN === 0n) {
    tick18 /= TEN;
    scale--;
  }
  return { scale, displayFactor: df, tick: tick18 };
}

/**
 * A wire price in the instrument's scale, or null when it does not fall on the scale (a price
 * finer than the tick's decimals: never rounded; the caller reports it).
 */
export function toPrice(p: SbeDecimal, rule: PriceRule): bigint | null {
  return toPriceOf(p.mantissa, p.exponent, rule);
}

/** {@link toPrice} of a mantissa and exponent (the hot path reads them without a decimal object). */
export function toPriceOf(mantissa: bigint, exponent: number, rule: PriceRule): bigint | null {
  // m × df at 10^(exponent − 9), to 10^−scale.
  const raw = mantissa * rule.displayFactor;
  const shift = 9 - exponent - rule.scale; // digits to drop
  if (shift <= 0) return raw * pow10(-shift);
  const div = pow10(shift);
  return raw % div === 0n ? raw / div : null;
}

/** A price of the instrument's scale back in wire units at `exponent` (the emulator's direction), or null when not exact. */
export function fromPrice(price: bigint, rule: PriceRule, exponent = -9): bigint | null {
  // price × 10^−scale / (df × 10^−9) = mantissa × 10^exponent
  const num = price * pow10(9 - exponent);
  const den = rule.displayFactor * pow10(rule.scale);
  return num % den === 0n ? num / den : null;
}
