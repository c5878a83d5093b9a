import { Decompress, ZstdErrorCode } from 'fzstd';
import type { ZstdError } from 'fzstd';
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

/** The plain bytes of an input, and why they stop short when a zstd stream breaks off (else null). */
interface Inflated {
  readonly bytes: Uint8Array;
  readonly cut: string | null;
}

/**
 * Plain DBN bytes of `input`: zstd (one or several frames) is decompressed block by block, so
 * that a stream which breaks off (a truncated file) still gives every block before the cut; a
 * legacy DBZ file (metadata in a skippable frame) is refused with a clear error.
 */
function inflate(input: Uint8Array, file: string): Inflated {
  if (input.length < 4) return { bytes: input, cut: null };
  const magic = u32(input, 0);
  if (magic >= SKIPPABLE_LOW && magic <= SKIPPABLE_HIGH) {
    throw new DbnError(
      file,
      0,
      null,
      "expected DBN (plain or zstd), found legacy DBZ (a zstd skippable frame first): convert it with Databento's `dbn` tool (dbn FILE.dbz --dbn -o FILE.dbn)",
    );
  }
  if (magic !== ZSTD_MAGIC) return { bytes: input, cut: null };
  const blocks: Uint8Array[] = [];
  let size = 0;
  const zstd = new Decompress((block) => {
    blocks.push(block);
    size += block.length;
  });
  let cut: string | null = null;
  try {
    zstd.push(input);
    zstd.push(new Uint8Array(0), true); // the end: a frame (or its checksum) still open is a cut
  } catch (error) {
    if ((error as ZstdError).code !== ZstdErrorCode.UnexpectedEOF) {
      throw new DbnError(file, 0, null, `expected a valid zstd stream, found a corrupt one (${(error as Error).message})`);
    }
    cut = `its zstd stream breaks off inside a frame at compressed byte ${input.length}, the end of the file`;
  }
  if (blocks.length === 1) return { bytes: blocks[0]!, cut };
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const b of blocks) {
    bytes.set(b, at);
    at += b.length;
  }
  return { bytes, cut };
}

/**
 * Plain DBN bytes of `input`: zstd (one or several frames) is decompressed; a legacy DBZ file
 * is refused, and so is a zstd stream that breaks off (`DbnReader` reads what comes before it).
 */
export function dbnBytes(input: Uint8Array, file = '<bytes>'): Uint8Array {
  const { bytes, cut } = inflate(input, file);
  if (cut !== null) throw new DbnError(file, bytes.length, null, `expected a whole zstd stream, found that ${cut} (the file is truncated)`);
  return bytes;
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
  /**
   * Why the data stop short of the file's end, when its zstd stream breaks off (a truncated
   * file); null otherwise. The records before the cut are read, then the reader fails there.
   */
  readonly cut: string | null;
  /** Records skipped under `skipBad`, and the first reason. */
  skipped = 0;
  firstSkip: string | null = null;
  private readonly upgrade: boolean;
  private readonly skipBad: boolean;

  constructor(input: Uint8Array, options: DbnDecodeOptions = {}) {
    this.file = options.file ?? '<bytes>';
    const { bytes, cut } = inflate(input, this.file);
    this.cut = cut;
    this.upgrade = options.upgrade ?? true;
    this.skipBad = options.skipBad ?? false;
    const fragment = options.fragment ?? (options.fragmentVersion !== undefined || /\.frag(\.zst)?$/.test(this.file));
    if (!fragment) {
      const { metadata, recordsAt } = decodeMetadata(bytes, this.file, cut);
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
    // After the last record: the end, unless the zstd stream broke off there.
    while (at < bytes.length || this.cut !== null) {
      const where = this.bodyOffset + at;
      // A record that cannot be framed ends the read, even under skipBad: nothing after it can be framed again.
      const problem = frameProblem(bytes, at, this.cut);
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
    if (at >= bytes.length && this.reader.cut === null) return false;
    const problem = frameProblem(bytes, at, this.reader.cut);
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

/**
 * Why the record at `at` cannot be framed: no whole header, a length under 16 bytes, or one past
 * the end (`cut` says why the data stop there, when a zstd stream broke off); null if it can.
 */
function frameProblem(bytes: Uint8Array, at: number, cut: string | null): string | null {
  const truncated = cut === null ? 'the file is truncated' : `the file is truncated: ${cut}`;
  if (at + 16 > bytes.length) return `expected a 16-byte record header, found ${bytes.length - at} bytes (${truncated})`;
  const length = bytes[at]! * 4;
  const rtype = `rtype 0x${bytes[at + 1]!.toString(16)}`;
  if (length < 16) return `expected a record length of at least 16 bytes, found ${length} (${rtype})`;
  if (at + length > bytes.length) return `expected ${length} bytes of record (${rtype}), found ${bytes.length - at} (${truncated})`;
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
