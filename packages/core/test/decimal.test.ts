import fc from 'fast-check';
import { formatDecimal, parseDecimal, parseDecimalExact, rescale } from '@mdcap/core';
import { describe, expect, it } from 'vitest';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Canonical decimal text: no sign on zero, no leading zeros, any number of fraction digits (0–18). */
const canonicalDecimal = fc
  .record({
    negative: fc.boolean(),
    int: fc.bigInt({ min: 0n, max: 9_223_372_035n }), // with 9 fraction digits, still inside int64
    frac: fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 0, maxLength: 9 }),
  })
  .map(({ negative, int, frac }) => {
    const body = frac.length > 0 ? `${int}.${frac}` : `${int}`;
    const zero = /^[0.]*$/.test(body);
    return negative && !zero ? `-${body}` : body;
  });

describe('parseDecimal', () => {
  it.each([
    ['150.00', 2, 15000n],
    ['150.5', 2, 15050n],
    ['150', 2, 15000n],
    ['-0.001', 3, -1n],
    ['+7', 0, 7n],
    ['0.10000000', 2, 10n],
    ['1.5e-7', 8, 15n],
    ['1.5E+2', 0, 150n],
    ['12345678901234567890', 0, null],
    ['9223372036854775807', 0, INT64_MAX],
    ['-9223372036854775808', 0, INT64_MIN],
    ['0.000000000000000001', 18, 1n],
    ['00012.50', 2, 1250n],
  ] as const)('%s at scale %i', (text, scale, expected) => {
    if (expected === null) expect(() => parseDecimal(text, scale)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_RANGE' }));
    else expect(parseDecimal(text, scale)).toBe(expected);
  });

  it('keeps 64-bit mantissas beyond 2^53 exact (no float on the way)', () => {
    expect(parseDecimal('90071992.54740993', 8)).toBe(9_007_199_254_740_993n);
    expect(parseDecimal('9007199254740993', 0)).toBe(9_007_199_254_740_993n);
  });

  it.each(['', '.', '.5', '5.', '1,5', ' 1', '1 ', 'NaN', 'Infinity', '0x10', '1e', '1e+', '--1', '1.2.3', '١٢'])(
    'rejects %j with MDCAP_ERR_DECIMAL_SYNTAX and says what it expected',
    (text) => {
      expect(() => parseDecimal(text, 2)).toThrow(
        expect.objectContaining({
          code: 'MDCAP_ERR_DECIMAL_SYNTAX',
          message: expect.stringMatching(/^expected a decimal number such as 123\.45/),
        }),
      );
    },
  );

  it('never rounds: a non-zero digit beyond the scale is MDCAP_ERR_DECIMAL_PRECISION', () => {
    expect(() => parseDecimal('150.505', 2)).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_DECIMAL_PRECISION',
        message: '"150.505" has 3 decimal places; the instrument scale allows 2, and mdcap never rounds',
      }),
    );
    expect(() => parseDecimal('1e-19', 18)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_PRECISION' }));
  });

  it('rejects bad scales and non-string input', () => {
    for (const scale of [-1, 19, 2.5, Number.NaN]) {
      expect(() => parseDecimal('1', scale)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_SCALE' }));
    }
    expect(() => parseDecimal(Number.NaN, 2)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_SYNTAX' }));
    expect(() => parseDecimal(null as unknown as string, 2)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_SYNTAX' }));
  });

  it('reads JSON numbers through their shortest round-trip text', () => {
    expect(parseDecimal(126.55, 2)).toBe(12655n);
    expect(parseDecimal(0.1, 8)).toBe(10_000_000n);
    expect(parseDecimal(1e-7, 8)).toBe(10n);
    expect(() => parseDecimal(0.123, 2)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_PRECISION' }));
  });
});

describe('formatDecimal', () => {
  it.each([
    [15000n, 2, '150.00', '150'],
    [15050n, 2, '150.50', '150.5'],
    [-1n, 3, '-0.001', '-0.001'],
    [0n, 4, '0.0000', '0'],
    [7n, 0, '7', '7'],
    [INT64_MIN, 18, '-9.223372036854775808', '-9.223372036854775808'],
  ] as const)('%s at scale %i', (m, scale, full, trimmed) => {
    expect(formatDecimal(m, scale)).toBe(full);
    expect(formatDecimal(m, scale, { trim: true })).toBe(trimmed);
  });
});

describe('properties', () => {
  it('parseDecimalExact then formatDecimal is the identity on canonical decimal text', () => {
    fc.assert(
      fc.property(canonicalDecimal, (text) => {
        const { mantissa, scale } = parseDecimalExact(text);
        expect(formatDecimal(mantissa, scale)).toBe(text);
      }),
      { numRuns: 5000 },
    );
  });

  it('parse at a wider scale then format trimmed gives the text without trailing zeros', () => {
    fc.assert(
      fc.property(canonicalDecimal, fc.integer({ min: 9, max: 18 }), (text, scale) => {
        const { mantissa, scale: own } = parseDecimalExact(text);
        const wide = mantissa * 10n ** BigInt(scale - own);
        fc.pre(wide <= INT64_MAX && wide >= INT64_MIN); // beyond int64 is MDCAP_ERR_DECIMAL_RANGE, tested above
        const trimmed = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
        const expected = /^-?0$/.test(trimmed) ? '0' : trimmed;
        expect(formatDecimal(parseDecimal(text, scale), scale, { trim: true })).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('format then parse is the identity on every int64 mantissa and scale', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.integer({ min: 0, max: 18 }), (m, scale) => {
        expect(parseDecimal(formatDecimal(m, scale), scale)).toBe(m);
      }),
      { numRuns: 5000 },
    );
  });

  it('rescale up then down is the identity, and down refuses to drop digits', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        (m, from, up) => {
          const wide = rescale(m, from, from + up);
          expect(rescale(wide, from + up, from)).toBe(m);
          expect(formatDecimal(wide, from + up, { trim: true })).toBe(formatDecimal(m, from, { trim: true }));
        },
      ),
    );
    expect(() => rescale(15n, 1, 0)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_PRECISION' }));
  });
});

describe('trailing zeros', () => {
  it('are fine however many there are', () => {
    expect(parseDecimal(`1.${'0'.repeat(70)}`, 2)).toBe(100n);
    expect(parseDecimal(`-0.5${'0'.repeat(80)}e1`, 0)).toBe(-5n);
    expect(() => parseDecimal(`1.${'0'.repeat(70)}1`, 2)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_PRECISION' }));
  });
});
