import { createTrade, VirtualClock } from '@mdcap/core';
import type { AggressorSide, Bar, Trade, TradeBatch } from '@mdcap/core';
import { BarAggregator } from '@mdcap/engine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const SEC = 1_000_000_000n;
const T0 = 1_704_205_800_000_000_000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Trades as the columns a replay hands the engine. */
function columns(trades: readonly Trade[]): TradeBatch {
  const symbols = [...new Set(trades.map((t) => t.symbol))];
  const sides: AggressorSide[] = ['buy', 'sell', 'none'];
  return {
    start: 0,
    end: trades.length,
    tsRecv: BigInt64Array.from(trades, (t) => t.tsRecv),
    tsEvent: BigInt64Array.from(trades, (t) => t.tsEvent),
    price: BigInt64Array.from(trades, (t) => t.price),
    size: BigInt64Array.from(trades, (t) => t.size),
    priceScale: Uint8Array.from(trades, (t) => t.priceScale),
    sizeScale: Uint8Array.from(trades, (t) => t.sizeScale),
    venueCodes: new Int32Array(trades.length),
    venues: ['X'],
    symbolCodes: Int32Array.from(trades, (t) => symbols.indexOf(t.symbol)),
    symbols,
    sideCodes: Int32Array.from(trades, (t) => sides.indexOf(t.side)),
    sides,
    trade: (i) => trades[i]!,
    seqAt: (i) => trades[i]!.seq,
    tradeIdAt: (i) => trades[i]!.tradeId,
  };
}

interface Outcome {
  bars: Bar[];
  /** Per trade: the number of intervals it was late for, or the error code it was refused with. */
  results: (number | string)[];
}

/** Runs trades through a BarAggregator as the engine does (clock first), by event or by row. */
function aggregate(
  trades: readonly Trade[],
  intervals: readonly number[],
  byRow: boolean,
  timestamp: 'tsEvent' | 'tsRecv' = 'tsEvent',
): Outcome {
  const clock = new VirtualClock(T0 - SEC);
  const bars: Bar[] = [];
  const agg = new BarAggregator(clock, { timestamp, graceNs: 250_000_000n, emptyBars: 'skip' }, (b) => bars.push(b));
  for (const s of intervals) agg.addInterval(s);
  const batch = columns(trades);
  const rows = agg.rowsOf(batch);
  const results: (number | string)[] = [];
  trades.forEach((t, i) => {
    clock.runDue(t.tsRecv);
    const series = agg.series(t.venue, t.symbol);
    try {
      results.push(byRow ? agg.addRow(series, rows, i) : agg.addTrade(series, t));
    } catch (error) {
      results.push((error as { code: string }).code);
    }
  });
  agg.flush(trades.at(-1)?.tsRecv ?? T0);
  return { bars, results };
}

/** The bars a plain bigint model gives (no late trade, no overflow, one scale). */
function model(trades: readonly Trade[], seconds: number): Map<string, string> {
  const out = new Map<string, { o: bigint; h: bigint; l: bigint; c: bigint; v: bigint; n: number }>();
  const ns = BigInt(seconds) * SEC;
  for (const t of trades) {
    const start = t.tsEvent - (((t.tsEvent % ns) + ns) % ns);
    const key = `${t.symbol} ${seconds} ${start}`;
    const b = out.get(key);
    if (b === undefined) out.set(key, { o: t.price, h: t.price, l: t.price, c: t.price, v: t.size, n: 1 });
    else {
      if (t.price > b.h) b.h = t.price;
      if (t.price < b.l) b.l = t.price;
      b.c = t.price;
      b.v += t.size;
      b.n++;
    }
  }
  return new Map([...out].map(([k, b]) => [k, `${b.o} ${b.h} ${b.l} ${b.c} ${b.v} ${b.n}`]));
}

const key = (b: Bar) => `${b.symbol} ${b.interval} ${b.start}`;
const ohlcv = (b: Bar) => `${b.open} ${b.high} ${b.low} ${b.close} ${b.volume} ${b.trades}`;

/** Prices across the whole signed 64-bit range, with many near word boundaries (where halves carry). */
const price = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.bigInt({ min: -5n, max: 5n }),
  fc.bigInt({ min: 2n ** 32n - 3n, max: 2n ** 32n + 3n }),
  fc.bigInt({ min: -(2n ** 32n) - 3n, max: -(2n ** 32n) + 3n }),
  fc.bigInt({ min: 1n, max: 10_000_000n }),
);

function trades(sizes: fc.Arbitrary<bigint>, scales: fc.Arbitrary<number>): fc.Arbitrary<Trade[]> {
  return fc
    .array(
      fc.record({
        symbol: fc.constantFrom('A', 'B', 'C'),
        step: fc.bigInt({ min: 0n, max: 40n * SEC }),
        latency: fc.bigInt({ min: 0n, max: 2_000_000n }),
        price,
        size: sizes,
        scale: scales,
      }),
      { minLength: 1, maxLength: 80 },
    )
    .map((rows) => {
      let ts = T0;
      return rows.map((r) => {
        ts += r.step;
        return createTrade({
          venue: 'X',
          symbol: r.symbol,
          tsEvent: ts,
          tsRecv: ts + r.latency,
          price: r.price,
          size: r.size,
          priceScale: r.scale,
          sizeScale: 0,
          side: 'buy',
        });
      });
    });
}

describe('bars from trade columns (addRow) and from trades (addTrade)', () => {
  it('equal each other and a plain bigint model, over the whole 64-bit price range', () => {
    fc.assert(
      fc.property(
        trades(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.constant(2)),
        fc.constantFrom([60], [1, 60], [5, 60, 3600]),
        (ts, intervals) => {
          const byEvent = aggregate(ts, intervals, false);
          const byRow = aggregate(ts, intervals, true);
          expect(byRow).toEqual(byEvent);
          expect(byEvent.results.every((r) => r === 0)).toBe(true);
          for (const s of intervals) {
            const got = new Map(byEvent.bars.filter((b) => b.interval === s).map((b) => [key(b), ohlcv(b)]));
            expect(got).toEqual(model(ts, s));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuse the same trades the same way: volume past 64 bits, a scale that changes', () => {
    fc.assert(
      fc.property(
        trades(
          fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 62n }), fc.bigInt({ min: INT64_MAX - 4n, max: INT64_MAX })),
          fc.constantFrom(2, 2, 2, 3),
        ),
        fc.constantFrom([60], [1, 60]),
        fc.constantFrom('tsEvent' as const, 'tsRecv' as const),
        (ts, intervals, timestamp) => {
          expect(aggregate(ts, intervals, true, timestamp)).toEqual(aggregate(ts, intervals, false, timestamp));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a volume that would pass 2^63 - 1 is refused, and the bar keeps what it had', () => {
    const t = (size: bigint, s = 1n) =>
      createTrade({
        venue: 'X',
        symbol: 'A',
        tsEvent: T0 + s * SEC,
        tsRecv: T0 + s * SEC,
        price: 2n ** 33n + 1n,
        size,
        priceScale: 0,
        sizeScale: 0,
      });
    const ts = [t(INT64_MAX - 10n), t(10n, 2n), t(1n, 3n), t(2n ** 32n, 4n)];
    for (const byRow of [false, true]) {
      const { bars, results } = aggregate(ts, [60], byRow);
      expect(results).toEqual([0, 0, 'MDCAP_ERR_DECIMAL_RANGE', 'MDCAP_ERR_DECIMAL_RANGE']);
      expect(bars.map(ohlcv)).toEqual([`${2n ** 33n + 1n} ${2n ** 33n + 1n} ${2n ** 33n + 1n} ${2n ** 33n + 1n} ${INT64_MAX} 2`]);
    }
  });
});
