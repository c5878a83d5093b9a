import { RType } from './constants.js';

/**
 * Record layouts as data: each record type (and, where it changed, each DBN version) is an
 * ordered list of fields. Decoding, encoding, the CSV and JSON renderings and the v1/v2 → v3
 * upgrade all walk these tables, so a field is described once.
 *
 * Field types: `u8 i8 u16 i16 u32 i32` (numbers), `u64 i64` (bigint), `px` (i64 price in 1e-9,
 * bigint; i64::MAX = absent), `ts` (u64 ns since the epoch, bigint; u64::MAX = absent), `c`
 * (one ASCII char, a string; NUL = ''), `cN` (a NUL-padded char[N], a string), `rN` (N reserved
 * bytes: skipped, written as zeros).
 */
export type FieldType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'px' | 'ts' | 'c' | `c${number}` | `r${number}`;

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  readonly size: number;
}

export interface Layout {
  /** The record name in Databento's sources (`MboMsg`, `InstrumentDefMsg`…). */
  readonly name: string;
  readonly size: number;
  /** Header fields first (`length`, `rtype`, `publisher_id`, `instrument_id`, `ts_event`), then the body. */
  readonly fields: readonly Field[];
}

const SIZES: Record<string, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8, px: 8, ts: 8, c: 1 };

export function fieldSize(type: FieldType): number {
  const fixed = SIZES[type];
  if (fixed !== undefined) return fixed;
  return Number(type.slice(1));
}

const HEADER: readonly [string, FieldType][] = [
  ['length', 'u8'],
  ['rtype', 'u8'],
  ['publisher_id', 'u16'],
  ['instrument_id', 'u32'],
  ['ts_event', 'ts'],
];

/** Builds a layout from its body fields and checks the total size and natural alignment. */
function layout(name: string, size: number, body: readonly [string, FieldType][]): Layout {
  const fields: Field[] = [];
  let offset = 0;
  for (const [n, type] of [...HEADER, ...body]) {
    const s = fieldSize(type);
    const align = type.startsWith('c') || type.startsWith('r') ? 1 : s;
    if (offset % align !== 0) throw new Error(`DBN layout ${name}: ${n} at ${offset} is not aligned to ${align}`);
    fields.push({ name: n, type, offset, size: s });
    offset += s;
  }
  if (offset !== size) throw new Error(`DBN layout ${name}: fields add up to ${offset} bytes, expected ${size}`);
  return { name, size, fields };
}

const pair = (i: number): [string, FieldType][] => {
  const k = String(i).padStart(2, '0');
  return [
    [`bid_px_${k}`, 'px'],
    [`ask_px_${k}`, 'px'],
    [`bid_sz_${k}`, 'u32'],
    [`ask_sz_${k}`, 'u32'],
    [`bid_ct_${k}`, 'u32'],
    [`ask_ct_${k}`, 'u32'],
  ];
};

const consolidatedPair: [string, FieldType][] = [
  ['bid_px_00', 'px'],
  ['ask_px_00', 'px'],
  ['bid_sz_00', 'u32'],
  ['ask_sz_00', 'u32'],
  ['bid_pb_00', 'u16'],
  ['_reserved1_00', 'r2'],
  ['ask_pb_00', 'u16'],
  ['_reserved2_00', 'r2'],
];

const tradeBody: [string, FieldType][] = [
  ['price', 'px'],
  ['size', 'u32'],
  ['action', 'c'],
  ['side', 'c'],
  ['flags', 'u8'],
  ['depth', 'u8'],
  ['ts_recv', 'ts'],
  ['ts_in_delta', 'i32'],
  ['sequence', 'u32'],
];

export const MBO: Layout = layout('MboMsg', 56, [
  ['order_id', 'u64'],
  ['price', 'px'],
  ['size', 'u32'],
  ['flags', 'u8'],
  ['channel_id', 'u8'],
  ['action', 'c'],
  ['side', 'c'],
  ['ts_recv', 'ts'],
  ['ts_in_delta', 'i32'],
  ['sequence', 'u32'],
]);
export const TRADE: Layout = layout('TradeMsg', 48, tradeBody);
export const MBP1: Layout = layout('Mbp1Msg', 80, [...tradeBody, ...pair(0)]);
export const MBP10: Layout = layout('Mbp10Msg', 368, [...tradeBody, ...Array.from({ length: 10 }, (_, i) => pair(i)).flat()]);
/** The start of a BBO and a CBBO record (sampled top of book: the last trade's price, size and side). */
const sampledHead: [string, FieldType][] = [
  ['price', 'px'],
  ['size', 'u32'],
  ['_reserved1', 'r1'],
  ['side', 'c'],
  ['flags', 'u8'],
  ['_reserved2', 'r1'],
  ['ts_recv', 'ts'],
];

export const BBO: Layout = layout('BboMsg', 80, [...sampledHead, ['_reserved3', 'r4'], ['sequence', 'u32'], ...pair(0)]);
export const CMBP1: Layout = layout('Cmbp1Msg', 80, [
  ['price', 'px'],
  ['size', 'u32'],
  ['action', 'c'],
  ['side', 'c'],
  ['flags', 'u8'],
  ['_reserved1', 'r1'],
  ['ts_recv', 'ts'],
  ['ts_in_delta', 'i32'],
  ['_reserved2', 'r4'],
  ...consolidatedPair,
]);
export const CBBO: Layout = layout('CbboMsg', 80, [...sampledHead, ['_reserved3', 'r8'], ...consolidatedPair]);
export const OHLCV: Layout = layout('OhlcvMsg', 56, [
  ['open', 'px'],
  ['high', 'px'],
  ['low', 'px'],
  ['close', 'px'],
  ['volume', 'u64'],
]);
export const STATUS: Layout = layout('StatusMsg', 40, [
  ['ts_recv', 'ts'],
  ['action', 'u16'],
  ['reason', 'u16'],
  ['trading_event', 'u16'],
  ['is_trading', 'c'],
  ['is_quoting', 'c'],
  ['is_short_sell_restricted', 'c'],
  ['_reserved', 'r7'],
]);
export const IMBALANCE: Layout = layout('ImbalanceMsg', 112, [
  ['ts_recv', 'ts'],
  ['ref_price', 'px'],
  ['auction_time', 'ts'],
  ['cont_book_clr_price', 'px'],
  ['auct_interest_clr_price', 'px'],
  ['ssr_filling_price', 'px'],
  ['ind_match_price', 'px'],
  ['upper_collar', 'px'],
  ['lower_collar', 'px'],
  ['paired_qty', 'u32'],
  ['total_imbalance_qty', 'u32'],
  ['market_imbalance_qty', 'u32'],
  ['unpaired_qty', 'u32'],
  ['auction_type', 'c'],
  ['side', 'c'],
  ['auction_status', 'u8'],
  ['freeze_status', 'u8'],
  ['num_extensions', 'u8'],
  ['unpaired_side', 'c'],
  ['significant_imbalance', 'c'],
  ['_reserved', 'r1'],
]);

/** Layouts that are the same in every DBN version, by rtype. */
export const FIXED_LAYOUTS: ReadonlyMap<number, Layout> = new Map<number, Layout>([
  [RType.Mbo, MBO],
  [RType.Mbp0, TRADE],
  [RType.Mbp1, MBP1],
  [RType.Mbp10, MBP10],
  [RType.Bbo1S, BBO],
  [RType.Bbo1M, BBO],
  [RType.Cmbp1, CMBP1],
  [RType.Tcbbo, CMBP1],
  [RType.Cbbo1S, CBBO],
  [RType.Cbbo1M, CBBO],
  [RType.OhlcvDeprecated, OHLCV],
  [RType.Ohlcv1S, OHLCV],
  [RType.Ohlcv1M, OHLCV],
  [RType.Ohlcv1H, OHLCV],
  [RType.Ohlcv1D, OHLCV],
  [RType.OhlcvEod, OHLCV],
  [RType.Status, STATUS],
  [RType.Imbalance, IMBALANCE],
]);

export { layout as defineLayout };
