import { decompress } from 'fzstd';
import { DBN_VERSION, RType } from './constants.js';
import { DbnError } from './errors.js';
import { layoutFor, upgradeRecord } from './versions.js';
import type { Layout } from './layouts.js';
import { decodeMetadata } from './metadata.js';
import type { DbnMetadata } from './metadata.js';
import { readRecord } from './records.js';
import type { DbnRecord } from './records.js';

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_LOW = 0x184d2a50;
const SKIPPABLE_HIGH = 0x184d2a5f;

export interface DbnDecodeOptions {
  /** The file name, for error messages. */
  readonly file?: string;
  /**
   * The input is a fragment: records without metadata (default: when the file name ends in
   * `.frag` or `.frag.zst`). Anything else must start with the DBN magic.
   */
  readonly fragment?: boolean;
  /** For a fragment: its DBN version (default: from the record sizes, else 3). */
  readonly fragmentVersion?: 1 | 2 | 3;
  /** Records of another DBN version are upgraded to v3 shapes (default true), as Databento's own decoders do. */
  readonly upgrade?: boolean;
  /** Skip records that cannot be decoded (unknown rtype, impossible length) and count them, instead of failing. */
  readonly skipBad?: boolean;
  /** The stream carries a trailing `ts_out` per record (fragments only; a file's metadata says so). */
  readonly tsOut?: boolean;
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/**
 * Plain DBN bytes of `input`: zstd (one or several frames) is decompressed; a legacy DBZ file
 * (metadata in a skippable frame) is refused with a clear error.
 */
export function dbnBytes(input: Uint8Array, file = '<bytes>'): Uint8Array {
  if (input.length < 4) return input;
  const magic = u32(input, 0);
  if (magic >= SKIPPABLE_LOW && magic <= SKIPPABLE_HIGH) {
    throw new DbnError(
      file,
      0,
      null,
      "expected DBN (plain or zstd), found legacy DBZ (a zstd skippable frame first): convert it with Databento's `dbn` tool (dbn FILE.dbz --dbn -o FILE.dbn)",
    );
  }
  if (magic !== ZSTD_MAGIC) return input;
  try {
    return decompress(input);
  } catch (error) {
    throw new DbnError(file, 0, null, `expected a valid zstd stream, found a corrupt one (${(error as Error).message})`);
  }
}

/** The bytes from `from` on, 8-byte aligned in memory (so typed-array views work on any version). */
function aligned(bytes: Uint8Array, from: number): Uint8Array {
  const start = bytes.byteOffset + from;
  if (start % 8 === 0) return bytes.subarray(from);
  const copy = new Uint8Array(bytes.length - from);
  copy.set(bytes.subarray(from));
  return copy;
}

/**
 * A DBN stream (a file's bytes, plain or zstd, or a fragment of bare records): its metadata and
 * its records. `records()` yields records as objects (v3 shapes unless `upgrade: false`);
 * errors name the file, the byte offset in the decompressed stream and the record index.
 */
export class DbnReader {
  readonly metadata: DbnMetadata | null;
  /** The DBN version the records were written in. */
  readonly version: number;
  readonly tsOut: boolean;
  /** The records, from the first one to the end, 8-byte aligned. */
  readonly body: Uint8Array;
  /** Offset of `body` in the decompressed stream (for error messages). */
  readonly bodyOffset: number;
  readonly file: string;
  /** Records skipped under `skipBad`, and the first reason. */
  skipped = 0;
  firstSkip: string | null = null;
  private readonly upgrade: boolean;
  private readonly skipBad: boolean;

  constructor(input: Uint8Array, options: DbnDecodeOptions = {}) {
    this.file = options.file ?? '<bytes>';
    const bytes = dbnBytes(input, this.file);
    this.upgrade = options.upgrade ?? true;
    this.skipBad = options.skipBad ?? false;
    const fragment = options.fragment ?? (options.fragmentVersion !== undefined || /\.frag(\.zst)?$/.test(this.file));
    if (!fragment) {
      const { metadata, recordsAt } = decodeMetadata(bytes, this.file);
      this.metadata = metadata;
      this.version = metadata.version;
      this.tsOut = metadata.tsOut;
      this.body = aligned(bytes, recordsAt);
      this.bodyOffset = recordsAt;
    } else {
      this.metadata = null;
      this.tsOut = options.tsOut ?? false;
      this.body = aligned(bytes, 0);
      this.bodyOffset = 0;
      this.version = options.fragmentVersion ?? guessVersion(this.body, this.tsOut);
    }
  }

  /** The metadata as the records are yielded: version 3 when upgrading (Databento does the same). */
  get outputVersion(): number {
    return this.upgrade ? DBN_VERSION : this.version;
  }

  /** Every record, in order. */
  *records(): Generator<DbnRecord> {
    const bytes = this.body;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    let index = 0;
    while (at < bytes.length) {
      const where = this.bodyOffset + at;
      // A record that cannot be framed ends the read, even under skipBad: nothing after it can be framed again.
      const problem = frameProblem(bytes, at);
      if (problem !== null) throw new DbnError(this.file, where, index, problem);
      const length = bytes[at]! * 4;
      const r = decodeAt(dv, bytes, at, this.version, this.tsOut, this.upgrade);
      if (typeof r === 'string') {
        if (!this.skipBad) throw new DbnError(this.file, where, index, r);
        this.skipped++;
        this.firstSkip ??= `byte ${where}, record ${index}: ${r}`;
      } else {
        yield r;
      }
      at += length;
      index++;
    }
  }

  /** A cursor over the records (no allocation per record). */
  cursor(): DbnCursor {
    return new DbnCursor(this);
  }

  /** Decodes every record into an array. */
  all(): DbnRecord[] {
    return [...this.records()];
  }
}

/** A fragment's version from its first record whose size differs between versions (default 3). */
function guessVersion(body: Uint8Array, tsOut: boolean): 1 | 2 | 3 {
  let at = 0;
  while (at + 16 <= body.length) {
    const length = body[at]! * 4;
    if (length < 16) break;
    const size = length - (tsOut ? 8 : 0);
    const v = versionBySize(body[at + 1]!, size);
    if (v !== null) return v;
    at += length;
  }
  return 3;
}

function versionBySize(rtype: number, size: number): 1 | 2 | 3 | null {
  for (const v of [1, 2, 3] as const) {
    const l: Layout | string = layoutFor(rtype, v, size);
    if (typeof l !== 'string' && l.size === size && sizeVaries(rtype)) return v;
  }
  return null;
}

function sizeVaries(rtype: number): boolean {
  return (
    rtype === RType.InstrumentDef ||
    rtype === RType.Statistics ||
    rtype === RType.SymbolMapping ||
    rtype === RType.Error ||
    rtype === RType.System
  );
}

/**
 * Walks the records of a {@link DbnReader} without allocating per record: `next()` moves to the
 * next record, and the accessors read fields at byte offsets within it (see the layouts), as
 * numbers or bigints. For hot paths (import, benchmarks); `records()` is the convenient form.
 */
export class DbnCursor {
  /** Byte offset of the current record in the reader's body (-1 before the first). */
  offset = -1;
  /** Length of the current record in bytes. */
  length = 0;
  rtype = 0;
  /** Index of the current record. */
  index = -1;
  private readonly bytes: Uint8Array;
  private readonly dv: DataView;
  private readonly i64: BigInt64Array;
  private readonly u64: BigUint64Array;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private next0 = 0;

  constructor(private readonly reader: DbnReader) {
    const b = reader.body;
    this.bytes = b;
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const words = b.byteLength >> 3;
    this.i64 = new BigInt64Array(b.buffer, b.byteOffset, words);
    this.u64 = new BigUint64Array(b.buffer, b.byteOffset, words);
    this.u32 = new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
    this.i32 = new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  }

  /** Moves to the next record; false at the end. Throws a {@link DbnError} for a record that cannot be framed. */
  next(): boolean {
    const at = this.next0;
    const bytes = this.bytes;
    if (at >= bytes.length) return false;
    const problem = frameProblem(bytes, at);
    if (problem !== null) throw new DbnError(this.reader.file, this.reader.bodyOffset + at, this.index + 1, problem);
    const length = bytes[at]! << 2;
    this.offset = at;
    this.length = length;
    this.rtype = bytes[at + 1]!;
    this.index++;
    this.next0 = at + length;
    return true;
  }

  get publisherId(): number {
    return this.dv.getUint16(this.offset + 2, true);
  }

  get instrumentId(): number {
    return this.u32[(this.offset >> 2) + 1]!;
  }

  get tsEvent(): bigint {
    return this.u64At(8);
  }

  u8At(at: number): number {
    return this.bytes[this.offset + at]!;
  }

  u16At(at: number): number {
    return this.dv.getUint16(this.offset + at, true);
  }

  u32At(at: number): number {
    const o = this.offset + at;
    return (o & 3) === 0 ? this.u32[o >> 2]! : this.dv.getUint32(o, true);
  }

  i32At(at: number): number {
    const o = this.offset + at;
    return (o & 3) === 0 ? this.i32[o >> 2]! : this.dv.getInt32(o, true);
  }

  /** A signed 64-bit field (prices): i64::MAX is "absent" for prices. */
  i64At(at: number): bigint {
    const o = this.offset + at;
    return (o & 7) === 0 ? this.i64[o >> 3]! : this.dv.getBigInt64(o, true);
  }

  /** An unsigned 64-bit field (timestamps, order ids): u64::MAX is "absent" for timestamps. */
  u64At(at: number): bigint {
    const o = this.offset + at;
    return (o & 7) === 0 ? this.u64[o >> 3]! : this.dv.getBigUint64(o, true);
  }
}

/**
 * Decodes the one record at `at` in `bytes` (a live stream's buffer): the record, or an error
 * text when its type or length is unknown. The caller checks that `length` bytes are there.
 */
export function decodeRecordAt(bytes: Uint8Array, at: number, version: number, tsOut: boolean): DbnRecord | string {
  return decodeAt(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, at, version, tsOut, true);
}

/** Why the record at `at` cannot be framed: no whole header, a length under 16 bytes, or one past the end; null if it can. */
function frameProblem(bytes: Uint8Array, at: number): string | null {
  if (at + 16 > bytes.length) return `expected a 16-byte record header, found ${bytes.length - at} bytes (the file is truncated)`;
  const length = bytes[at]! * 4;
  const rtype = `rtype 0x${bytes[at + 1]!.toString(16)}`;
  if (length < 16) return `expected a record length of at least 16 bytes, found ${length} (${rtype})`;
  if (at + length > bytes.length)
    return `expected ${length} bytes of record (${rtype}), found ${bytes.length - at} (the file is truncated)`;
  return null;
}

/** The framed record at `at`, decoded (and upgraded to v3 if asked), or why its type or size is unknown. */
function decodeAt(dv: DataView, bytes: Uint8Array, at: number, version: number, tsOut: boolean, upgrade: boolean): DbnRecord | string {
  const rtype = bytes[at + 1]!;
  const layout = layoutFor(rtype, version, bytes[at]! * 4 - (tsOut ? 8 : 0));
  if (typeof layout === 'string') return layout;
  const r = readRecord(dv, bytes, at, layout, tsOut);
  return upgrade && version < DBN_VERSION ? upgradeRecord(r, rtype, version) : r;
}
