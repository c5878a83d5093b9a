import { SCHEMAS, STYPES, UNDEF_TIMESTAMP } from './constants.js';
import { DbnError } from './errors.js';
import { readCString, writeCString } from './records.js';

/** A symbol's mapping over a date range (dates as `YYYYMMDD` numbers, end exclusive). */
export interface MappingInterval {
  readonly startDate: number;
  readonly endDate: number;
  readonly symbol: string;
}

export interface SymbolMapping {
  readonly rawSymbol: string;
  readonly intervals: readonly MappingInterval[];
}

/** The DBN metadata header. Absent values (a mixed schema, no end) are null. */
export interface DbnMetadata {
  readonly version: number;
  readonly dataset: string;
  /** Schema name (`mbo`, `trades`…), or null for a stream of mixed schemas (live). */
  readonly schema: string | null;
  readonly start: bigint;
  readonly end: bigint | null;
  /** 0: no limit. */
  readonly limit: bigint;
  readonly stypeIn: string | null;
  readonly stypeOut: string;
  /** Every record carries a trailing `ts_out` (u64). */
  readonly tsOut: boolean;
  /** Length of the fixed symbol strings: 22 in v1, 71 in v2 and v3. */
  readonly symbolCstrLen: number;
  readonly symbols: readonly string[];
  readonly partial: readonly string[];
  readonly notFound: readonly string[];
  readonly mappings: readonly SymbolMapping[];
  /** v1 only: the deprecated record count, when the writer filled it in (u64::MAX, "unknown", otherwise). */
  readonly recordCount?: bigint;
}

const MAGIC = [0x44, 0x42, 0x4e]; // "DBN"
const U64_MAX = 2n ** 64n - 1n;

/** True if `bytes` start with the DBN magic. */
export function isDbn(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === MAGIC[0] && bytes[1] === MAGIC[1] && bytes[2] === MAGIC[2];
}

/**
 * Decodes the metadata at the start of `bytes`; returns it with the byte offset of the first
 * record. Errors name `file` and the offset; `cut` says why the bytes stop short (a zstd stream
 * that broke off), for the error when the metadata is not all there.
 */
export function decodeMetadata(
  bytes: Uint8Array,
  file = '<bytes>',
  cut: string | null = null,
): { metadata: DbnMetadata; recordsAt: number } {
  const fail = (offset: number, expected: string, found: string): never => {
    throw new DbnError(file, offset, null, `expected ${expected}, found ${found}`);
  };
  const truncated = cut === null ? 'truncated' : `the file is truncated: ${cut}`;
  if (bytes.length < 8) fail(0, 'a DBN header of at least 8 bytes', `${bytes.length} bytes${cut === null ? '' : ` (${truncated})`}`);
  if (!isDbn(bytes)) {
    const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    fail(0, 'the DBN magic "DBN" (44 42 4e)', head);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[3]!;
  if (version < 1 || version > 3) fail(3, 'DBN version 1, 2 or 3', `version ${version}`);
  const length = dv.getUint32(4, true);
  if (length < 100) fail(4, 'a metadata length of at least 100 bytes', `${length}`);
  const end = 8 + length;
  if (end > bytes.length) fail(4, `${length} bytes of metadata`, `only ${bytes.length - 8} bytes after the header (${truncated})`);
  const at = (o: number): number => 8 + o;
  const dataset = readCString(bytes, at(0), 16);
  const schemaId = dv.getUint16(at(16), true);
  const start = dv.getBigUint64(at(18), true);
  const endTs = dv.getBigUint64(at(26), true);
  const limit = dv.getBigUint64(at(34), true);
  const v1 = version === 1;
  const stypeInId = bytes[at(v1 ? 50 : 42)]!;
  const stypeOutId = bytes[at(v1 ? 51 : 43)]!;
  const tsOut = bytes[at(v1 ? 52 : 44)]! !== 0;
  const symbolCstrLen = v1 ? 22 : dv.getUint16(at(45), true);
  const schemaDef = dv.getUint32(at(100), true);
  if (schemaDef !== 0) fail(at(100), 'schema_definition_length 0', `${schemaDef}`);
  let p = at(104);
  const need = (n: number, what: string): void => {
    if (p + n > end) fail(p, `${what} within the metadata`, 'the metadata ends first');
  };
  const list = (what: string): string[] => {
    need(4, `the ${what} count`);
    const n = dv.getUint32(p, true);
    p += 4;
    need(n * symbolCstrLen, `${n} ${what}`);
    const out: string[] = [];
    for (let i = 0; i < n; i++, p += symbolCstrLen) out.push(readCString(bytes, p, symbolCstrLen));
    return out;
  };
  const symbols = list('symbols');
  const partial = list('partial symbols');
  const notFound = list('not-found symbols');
  need(4, 'the mapping count');
  const nMappings = dv.getUint32(p, true);
  p += 4;
  const mappings: SymbolMapping[] = [];
  for (let i = 0; i < nMappings; i++) {
    need(symbolCstrLen + 4, 'a symbol mapping');
    const rawSymbol = readCString(bytes, p, symbolCstrLen);
    p += symbolCstrLen;
    const n = dv.getUint32(p, true);
    p += 4;
    need(n * (8 + symbolCstrLen), `${n} mapping intervals`);
    const intervals: MappingInterval[] = [];
    for (let k = 0; k < n; k++) {
      intervals.push({
        startDate: dv.getUint32(p, true),
        endDate: dv.getUint32(p + 4, true),
        symbol: readCString(bytes, p + 8, symbolCstrLen),
      });
      p += 8 + symbolCstrLen;
    }
    mappings.push({ rawSymbol, intervals });
  }
  const schema = schemaId === 0xffff ? null : (SCHEMAS[schemaId] ?? fail(at(16), 'a known schema id', `${schemaId}`));
  const stypeIn = stypeInId === 0xff ? null : (STYPES[stypeInId] ?? fail(at(v1 ? 50 : 42), 'a known stype_in', `${stypeInId}`));
  const stypeOut = STYPES[stypeOutId] ?? fail(at(v1 ? 51 : 43), 'a known stype_out', `${stypeOutId}`);
  return {
    metadata: {
      version,
      dataset,
      schema,
      start,
      end: endTs === UNDEF_TIMESTAMP ? null : endTs,
      limit,
      stypeIn,
      stypeOut,
      tsOut,
      symbolCstrLen,
      symbols,
      partial,
      notFound,
      mappings,
      ...(v1 && dv.getBigUint64(at(42), true) !== U64_MAX ? { recordCount: dv.getBigUint64(at(42), true) } : {}),
    },
    recordsAt: end, // skip exactly the declared length (v3 pads to a multiple of 8)
  };
}

/** Encodes `m` as DBN metadata of `m.version` (v3 padded to a multiple of 8 bytes). */
export function encodeMetadata(m: DbnMetadata): Uint8Array {
  const v1 = m.version === 1;
  const L = v1 ? 22 : m.symbolCstrLen;
  const listBytes = (l: readonly string[]): number => 4 + l.length * L;
  let body = 104 + listBytes(m.symbols) + listBytes(m.partial) + listBytes(m.notFound) + 4;
  for (const mp of m.mappings) body += L + 4 + mp.intervals.length * (8 + L);
  const length = m.version >= 3 ? Math.ceil((8 + body) / 8) * 8 - 8 : body;
  const out = new Uint8Array(8 + length);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[3] = m.version;
  dv.setUint32(4, length, true);
  const at = (o: number): number => 8 + o;
  const put = (s: string, o: number, len: number): void => {
    if (s.length > len - 1 && !(s.length === len && len === 16)) {
      throw new DbnError('<encode>', o, null, `expected a string of at most ${len - 1} characters, found "${s}" (${s.length})`);
    }
    writeCString(out, o, len, s);
  };
  put(m.dataset, at(0), 16);
  dv.setUint16(at(16), m.schema === null ? 0xffff : SCHEMAS.indexOf(m.schema), true);
  dv.setBigUint64(at(18), m.start, true);
  dv.setBigUint64(at(26), m.end ?? UNDEF_TIMESTAMP, true);
  dv.setBigUint64(at(34), m.limit, true);
  if (v1) dv.setBigUint64(at(42), m.recordCount ?? U64_MAX, true); // record_count: deprecated, u64::MAX when unknown
  out[at(v1 ? 50 : 42)] = m.stypeIn === null ? 0xff : STYPES.indexOf(m.stypeIn);
  out[at(v1 ? 51 : 43)] = STYPES.indexOf(m.stypeOut);
  out[at(v1 ? 52 : 44)] = m.tsOut ? 1 : 0;
  if (!v1) dv.setUint16(at(45), L, true);
  let p = at(104);
  for (const l of [m.symbols, m.partial, m.notFound]) {
    dv.setUint32(p, l.length, true);
    p += 4;
    for (const s of l) {
      put(s, p, L);
      p += L;
    }
  }
  dv.setUint32(p, m.mappings.length, true);
  p += 4;
  for (const mp of m.mappings) {
    put(mp.rawSymbol, p, L);
    p += L;
    dv.setUint32(p, mp.intervals.length, true);
    p += 4;
    for (const iv of mp.intervals) {
      dv.setUint32(p, iv.startDate, true);
      dv.setUint32(p + 4, iv.endDate, true);
      put(iv.symbol, p + 8, L);
      p += 8 + L;
    }
  }
  return out;
}
