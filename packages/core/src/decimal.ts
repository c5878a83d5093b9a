import { ConfigError, DecimalError, describeValue } from './errors.js';

/**
 * Exact decimals. A price or size is a `bigint` mantissa with a scale: the value is
 * `mantissa × 10^-scale`. `150.25` at scale 2 is `15025n`; at scale 4 it is `1502500n`.
 * Nothing here goes through floating point except {@link parseDecimal} of a JS `number`,
 * which first turns the number into its shortest round-trip decimal text (see there).
 */

/** Largest scale mdcap accepts (Databento uses 9, crypto venues up to 8–12). */
export const MAX_SCALE = 18;

const INT64_MAX = 0x7fff_ffff_ffff_ffffn;
const INT64_MIN = -0x8000_0000_0000_0000n;

/** 10^k as numbers, exact for k ≤ 22. */
const POW10_NUMBER: readonly number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** 10^k as bigints, for k ≤ 2 × MAX_SCALE + 20 (exponent handling). */
const POW10_BIGINT: readonly bigint[] = Array.from({ length: 60 }, (_, k) => 10n ** BigInt(k));

/** Throws unless `scale` is an integer in [0, MAX_SCALE]. */
export function checkScale(scale: number, what = 'scale'): void {
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) {
    throw new DecimalError('MDCAP_ERR_SCALE', `${what}: expected an integer from 0 to ${MAX_SCALE}, found ${describeValue(scale)}`, {
      details: { scale },
    });
  }
}

function pow10(k: number): bigint {
  return POW10_BIGINT[k] ?? 10n ** BigInt(k);
}

function syntaxError(text: string, why: string): DecimalError {
  return new DecimalError(
    'MDCAP_ERR_DECIMAL_SYNTAX',
    `expected a decimal number such as 123.45, -0.5 or 1.5e-7, found ${describeValue(text)} (${why})`,
    { details: { text } },
  );
}

function rangeError(text: string, scale: number): DecimalError {
  return new DecimalError(
    'MDCAP_ERR_DECIMAL_RANGE',
    `${describeValue(text)} at scale ${scale} needs a mantissa outside the signed 64-bit range`,
    { details: { text, scale } },
  );
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Parses a venue decimal into a mantissa at `scale`.
 *
 * Accepted text: an optional sign, one or more digits, optionally `.` and one or more digits,
 * optionally an exponent (`e`/`E`, optional sign, digits). So `"150"`, `"-0.001"`, `"1.5e-7"`,
 * `"0.10000000"` are decimals; `""`, `"."`, `".5"`, `"5."`, `"1,5"`, `" 1"`, `"NaN"`, `"0x10"` are not.
 * Trailing zeros beyond the scale are fine (`"0.10000000"` at scale 2 is `10n`); a non-zero digit
 * beyond the scale is an error, never rounded.
 *
 * A JS `number` (a venue that sends JSON numbers) is converted through `String(value)`, its
 * shortest round-trip decimal text; that is exactly the text the venue sent whenever the venue
 * sent at most 15 significant digits.
 *
 * @throws {DecimalError} `MDCAP_ERR_DECIMAL_SYNTAX`, `MDCAP_ERR_DECIMAL_PRECISION`,
 *   `MDCAP_ERR_DECIMAL_RANGE`, `MDCAP_ERR_SCALE`.
 */
export function parseDecimal(value: string | number, scale: number): bigint {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw syntaxError(String(value), 'not a finite number');
    value = String(value);
  } else if (typeof value !== 'string') {
    throw syntaxError(String(value), `a ${typeof value}, not a string`);
  }
  checkScale(scale);
  const text = value;
  const n = text.length;
  let i = 0;
  let negative = false;
  let c = text.charCodeAt(0);
  if (c === 45 /* - */) {
    negative = true;
    i = 1;
  } else if (c === 43 /* + */) {
    i = 1;
  }
  // Accumulate the digits as an exact number while they fit, remember where they are otherwise.
  let digits = 0; // significant digits seen (after leading zeros)
  let acc = 0;
  const intStart = i;
  while (i < n && isDigit((c = text.charCodeAt(i)))) {
    if (digits > 0 || c !== 48) {
      digits++;
      if (digits <= 15) acc = acc * 10 + (c - 48);
    }
    i++;
  }
  const intEnd = i;
  if (intEnd === intStart) throw syntaxError(text, 'no digits before the decimal point');
  let fracStart = i;
  let fracEnd = i;
  if (i < n && text.charCodeAt(i) === 46 /* . */) {
    i++;
    fracStart = i;
    while (i < n && isDigit((c = text.charCodeAt(i)))) {
      if (digits > 0 || c !== 48) {
        digits++;
        if (digits <= 15) acc = acc * 10 + (c - 48);
      }
      i++;
    }
    fracEnd = i;
    if (fracEnd === fracStart) throw syntaxError(text, 'no digits after the decimal point');
  }
  let exponent = 0;
  if (i < n && (text.charCodeAt(i) | 0x20) === 101 /* e or E */) {
    i++;
    let expNegative = false;
    c = text.charCodeAt(i);
    if (c === 45 || c === 43) {
      expNegative = c === 45;
      i++;
    }
    const expStart = i;
    while (i < n && isDigit((c = text.charCodeAt(i)))) {
      if (exponent < 100_000) exponent = exponent * 10 + (c - 48);
      i++;
    }
    if (i === expStart) throw syntaxError(text, 'no digits in the exponent');
    if (expNegative) exponent = -exponent;
  }
  if (i !== n) throw syntaxError(text, `unexpected character ${describeValue(text[i])} at position ${i}`);

  const fracDigits = fracEnd - fracStart;
  // value = D × 10^(exponent - fracDigits); mantissa = D × 10^(scale + exponent - fracDigits)
  const shift = scale + exponent - fracDigits;
  if (digits === 0) return 0n;
  if (digits <= 15) {
    if (shift >= 0) {
      if (shift <= 22) {
        const m = acc * POW10_NUMBER[shift]!;
        if (m <= Number.MAX_SAFE_INTEGER) return BigInt(negative ? -m : m);
      }
    } else if (-shift <= 22) {
      const p = POW10_NUMBER[-shift]!;
      if (acc % p !== 0) throw precisionError(text, scale, fracDigits - exponent);
      return BigInt(negative ? -(acc / p) : acc / p);
    } else {
      throw precisionError(text, scale, fracDigits - exponent);
    }
  }
  return parseSlow(text, intStart, intEnd, fracStart, fracEnd, negative, shift, scale, fracDigits - exponent);
}

function parseSlow(
  text: string,
  intStart: number,
  intEnd: number,
  fracStart: number,
  fracEnd: number,
  negative: boolean,
  shiftIn: number,
  scale: number,
  places: number,
): bigint {
  let shift = shiftIn;
  let digits = text.slice(intStart, intEnd) + text.slice(fracStart, fracEnd);
  if (shift < 0) {
    // Trailing zeros carry no value: drop them first, however many there are.
    let end = digits.length;
    while (shift < 0 && end > 1 && digits.charCodeAt(end - 1) === 48) {
      end--;
      shift++;
    }
    digits = digits.slice(0, end);
  }
  let d = BigInt(digits);
  if (shift >= 0) {
    if (shift > 60) throw rangeError(text, scale);
    d *= pow10(shift);
  } else {
    const p = -shift;
    if (p > 60) throw precisionError(text, scale, places);
    const q = pow10(p);
    if (d % q !== 0n) throw precisionError(text, scale, places);
    d /= q;
  }
  if (negative) d = -d;
  if (d > INT64_MAX || d < INT64_MIN) throw rangeError(text, scale);
  return d;
}

function precisionError(text: string, scale: number, places: number): DecimalError {
  return new DecimalError(
    'MDCAP_ERR_DECIMAL_PRECISION',
    `${describeValue(text)} has ${places} decimal places; the instrument scale allows ${scale}, and mdcap never rounds`,
    { details: { text, scale } },
  );
}

/**
 * Parses a decimal and keeps every digit it has: the scale is the number of fraction digits
 * (after applying any exponent, at least 0). `"150.50"` → `{ mantissa: 15050n, scale: 2 }`.
 */
export function parseDecimalExact(text: string): { mantissa: bigint; scale: number } {
  if (typeof text !== 'string') throw syntaxError(String(text), `a ${typeof text}, not a string`);
  const dot = text.indexOf('.');
  const e = text.search(/[eE]/);
  const end = e === -1 ? text.length : e;
  let places = dot === -1 || dot > end ? 0 : end - dot - 1;
  if (e !== -1) {
    const exp = Number(text.slice(e + 1));
    if (Number.isInteger(exp)) places = Math.max(0, places - exp);
  }
  if (places > MAX_SCALE) throw precisionError(text, MAX_SCALE, places);
  return { mantissa: parseDecimal(text, places), scale: places };
}

/**
 * Formats a mantissa at `scale` as decimal text with exactly `scale` fraction digits
 * (`15050n, 2` → `"150.50"`), or with trailing fraction zeros removed when `trim` is set
 * (`"150.5"`, and `"150"` for `15000n, 2`). Inverse of {@link parseDecimal}.
 */
export function formatDecimal(mantissa: bigint, scale: number, options?: { readonly trim?: boolean }): string {
  if (typeof mantissa !== 'bigint') {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `formatDecimal: expected a bigint mantissa, found ${describeValue(mantissa)}`);
  }
  checkScale(scale);
  const negative = mantissa < 0n;
  let digits = (negative ? -mantissa : mantissa).toString();
  let out: string;
  if (scale === 0) {
    out = digits;
  } else {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    const cut = digits.length - scale;
    let frac = digits.slice(cut);
    if (options?.trim === true) {
      let end = frac.length;
      while (end > 0 && frac.charCodeAt(end - 1) === 48) end--;
      frac = frac.slice(0, end);
    }
    out = frac.length === 0 ? digits.slice(0, cut) : `${digits.slice(0, cut)}.${frac}`;
  }
  return negative ? `-${out}` : out;
}

/**
 * Converts a mantissa between scales exactly. Raising the scale multiplies; lowering it
 * divides and throws `MDCAP_ERR_DECIMAL_PRECISION` if that would drop a non-zero digit.
 */
export function rescale(mantissa: bigint, fromScale: number, toScale: number): bigint {
  checkScale(fromScale, 'fromScale');
  checkScale(toScale, 'toScale');
  if (toScale === fromScale) return mantissa;
  if (toScale > fromScale) {
    const m = mantissa * pow10(toScale - fromScale);
    if (m > INT64_MAX || m < INT64_MIN) throw rangeError(formatDecimal(mantissa, fromScale), toScale);
    return m;
  }
  const q = pow10(fromScale - toScale);
  if (mantissa % q !== 0n) throw precisionError(formatDecimal(mantissa, fromScale), toScale, fromScale);
  return mantissa / q;
}
