/**
 * xoshiro128** seeded through splitmix32: 32-bit integer arithmetic only, so the same seed gives
 * the same sequence on every machine and Node version (no Math.random, no transcendental math).
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform integer in [lo, hi], for hi − lo < 2^32. */
  int(lo: number, hi: number): number {
    const range = hi - lo + 1;
    // Multiply-shift while the product is exact (< 2^53); modulo (slightly biased) beyond.
    return range <= 0x200000 ? lo + Math.floor((this.u32() * range) / 4294967296) : lo + (this.u32() % range);
  }

  /** True with probability `percent`/100. */
  chance(percent: number): boolean {
    return this.int(0, 99) < percent;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
