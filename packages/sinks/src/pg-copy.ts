/**
 * PostgreSQL's binary COPY format (`COPY … FROM STDIN (FORMAT binary)`), written into one
 * growing buffer: a header, then per row a field count and each field as a 32-bit length (-1
 * for NULL) and its bytes in the type's binary send format, then a trailer. Values cross
 * exactly: `numeric` from an integer mantissa and a scale, `bigint` from a bigint.
 */

const POW10: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;

export class CopyBuffer {
  private buf: Buffer;
  private pos = 0;

  constructor(capacity: number = 1 << 20) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.reset();
  }

  /** Starts a new COPY stream (the header: signature, flags 0, no extension). */
  reset(): void {
    this.pos = 0;
    this.ensure(19);
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11);
    this.buf.writeInt32BE(0, 15);
    this.pos = 19;
  }

  /** Bytes waiting to be taken. */
  get size(): number {
    return this.pos;
  }

  /** The bytes so far, copied out, and the buffer emptied (the stream goes on: no header, no trailer). */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }

  /** The stream so far with its trailer (a view of the buffer, valid until the next write). */
  finish(): Buffer {
    this.ensure(2);
    this.buf.writeInt16BE(-1, this.pos);
    return this.buf.subarray(0, this.pos + 2);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  row(fields: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(fields, this.pos);
    this.pos += 2;
  }

  null(): void {
    this.ensure(4);
    this.buf.writeInt32BE(-1, this.pos);
    this.pos += 4;
  }

  text(s: string | null): void {
    if (s === null) return this.null();
    const max = s.length * 3;
    this.ensure(4 + max);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
  }

  int8(v: bigint | null): void {
    if (v === null) return this.null();
    this.ensure(12);
    this.buf.writeInt32BE(8, this.pos);
    this.buf.writeBigInt64BE(v, this.pos + 4);
    this.pos += 12;
  }

  int4(v: number): void {
    this.ensure(8);
    this.buf.writeInt32BE(4, this.pos);
    this.buf.writeInt32BE(v, this.pos + 4);
    this.pos += 8;
  }

  int2(v: number): void {
    this.ensure(6);
    this.buf.writeInt32BE(2, this.pos);
    this.buf.writeInt16BE(v, this.pos + 4);
    this.pos += 6;
  }

  bool(v: boolean | null): void {
    if (v === null) return this.null();
    this.ensure(5);
    this.buf.writeInt32BE(1, this.pos);
    this.buf[this.pos + 4] = v ? 1 : 0;
    this.pos += 5;
  }

  /**
   * `numeric` equal to `mantissa × 10^-scale`, with display scale `scale` (so `1.50` stays
   * `1.50`): sign, weight and base-10000 digits grouped from the decimal point.
   */
  numeric(mantissa: bigint | null, scale: number = 0): void {
    if (mantissa === null) return this.null();
    if (scale <= 15 && mantissa <= SAFE && mantissa >= -SAFE) return this.smallNumeric(mantissa, scale);
    const neg = mantissa < 0n;
    let digits = (neg ? -mantissa : mantissa).toString();
    if (digits.length <= scale) digits = digits.padStart(scale + 1, '0');
    let int = digits.slice(0, digits.length - scale);
    let frac = digits.slice(digits.length - scale);
    int = int.padStart(Math.ceil(int.length / 4) * 4, '0');
    frac = frac.padEnd(Math.ceil(frac.length / 4) * 4, '0');
    const groups: number[] = [];
    for (let i = 0; i < int.length; i += 4) groups.push(Number(int.slice(i, i + 4)));
    const intGroups = groups.length;
    for (let i = 0; i < frac.length; i += 4) groups.push(Number(frac.slice(i, i + 4)));
    this.putNumeric(groups, groups.length, intGroups, neg, scale);
  }

  /** Base-10000 groups, integer part then fraction (reused). */
  private readonly groups = new Int32Array(16);

  /** `numeric` for a mantissa within ±2^53 and a scale up to 15: the same bytes, in doubles, without strings. */
  private smallNumeric(mantissa: bigint, scale: number): void {
    const neg = mantissa < 0n;
    const v = Number(neg ? -mantissa : mantissa);
    const p10 = POW10[scale]!;
    let int = Math.floor(v / p10);
    let frac = v - int * p10;
    if (frac < 0) {
      int--;
      frac += p10;
    } else if (frac >= p10) {
      int++;
      frac -= p10;
    }
    const g = this.groups;
    // Integer groups, least significant first, then reversed into place.
    let nInt = 0;
    while (int > 0) {
      g[nInt++] = int % 10_000;
      int = Math.floor(int / 10_000);
    }
    for (let i = 0, j = nInt - 1; i < j; i++, j--) {
      const t = g[i]!;
      g[i] = g[j]!;
      g[j] = t;
    }
    const pad = (4 - (scale % 4)) % 4;
    const nFrac = (scale + pad) / 4;
    let f = frac * POW10[pad]!;
    for (let i = nInt + nFrac - 1; i >= nInt; i--) {
      g[i] = f % 10_000;
      f = Math.floor(f / 10_000);
    }
    this.putNumeric(g, nInt + nFrac, nInt, neg, scale);
  }

  /**
   * Writes a `numeric` from its base-10000 groups (`nInt` of them before the decimal point):
   * leading and trailing zero groups dropped, the weight of the first one kept, display scale `scale`.
   */
  private putNumeric(g: ArrayLike<number>, total: number, nInt: number, neg: boolean, scale: number): void {
    let first = 0;
    while (first < total && g[first] === 0) first++;
    let last = total;
    while (last > first && g[last - 1] === 0) last--;
    const n = last - first;
    const weight = n === 0 ? 0 : nInt - 1 - first;
    this.ensure(12 + 2 * n);
    const b = this.buf;
    let p = this.pos;
    b.writeInt32BE(8 + 2 * n, p);
    b.writeInt16BE(n, p + 4);
    b.writeInt16BE(weight, p + 6);
    b.writeUInt16BE(neg && n > 0 ? NUMERIC_NEG : NUMERIC_POS, p + 8);
    b.writeInt16BE(scale, p + 10);
    p += 12;
    for (let i = first; i < last; i++, p += 2) b.writeInt16BE(g[i]!, p);
    this.pos = p;
  }
}
