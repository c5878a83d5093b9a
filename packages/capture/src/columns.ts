import {
  Bool,
  Dictionary,
  Int32,
  Int64,
  makeData,
  TimestampNanosecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import type { Data, DataType } from 'apache-arrow';

/**
 * Growable, preallocated column builders that turn events into Arrow data without per-row
 * allocation (typed arrays; strings only where the data is text). `data()` wraps the filled
 * part zero-copy; `reset()` starts over, keeping the memory.
 */

const INITIAL = 1024;

function grow<T extends { length: number; set(a: ArrayLike<never>): void }>(arr: T, need: number, make: (n: number) => T): T {
  if (need <= arr.length) return arr;
  let n = arr.length * 2;
  while (n < need) n *= 2;
  const next = make(n);
  next.set(arr);
  return next;
}

/** A validity bitmap, LSB first (Arrow's layout). */
class Validity {
  bits = new Uint8Array(INITIAL >> 3);
  nulls = 0;

  set(i: number, valid: boolean): void {
    if (i >> 3 >= this.bits.length) this.bits = grow(this.bits, (i >> 3) + 1, (n) => new Uint8Array(n));
    if (valid) this.bits[i >> 3]! |= 1 << (i & 7);
    else {
      this.bits[i >> 3]! &= ~(1 << (i & 7));
      this.nulls++;
    }
  }

  bitmap(length: number): Uint8Array | undefined {
    return this.nulls === 0 ? undefined : this.bits.subarray(0, (length + 7) >> 3);
  }

  reset(): void {
    this.bits.fill(0);
    this.nulls = 0;
  }
}

export interface ColumnBuilder {
  readonly length: number;
  data(): Data;
  reset(): void;
}

/** Arrow data over the first `values.length` values, with the validity bitmap if the column is nullable. */
function numericData(type: DataType, values: BigInt64Array | BigUint64Array, validity: Validity | null): Data {
  const nullBitmap = validity?.bitmap(values.length);
  return makeData({
    type,
    data: values,
    length: values.length,
    ...(nullBitmap === undefined ? {} : { nullBitmap, nullCount: validity!.nulls }),
  } as never);
}

/** int64 (or a timestamp in ns), optionally nullable. */
export class I64Column implements ColumnBuilder {
  private values = new BigInt64Array(INITIAL);
  private readonly validity: Validity | null;
  length = 0;

  constructor(
    private readonly type: 'int64' | 'timestamp',
    nullable = false,
  ) {
    this.validity = nullable ? new Validity() : null;
  }

  push(v: bigint): void {
    const i = this.length++;
    if (i >= this.values.length) this.values = grow(this.values, i + 1, (n) => new BigInt64Array(n));
    this.values[i] = v;
    this.validity?.set(i, true);
  }

  pushNull(): void {
    const i = this.length++;
    if (i >= this.values.length) this.values = grow(this.values, i + 1, (n) => new BigInt64Array(n));
    this.values[i] = 0n;
    this.validity!.set(i, false);
  }

  data(): Data {
    const type: DataType = this.type === 'timestamp' ? new TimestampNanosecond() : new Int64();
    return numericData(type, this.values.subarray(0, this.length), this.validity);
  }

  reset(): void {
    this.length = 0;
    this.validity?.reset();
  }
}

/** uint64, optionally nullable (sequences). */
export class U64Column implements ColumnBuilder {
  private values = new BigUint64Array(INITIAL);
  private readonly validity: Validity | null;
  length = 0;

  constructor(nullable = false) {
    this.validity = nullable ? new Validity() : null;
  }

  push(v: bigint | null): void {
    const i = this.length++;
    if (i >= this.values.length) this.values = grow(this.values, i + 1, (n) => new BigUint64Array(n));
    if (v === null) {
      this.values[i] = 0n;
      this.validity!.set(i, false);
    } else {
      this.values[i] = v;
      this.validity?.set(i, true);
    }
  }

  data(): Data {
    return numericData(new Uint64(), this.values.subarray(0, this.length), this.validity);
  }

  reset(): void {
    this.length = 0;
    this.validity?.reset();
  }
}

/** Small unsigned integers (scales, flags, counts). */
export class UIntColumn implements ColumnBuilder {
  private values: Uint8Array | Uint16Array | Uint32Array;
  length = 0;

  constructor(private readonly bits: 8 | 16 | 32) {
    this.values = this.make(INITIAL);
  }

  private make(n: number): Uint8Array | Uint16Array | Uint32Array {
    return this.bits === 8 ? new Uint8Array(n) : this.bits === 16 ? new Uint16Array(n) : new Uint32Array(n);
  }

  push(v: number): void {
    const i = this.length++;
    if (i >= this.values.length) this.values = grow<Uint8Array | Uint16Array | Uint32Array>(this.values, i + 1, (n) => this.make(n));
    this.values[i] = v;
  }

  data(): Data {
    const type = this.bits === 8 ? new Uint8() : this.bits === 16 ? new Uint16() : new Uint32();
    return makeData({ type, data: this.values.subarray(0, this.length), length: this.length } as never);
  }

  reset(): void {
    this.length = 0;
  }
}

/** int32 (bar intervals). */
export class I32Column implements ColumnBuilder {
  private values = new Int32Array(INITIAL);
  length = 0;

  push(v: number): void {
    const i = this.length++;
    if (i >= this.values.length) this.values = grow(this.values, i + 1, (n) => new Int32Array(n));
    this.values[i] = v;
  }

  data(): Data {
    return makeData({ type: new Int32(), data: this.values.subarray(0, this.length), length: this.length });
  }

  reset(): void {
    this.length = 0;
  }
}

/** Nullable booleans (checksum results). */
export class BoolColumn implements ColumnBuilder {
  private values = new Uint8Array(INITIAL >> 3);
  private readonly validity = new Validity();
  length = 0;

  push(v: boolean | null): void {
    const i = this.length++;
    if (i >> 3 >= this.values.length) this.values = grow(this.values, (i >> 3) + 1, (n) => new Uint8Array(n));
    if (v === true) this.values[i >> 3]! |= 1 << (i & 7);
    else this.values[i >> 3]! &= ~(1 << (i & 7));
    this.validity.set(i, v !== null);
  }

  data(): Data {
    const nullBitmap = this.validity.bitmap(this.length);
    return makeData({
      type: new Bool(),
      data: this.values.subarray(0, (this.length + 7) >> 3),
      length: this.length,
      ...(nullBitmap === undefined ? {} : { nullBitmap, nullCount: this.validity.nulls }),
    } as never);
  }

  reset(): void {
    this.length = 0;
    this.values.fill(0);
    this.validity.reset();
  }
}

/**
 * Dictionary-encoded text (venue, symbol, side, kind). The dictionary grows for the life of the
 * builder (one segment), so every flushed chunk carries the whole dictionary seen so far.
 */
export class DictColumn implements ColumnBuilder {
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  private codes = new Int32Array(INITIAL);
  length = 0;

  push(v: string): void {
    let code = this.index.get(v);
    if (code === undefined) {
      code = this.names.length;
      this.names.push(v);
      this.index.set(v, code);
    }
    const i = this.length++;
    if (i >= this.codes.length) this.codes = grow(this.codes, i + 1, (n) => new Int32Array(n));
    this.codes[i] = code;
  }

  /** Distinct values seen so far. */
  get values(): readonly string[] {
    return this.names;
  }

  data(): Data {
    return makeData({
      type: new Dictionary(new Utf8(), new Int32()),
      data: this.codes.subarray(0, this.length),
      length: this.length,
      dictionary: vectorFromArray(this.names, new Utf8()),
    });
  }

  reset(): void {
    this.length = 0;
  }
}

/** Free text, nullable (trade ids, order ids, status details). */
export class Utf8Column implements ColumnBuilder {
  private values: (string | null)[] = [];
  length = 0;

  push(v: string | null): void {
    this.values.push(v);
    this.length++;
  }

  data(): Data {
    return vectorFromArray(this.values, new Utf8()).data[0]!;
  }

  reset(): void {
    this.values = [];
    this.length = 0;
  }
}
