import type { Field, Layout } from './layouts.js';

/**
 * A decoded record: every field of its layout by Databento's field name (header fields
 * included), 64-bit integers, prices and timestamps as bigint, chars and char arrays as
 * strings. Reserved bytes are not fields. `ts_out` is present when the stream has it.
 */
export type DbnRecord = Record<string, number | bigint | string>;

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** A C string: the bytes up to the first NUL (or `len`), as UTF-8. */
export function readCString(bytes: Uint8Array, at: number, len: number): string {
  let end = at;
  const stop = at + len;
  while (end < stop && bytes[end] !== 0) end++;
  return decoder.decode(bytes.subarray(at, end));
}

/** Writes `s` as UTF-8 into the `room` bytes at `at` (zero bytes after it stay zero). */
export function writeCString(bytes: Uint8Array, at: number, room: number, s: string): void {
  encoder.encodeInto(s, bytes.subarray(at, at + room));
}

/** Reads one field at byte offset `base + field.offset`. */
export function readField(dv: DataView, bytes: Uint8Array, base: number, f: Field): number | bigint | string {
  const o = base + f.offset;
  switch (f.type) {
    case 'u8':
      return bytes[o]!;
    case 'i8':
      return dv.getInt8(o);
    case 'u16':
      return dv.getUint16(o, true);
    case 'i16':
      return dv.getInt16(o, true);
    case 'u32':
      return dv.getUint32(o, true);
    case 'i32':
      return dv.getInt32(o, true);
    case 'u64':
    case 'ts':
      return dv.getBigUint64(o, true);
    case 'i64':
    case 'px':
      return dv.getBigInt64(o, true);
    case 'c':
      return bytes[o] === 0 ? '' : String.fromCharCode(bytes[o]!);
    default:
      return readCString(bytes, o, f.size); // cN
  }
}

/** Writes one field of `r` (missing fields are written as zero bytes). */
export function writeField(dv: DataView, bytes: Uint8Array, base: number, f: Field, r: DbnRecord): void {
  const o = base + f.offset;
  const v = r[f.name];
  if (v === undefined) return; // absent (reserved bytes: zeros)
  if (f.type.startsWith('r')) {
    const hex = v as string;
    for (let i = 0; i < f.size; i++) bytes[o + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return;
  }
  switch (f.type) {
    case 'u8':
      bytes[o] = v as number;
      return;
    case 'i8':
      dv.setInt8(o, v as number);
      return;
    case 'u16':
      dv.setUint16(o, v as number, true);
      return;
    case 'i16':
      dv.setInt16(o, v as number, true);
      return;
    case 'u32':
      dv.setUint32(o, v as number, true);
      return;
    case 'i32':
      dv.setInt32(o, v as number, true);
      return;
    case 'u64':
    case 'ts':
      dv.setBigUint64(o, v as bigint, true);
      return;
    case 'i64':
    case 'px':
      dv.setBigInt64(o, v as bigint, true);
      return;
    case 'c':
      bytes[o] = (v as string).length === 0 ? 0 : (v as string).charCodeAt(0);
      return;
    default:
      writeCString(bytes, o, f.size - 1, v as string); // keeps the terminating NUL
  }
}

/** Reserved bytes that are not all zero, as hex (kept so that re-encoding is byte-exact); null if all zero. */
function reservedHex(bytes: Uint8Array, at: number, size: number): string | null {
  let nonZero = false;
  for (let i = 0; i < size; i++) if (bytes[at + i] !== 0) nonZero = true;
  if (!nonZero) return null;
  let hex = '';
  for (let i = 0; i < size; i++) hex += bytes[at + i]!.toString(16).padStart(2, '0');
  return hex;
}

/**
 * Decodes a whole record of `layout` at `base`. Reserved bytes that are not zero (some writers
 * leave data there) are kept under the reserved field's name as hex, so re-encoding gives the
 * same bytes; the text renderings skip them as Databento's do.
 */
export function readRecord(dv: DataView, bytes: Uint8Array, base: number, layout: Layout, tsOut: boolean): DbnRecord {
  const r: DbnRecord = {};
  for (const f of layout.fields) {
    if (f.type.startsWith('r')) {
      const hex = reservedHex(bytes, base + f.offset, f.size);
      if (hex !== null) r[f.name] = hex;
      continue;
    }
    r[f.name] = readField(dv, bytes, base, f);
  }
  if (tsOut) r['ts_out'] = dv.getBigUint64(base + layout.size, true);
  return r;
}
