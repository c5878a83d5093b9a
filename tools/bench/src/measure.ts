/** One measured case: what ran, how many items, how long. A bench prints one JSON line per case. */
export interface Case {
  readonly bench: string;
  readonly case: string;
  readonly items: number;
  readonly seconds: number;
  readonly note?: string;
}

export function report(c: Case): void {
  process.stdout.write(`${JSON.stringify({ ...c, perSecond: Math.round(c.items / c.seconds) })}\n`);
}

/** Seconds since `t0` (from performance.now()). */
export function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** A number from argv or a default. */
export function arg(i: number, fallback: number): number {
  const v = process.argv[2 + i];
  return v === undefined ? fallback : Number(v);
}

/** A seeded xorshift32 generator: `rnd(n)` is an integer in [0, n). Benchmarks use the same data on every run. */
export function seededRandom(seed: number): (n: number) => number {
  let x = seed | 0 || 1;
  return (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/**
 * The V8 settings the mdcap CLI starts with (packages/cli/src/main.ts), for a bench's child
 * process that stands for a CLI command: parquet-wasm compiled on the thread that runs it.
 */
export const CLI_NODE_FLAGS: readonly string[] = ['--wasm-num-compilation-tasks=0'];
