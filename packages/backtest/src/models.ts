import { ConfigError, describeValue, parseDecimalExact, parseDuration, rescale } from '@mdcap/core';
import { Random } from '@mdcap/sim';

// ---- latency ---------------------------------------------------------------------------------

/**
 * A latency: a constant (ns as a bigint, or a duration such as `"250us"`), or sampled with a
 * seed from recorded latencies (`samples`: ns; `latencySamples` of `@mdcap/pipeline` reads a
 * capture's own `tsRecv − tsEvent`).
 */
export type LatencySpec = bigint | string | { readonly constant: bigint } | { readonly samples: readonly bigint[]; readonly seed?: number };

export interface LatencyModel {
  /** The next latency, ns. Called once per message in submit order: deterministic. */
  next(): bigint;
  /** The least latency it can give. */
  readonly min: bigint;
  readonly describe: string;
}

export function latencyModel(spec: LatencySpec | undefined, what: string, seed: number): LatencyModel {
  if (spec === undefined) return constant(0n);
  if (typeof spec === 'bigint') return constant(checkNs(spec, what));
  if (typeof spec === 'string') {
    const ns = /^\d+$/.test(spec.trim()) ? BigInt(spec.trim()) : parseDuration(spec);
    return constant(ns);
  }
  if (typeof spec === 'object' && spec !== null && 'constant' in spec) return constant(checkNs(spec.constant, what));
  if (typeof spec === 'object' && spec !== null && 'samples' in spec && Array.isArray(spec.samples) && spec.samples.length > 0) {
    const samples = spec.samples.map((s) => checkNs(s, what));
    const rng = new Random(spec.seed ?? seed);
    const min = samples.reduce((a, b) => (b < a ? b : a));
    const max = samples.reduce((a, b) => (b > a ? b : a));
    return {
      next: () => samples[samples.length === 1 ? 0 : rng.int(0, samples.length - 1)]!,
      min,
      describe: `sampled from ${samples.length} recorded latencies (${min}..${max} ns, seed ${spec.seed ?? seed})`,
    };
  }
  throw new ConfigError(
    'MDCAP_ERR_INVALID_OPTION',
    `latency.${what}: expected ns as a bigint, a duration such as "250us", { constant } or { samples: [ns, …] }, found ${describeValue(spec)}`,
  );
}

function constant(ns: bigint): LatencyModel {
  return { next: () => ns, min: ns, describe: `${ns} ns` };
}

function checkNs(ns: unknown, what: string): bigint {
  if (typeof ns !== 'bigint' || ns < 0n) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `latency.${what}: expected a bigint of 0 ns or more, found ${describeValue(ns)}`);
  }
  return ns;
}

// ---- queue models ----------------------------------------------------------------------------

/**
 * How an L2 book's decreases at a resting order's price move it up its queue (trades always do;
 * L3 books need no model: the orders ahead are known by id).
 * - `conservative`: only trades move it; a cancel moves it only when the level shrinks below
 *   the size ahead (the queue ahead cannot be longer than the level).
 * - `prob`: a cancel of `d` is taken from ahead of the order in the share
 *   `f(ahead) / (f(ahead) + f(behind))`, `f(x) = x^power` (power 1: in proportion; higher powers
 *   put cancels further back), rounded down to the size unit: exact and deterministic.
 */
export type QueueModelSpec =
  'conservative' | 'prob' | { readonly kind: 'prob'; readonly power?: number } | { readonly kind: 'conservative' };

export interface QueueModel {
  readonly name: string;
  /** The part of a cancelled size `d` that was ahead, given the size ahead and behind before it. */
  cancelAhead(d: bigint, ahead: bigint, behind: bigint): bigint;
}

export function queueModel(spec: QueueModelSpec | undefined): QueueModel {
  const kind = typeof spec === 'string' ? spec : (spec?.kind ?? 'conservative');
  if (kind === 'conservative') return { name: 'conservative', cancelAhead: () => 0n };
  if (kind === 'prob') {
    const power = typeof spec === 'object' && spec.kind === 'prob' ? (spec.power ?? 2) : 2;
    if (!Number.isInteger(power) || power < 1 || power > 8) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `queue.power: expected an integer from 1 to 8, found ${describeValue(power)}`);
    }
    const p = BigInt(power);
    return {
      name: `prob(power ${power})`,
      cancelAhead: (d, ahead, behind) => {
        if (ahead <= 0n) return 0n;
        if (behind <= 0n) return d < ahead ? d : ahead;
        const fa = ahead ** p;
        const take = (d * fa) / (fa + behind ** p);
        return take < ahead ? take : ahead;
      },
    };
  }
  throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `queue: expected conservative or prob, found ${describeValue(spec)}`);
}

// ---- fees ------------------------------------------------------------------------------------

/** Fee rates as decimal text, a fraction of the notional (`"0.0002"` = 2 bp); negative is a rebate. */
export interface FeeRates {
  readonly maker?: string;
  readonly taker?: string;
}

/** Rates for every symbol, with overrides per venue and per symbol (`"VENUE:SYMBOL"` or `"SYMBOL"`). */
export interface FeeSpec extends FeeRates {
  readonly venues?: Readonly<Record<string, FeeRates>>;
  readonly symbols?: Readonly<Record<string, FeeRates>>;
}

/** A symbol's rates as mantissas at one scale. */
export interface FeeSchedule {
  readonly maker: bigint;
  readonly taker: bigint;
  readonly scale: number;
}

export function feeSchedule(spec: FeeSpec | undefined, venue: string, symbol: string): FeeSchedule {
  const pick = (k: keyof FeeRates): string =>
    spec?.symbols?.[`${venue}:${symbol}`]?.[k] ?? spec?.symbols?.[symbol]?.[k] ?? spec?.venues?.[venue]?.[k] ?? spec?.[k] ?? '0';
  const parse = (k: keyof FeeRates): { mantissa: bigint; scale: number } => {
    const text = pick(k);
    try {
      return parseDecimalExact(text);
    } catch {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `fees.${k} for ${venue}:${symbol}: expected a decimal rate such as "0.0002", found ${describeValue(text)}`,
      );
    }
  };
  const m = parse('maker');
  const t = parse('taker');
  const scale = Math.max(m.scale, t.scale);
  return { maker: rescale(m.mantissa, m.scale, scale), taker: rescale(t.mantissa, t.scale, scale), scale };
}
