import { RType, UNDEF_PRICE } from './constants.js';
import { defineLayout, FIXED_LAYOUTS } from './layouts.js';
import type { FieldType, Layout } from './layouts.js';
import type { DbnRecord } from './records.js';

/**
 * The records whose layout changed between DBN versions (instrument definitions, statistics,
 * symbol mappings, errors, system messages), per version, and the upgrade of v1/v2 records to
 * the v3 shapes. Layouts after Databento's `record.rs` (v3) and `compat.rs` (v1, v2).
 */

const defPrices: [string, FieldType][] = [
  ['ts_recv', 'ts'],
  ['min_price_increment', 'px'],
  ['display_factor', 'px'],
  ['expiration', 'ts'],
  ['activation', 'ts'],
  ['high_limit_price', 'px'],
  ['low_limit_price', 'px'],
  ['max_price_variation', 'px'],
];

const defV2Ints: [string, FieldType][] = [
  ['inst_attrib_value', 'i32'],
  ['underlying_id', 'u32'],
  ['raw_instrument_id', 'u32'],
  ['market_depth_implied', 'i32'],
  ['market_depth', 'i32'],
  ['market_segment_id', 'u32'],
  ['max_trade_vol', 'u32'],
  ['min_lot_size', 'i32'],
  ['min_lot_size_block', 'i32'],
  ['min_lot_size_round_lot', 'i32'],
  ['min_trade_vol', 'u32'],
];

const defStrings = (symbol: number, asset: number): [string, FieldType][] => [
  ['currency', 'c4'],
  ['settl_currency', 'c4'],
  ['secsubtype', 'c6'],
  ['raw_symbol', `c${symbol}`],
  ['group', 'c21'],
  ['exchange', 'c5'],
  ['asset', `c${asset}`],
  ['cfi', 'c7'],
  ['security_type', 'c7'],
  ['unit_of_measure', 'c31'],
  ['underlying', 'c21'],
  ['strike_price_currency', 'c4'],
];

/** The one-byte fields that close a v1 and a v2 definition (v3 dropped two of them). */
const defV1V2Tail: [string, FieldType][] = [
  ['md_security_trading_status', 'u8'],
  ['main_fraction', 'u8'],
  ['price_display_format', 'u8'],
  ['settl_price_type', 'u8'],
  ['sub_fraction', 'u8'],
  ['underlying_product', 'u8'],
  ['security_update_action', 'c'],
  ['maturity_month', 'u8'],
  ['maturity_day', 'u8'],
  ['maturity_week', 'u8'],
  ['user_defined_instrument', 'c'],
  ['contract_multiplier_unit', 'i8'],
  ['flow_schedule_type', 'i8'],
  ['tick_rule', 'u8'],
];

const DEF_V1: Layout = defineLayout('InstrumentDefMsgV1', 360, [
  ...defPrices,
  ['trading_reference_price', 'px'],
  ['unit_of_measure_qty', 'px'],
  ['min_price_increment_amount', 'px'],
  ['price_ratio', 'px'],
  ...defV2Ints,
  ['_reserved2', 'r4'],
  ['contract_multiplier', 'i32'],
  ['decay_quantity', 'i32'],
  ['original_contract_size', 'i32'],
  ['_reserved3', 'r4'],
  ['trading_reference_date', 'u16'],
  ['appl_id', 'i16'],
  ['maturity_year', 'u16'],
  ['decay_start_date', 'u16'],
  ['channel_id', 'u16'],
  ...defStrings(22, 7),
  ['instrument_class', 'c'],
  ['_reserved4', 'r2'],
  ['strike_price', 'px'],
  ['_reserved5', 'r6'],
  ['match_algorithm', 'c'],
  ...defV1V2Tail,
  ['_dummy', 'r3'],
]);

const DEF_V2: Layout = defineLayout('InstrumentDefMsgV2', 400, [
  ...defPrices,
  ['trading_reference_price', 'px'],
  ['unit_of_measure_qty', 'px'],
  ['min_price_increment_amount', 'px'],
  ['price_ratio', 'px'],
  ['strike_price', 'px'],
  ...defV2Ints,
  ['contract_multiplier', 'i32'],
  ['decay_quantity', 'i32'],
  ['original_contract_size', 'i32'],
  ['trading_reference_date', 'u16'],
  ['appl_id', 'i16'],
  ['maturity_year', 'u16'],
  ['decay_start_date', 'u16'],
  ['channel_id', 'u16'],
  ...defStrings(71, 7),
  ['instrument_class', 'c'],
  ['match_algorithm', 'c'],
  ...defV1V2Tail,
  ['_reserved', 'r10'],
]);

const DEF_V3: Layout = defineLayout('InstrumentDefMsg', 520, [
  ...defPrices,
  ['unit_of_measure_qty', 'px'],
  ['min_price_increment_amount', 'px'],
  ['price_ratio', 'px'],
  ['strike_price', 'px'],
  ['raw_instrument_id', 'u64'],
  ['leg_price', 'px'],
  ['leg_delta', 'px'],
  ['inst_attrib_value', 'i32'],
  ['underlying_id', 'u32'],
  ['market_depth_implied', 'i32'],
  ['market_depth', 'i32'],
  ['market_segment_id', 'u32'],
  ['max_trade_vol', 'u32'],
  ['min_lot_size', 'i32'],
  ['min_lot_size_block', 'i32'],
  ['min_lot_size_round_lot', 'i32'],
  ['min_trade_vol', 'u32'],
  ['contract_multiplier', 'i32'],
  ['decay_quantity', 'i32'],
  ['original_contract_size', 'i32'],
  ['leg_instrument_id', 'u32'],
  ['leg_ratio_price_numerator', 'i32'],
  ['leg_ratio_price_denominator', 'i32'],
  ['leg_ratio_qty_numerator', 'i32'],
  ['leg_ratio_qty_denominator', 'i32'],
  ['leg_underlying_id', 'u32'],
  ['appl_id', 'i16'],
  ['maturity_year', 'u16'],
  ['decay_start_date', 'u16'],
  ['channel_id', 'u16'],
  ['leg_count', 'u16'],
  ['leg_index', 'u16'],
  ...defStrings(71, 11),
  ['leg_raw_symbol', 'c71'],
  ['instrument_class', 'c'],
  ['match_algorithm', 'c'],
  ['main_fraction', 'u8'],
  ['price_display_format', 'u8'],
  ['sub_fraction', 'u8'],
  ['underlying_product', 'u8'],
  ['security_update_action', 'c'],
  ['maturity_month', 'u8'],
  ['maturity_day', 'u8'],
  ['maturity_week', 'u8'],
  ['user_defined_instrument', 'c'],
  ['contract_multiplier_unit', 'i8'],
  ['flow_schedule_type', 'i8'],
  ['tick_rule', 'u8'],
  ['leg_instrument_class', 'c'],
  ['leg_side', 'c'],
  ['_reserved', 'r17'],
]);

const statHead: [string, FieldType][] = [
  ['ts_recv', 'ts'],
  ['ts_ref', 'ts'],
  ['price', 'px'],
];
const statTail: [string, FieldType][] = [
  ['sequence', 'u32'],
  ['ts_in_delta', 'i32'],
  ['stat_type', 'u16'],
  ['channel_id', 'u16'],
  ['update_action', 'u8'],
  ['stat_flags', 'u8'],
];
const STAT_V1: Layout = defineLayout('StatMsgV1', 64, [...statHead, ['quantity', 'i32'], ...statTail, ['_reserved', 'r6']]);
const STAT_V3: Layout = defineLayout('StatMsg', 80, [...statHead, ['quantity', 'i64'], ...statTail, ['_reserved', 'r18']]);

const ERROR_V1: Layout = defineLayout('ErrorMsgV1', 80, [['err', 'c64']]);
const ERROR_V2: Layout = defineLayout('ErrorMsg', 320, [
  ['err', 'c302'],
  ['code', 'u8'],
  ['is_last', 'u8'],
]);
const SYSTEM_V1: Layout = defineLayout('SystemMsgV1', 80, [['msg', 'c64']]);
const SYSTEM_V2: Layout = defineLayout('SystemMsg', 320, [
  ['msg', 'c303'],
  ['code', 'u8'],
]);
const MAPPING_V1: Layout = defineLayout('SymbolMappingMsgV1', 80, [
  ['stype_in_symbol', 'c22'],
  ['stype_out_symbol', 'c22'],
  ['_dummy', 'r4'],
  ['start_ts', 'ts'],
  ['end_ts', 'ts'],
]);
const MAPPING_V2: Layout = defineLayout('SymbolMappingMsg', 176, [
  ['stype_in', 'u8'],
  ['stype_in_symbol', 'c71'],
  ['stype_out', 'u8'],
  ['stype_out_symbol', 'c71'],
  ['start_ts', 'ts'],
  ['end_ts', 'ts'],
]);

/** Layouts by rtype for versions 1, 2, 3 (index 0, 1, 2). */
const VARIABLE: ReadonlyMap<number, readonly [Layout, Layout, Layout]> = new Map<number, [Layout, Layout, Layout]>([
  [RType.InstrumentDef, [DEF_V1, DEF_V2, DEF_V3]],
  [RType.Statistics, [STAT_V1, STAT_V1, STAT_V3]],
  [RType.Error, [ERROR_V1, ERROR_V2, ERROR_V2]],
  [RType.System, [SYSTEM_V1, SYSTEM_V2, SYSTEM_V2]],
  [RType.SymbolMapping, [MAPPING_V1, MAPPING_V2, MAPPING_V2]],
]);

/** The layout of `rtype` in DBN `version`, for a record of `size` bytes (without ts_out); an error text if there is none. */
export function layoutFor(rtype: number, version: number, size: number): Layout | string {
  const layout = FIXED_LAYOUTS.get(rtype) ?? VARIABLE.get(rtype)?.[version - 1];
  if (layout === undefined) return `expected a known record type, found rtype 0x${rtype.toString(16).padStart(2, '0')} (${size} bytes)`;
  // A record may be longer than the layout (a newer writer appended fields); never shorter.
  if (size < layout.size) return `expected a ${layout.name} of at least ${layout.size} bytes (DBN v${version}), found ${size}`;
  return layout;
}

/** The layout written for `rtype` in DBN `version` (encoding). */
export function layoutOf(rtype: number, version: number): Layout | undefined {
  return FIXED_LAYOUTS.get(rtype) ?? VARIABLE.get(rtype)?.[version - 1];
}

const I32_MAX = 2 ** 31 - 1;
const I64_MAX = 2n ** 63n - 1n;

/** Values of v3 fields that older versions do not have. */
const V3_DEFAULTS: Readonly<Record<string, number | bigint | string>> = {
  leg_price: UNDEF_PRICE,
  leg_delta: UNDEF_PRICE,
  leg_instrument_id: 0,
  leg_ratio_price_numerator: 0,
  leg_ratio_price_denominator: 0,
  leg_ratio_qty_numerator: 0,
  leg_ratio_qty_denominator: 0,
  leg_underlying_id: 0,
  leg_count: 0,
  leg_index: 0,
  leg_raw_symbol: '',
  leg_instrument_class: '',
  leg_side: 'N',
};

/** A v1/v2 record in the v3 shape (fields by name; new ones get their defaults; widened ones keep their meaning). */
export function upgradeRecord(r: DbnRecord, rtype: number, from: number): DbnRecord {
  const variants = VARIABLE.get(rtype);
  if (variants === undefined) return r;
  const old = variants[from - 1];
  const target = variants[2];
  if (old === target) return r;
  const out: DbnRecord = {};
  for (const f of target.fields) {
    if (f.type.startsWith('r')) continue;
    const v = r[f.name];
    if (v === undefined) {
      out[f.name] =
        V3_DEFAULTS[f.name] ??
        (f.type === 'u64' || f.type === 'i64' || f.type === 'ts' || f.type === 'px' ? 0n : f.type.startsWith('c') ? '' : 0);
    } else if (f.type === 'u64' && typeof v === 'number') {
      out[f.name] = BigInt(v); // raw_instrument_id u32 → u64
    } else if (rtype === RType.Statistics && f.name === 'quantity') {
      out[f.name] = v === I32_MAX ? I64_MAX : BigInt(v); // the "no quantity" sentinel widens too
    } else {
      out[f.name] = v;
    }
  }
  // v1 symbol mappings carry no stype_in/stype_out: they stay 0 here.
  out['length'] = (target.size + (r['ts_out'] === undefined ? 0 : 8)) / 4;
  if (r['ts_out'] !== undefined) out['ts_out'] = r['ts_out'];
  return out;
}
