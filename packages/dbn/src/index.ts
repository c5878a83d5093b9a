/**
 * @mdcap/dbn: Databento's DBN format, versions 1 to 3: metadata and every record type, plain or
 * zstd, files and bare record fragments; decoding (with the v1/v2 → v3 upgrade) and encoding.
 */
export {
  DBN_VERSION,
  DBN_PRICE_SCALE,
  UNDEF_PRICE,
  UNDEF_TIMESTAMP,
  UNDEF_ORDER_SIZE,
  RType,
  SCHEMAS,
  SCHEMA_RTYPES,
  STYPES,
  DbnFlags,
} from './constants.js';
export { DbnError } from './errors.js';
export { decodeMetadata, encodeMetadata, isDbn } from './metadata.js';
export type { DbnMetadata, SymbolMapping, MappingInterval } from './metadata.js';
export type { DbnRecord } from './records.js';
export type { Field, FieldType, Layout } from './layouts.js';
export { DbnCursor, DbnReader, dbnBytes, decodeRecordAt } from './decoder.js';
export type { DbnDecodeOptions } from './decoder.js';
export { encodeDbn, encodeRecords } from './encoder.js';
export { csvColumns, metadataJson, SymbolMap, toCsv, toJson } from './text.js';
export type { TextOptions } from './text.js';
export { DbnToEvents } from './events.js';
export { EventsToDbn, EXPORT_SCHEMAS } from './from-events.js';
