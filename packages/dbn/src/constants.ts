/**
 * DBN (Databento Binary Encoding) enumerations and sentinels, as Databento documents them:
 * record types, schemas, symbology types, flags, and the values that mean "absent".
 */

/** The newest DBN version this codec reads and writes. */
export const DBN_VERSION = 3;

/** Prices are integers in units of 1e-9. */
export const DBN_PRICE_SCALE = 9;

/** i64::MAX: no price. */
export const UNDEF_PRICE: bigint = 2n ** 63n - 1n;
/** u64::MAX: no timestamp. */
export const UNDEF_TIMESTAMP: bigint = 2n ** 64n - 1n;
/** u32::MAX: no order size. */
export const UNDEF_ORDER_SIZE: number = 2 ** 32 - 1;

/** Record types (the header's `rtype`). */
export const RType = {
  Mbp0: 0x00,
  Mbp1: 0x01,
  Mbp10: 0x0a,
  OhlcvDeprecated: 0x11,
  Status: 0x12,
  InstrumentDef: 0x13,
  Imbalance: 0x14,
  Error: 0x15,
  SymbolMapping: 0x16,
  System: 0x17,
  Statistics: 0x18,
  Ohlcv1S: 0x20,
  Ohlcv1M: 0x21,
  Ohlcv1H: 0x22,
  Ohlcv1D: 0x23,
  OhlcvEod: 0x24,
  Mbo: 0xa0,
  Cmbp1: 0xb1,
  Cbbo1S: 0xc0,
  Cbbo1M: 0xc1,
  Tcbbo: 0xc2,
  Bbo1S: 0xc3,
  Bbo1M: 0xc4,
} as const;

/** Schema names by their metadata id; 0xFFFF (none) is a live stream of mixed schemas. */
export const SCHEMAS: readonly string[] = [
  'mbo',
  'mbp-1',
  'mbp-10',
  'tbbo',
  'trades',
  'ohlcv-1s',
  'ohlcv-1m',
  'ohlcv-1h',
  'ohlcv-1d',
  'definition',
  'statistics',
  'status',
  'imbalance',
  'ohlcv-eod',
  'cmbp-1',
  'cbbo-1s',
  'cbbo-1m',
  'tcbbo',
  'bbo-1s',
  'bbo-1m',
];

/** The record types each schema's records have. */
export const SCHEMA_RTYPES: Readonly<Record<string, readonly number[]>> = {
  mbo: [RType.Mbo],
  'mbp-1': [RType.Mbp1],
  tbbo: [RType.Mbp1],
  'mbp-10': [RType.Mbp10],
  trades: [RType.Mbp0],
  'ohlcv-1s': [RType.Ohlcv1S],
  'ohlcv-1m': [RType.Ohlcv1M],
  'ohlcv-1h': [RType.Ohlcv1H],
  'ohlcv-1d': [RType.Ohlcv1D],
  'ohlcv-eod': [RType.OhlcvEod],
  definition: [RType.InstrumentDef],
  statistics: [RType.Statistics],
  status: [RType.Status],
  imbalance: [RType.Imbalance],
  'cmbp-1': [RType.Cmbp1],
  'cbbo-1s': [RType.Cbbo1S],
  'cbbo-1m': [RType.Cbbo1M],
  tcbbo: [RType.Tcbbo],
  'bbo-1s': [RType.Bbo1S],
  'bbo-1m': [RType.Bbo1M],
};

/** Symbology type names by id; 0xFF (none) means mixed. */
export const STYPES: readonly string[] = [
  'instrument_id',
  'raw_symbol',
  'smart',
  'continuous',
  'parent',
  'nasdaq_symbol',
  'cms_symbol',
  'isin',
  'us_code',
  'bbg_comp_id',
  'bbg_comp_ticker',
  'figi',
  'figi_ticker',
];

/** Record flags. */
export const DbnFlags = {
  Last: 0x80,
  Tob: 0x40,
  Snapshot: 0x20,
  Mbp: 0x10,
  BadTsRecv: 0x08,
  MaybeBadBook: 0x04,
  PublisherSpecific: 0x02,
} as const;
