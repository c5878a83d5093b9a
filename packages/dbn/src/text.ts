import { formatDecimal, nsToIso } from '@mdcap/core';
import { DBN_PRICE_SCALE, RType, UNDEF_PRICE, UNDEF_TIMESTAMP } from './constants.js';
import type { FieldType, Layout } from './layouts.js';
import type { DbnMetadata } from './metadata.js';
import type { DbnRecord } from './records.js';
import { layoutOf } from './versions.js';

/**
 * DBN records as text, in the encodings of Databento's own tools (the `dbn` CLI and client
 * libraries), so their output and mdcap's can be diffed: CSV with a header line and JSON lines
 * with the header nested under `"hd"`, the same column order, 64-bit integers as JSON strings,
 * and in "pretty" mode prices with 9 decimals and timestamps as RFC 3339 (absent values empty
 * in CSV, null in JSON). Records are rendered in the shapes of their DBN version (v3 unless told).
 */

export interface TextOptions {
  /** Prices with 9 decimals, timestamps as RFC 3339 (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`). */
  readonly pretty?: boolean;
  /**
   * The DBN version of the records' shapes (default 3): records read with `upgrade: false` from
   * a v1 or v2 file are rendered in that version's shapes, as Databento's `dbn` tool prints
   * them without `--upgrade`.
   */
  readonly version?: number;
  /** Adds a trailing `symbol` (the raw symbol of the record's instrument at its time). */
  readonly symbols?: SymbolMap | null;
}

const HD = ['ts_event', 'rtype', 'publisher_id', 'instrument_id'];
const LEVEL = ['bid_px', 'ask_px', 'bid_sz', 'ask_sz', 'bid_ct', 'ask_ct'];
const CONSOLIDATED_LEVEL = ['bid_px', 'ask_px', 'bid_sz', 'ask_sz', 'bid_pb', 'ask_pb'];
const TRADE = ['action', 'side', 'depth', 'price', 'size', 'flags', 'ts_in_delta', 'sequence'];

interface TextShape {
  /** Fields after the header, in Databento's order (book levels apart). */
  readonly fields: readonly string[];
  /** Book levels: how many and which fields each has. */
  readonly levels: number;
  readonly level: readonly string[];
}

const shape = (fields: readonly string[], levels = 0, level: readonly string[] = LEVEL): TextShape => ({ fields, levels, level });

const DEFINITION = [
  'raw_symbol',
  'security_update_action',
  'instrument_class',
  'min_price_increment',
  'display_factor',
  'expiration',
  'activation',
  'high_limit_price',
  'low_limit_price',
  'max_price_variation',
  'unit_of_measure_qty',
  'min_price_increment_amount',
  'price_ratio',
  'inst_attrib_value',
  'underlying_id',
  'raw_instrument_id',
  'market_depth_implied',
  'market_depth',
  'market_segment_id',
  'max_trade_vol',
  'min_lot_size',
  'min_lot_size_block',
  'min_lot_size_round_lot',
  'min_trade_vol',
  'contract_multiplier',
  'decay_quantity',
  'original_contract_size',
  'appl_id',
  'maturity_year',
  'decay_start_date',
  'channel_id',
  'currency',
  'settl_currency',
  'secsubtype',
  'group',
  'exchange',
  'asset',
  'cfi',
  'security_type',
  'unit_of_measure',
  'underlying',
  'strike_price_currency',
  'strike_price',
  'match_algorithm',
  'main_fraction',
  'price_display_format',
  'sub_fraction',
  'underlying_product',
  'maturity_month',
  'maturity_day',
  'maturity_week',
  'user_defined_instrument',
  'contract_multiplier_unit',
  'flow_schedule_type',
  'tick_rule',
  'leg_count',
  'leg_index',
  'leg_instrument_id',
  'leg_raw_symbol',
  'leg_instrument_class',
  'leg_side',
  'leg_price',
  'leg_delta',
  'leg_ratio_price_numerator',
  'leg_ratio_price_denominator',
  'leg_ratio_qty_numerator',
  'leg_ratio_qty_denominator',
  'leg_underlying_id',
];

/**
 * v1/v2 definitions as written (not upgraded): no leg fields, and the four fields v3 dropped,
 * where Databento's encoding order puts them (`InstrumentDefMsgV1/V2` in `compat.rs`).
 */
const V1_V2_AFTER: Readonly<Record<string, readonly string[]>> = {
  max_price_variation: ['trading_reference_price'],
  original_contract_size: ['trading_reference_date'],
  match_algorithm: ['md_security_trading_status'],
  price_display_format: ['settl_price_type'],
};
const DEFINITION_V1_V2 = DEFINITION.filter((f) => !f.startsWith('leg_')).flatMap((f) => [f, ...(V1_V2_AFTER[f] ?? [])]);

const SHAPES: ReadonlyMap<number, TextShape> = new Map<number, TextShape>([
  [RType.Mbo, shape(['action', 'side', 'price', 'size', 'channel_id', 'order_id', 'flags', 'ts_in_delta', 'sequence'])],
  [RType.Mbp0, shape(TRADE)],
  [RType.Mbp1, shape(TRADE, 1)],
  [RType.Mbp10, shape(TRADE, 10)],
  [RType.Bbo1S, shape(['side', 'price', 'size', 'flags', 'sequence'], 1)],
  [RType.Bbo1M, shape(['side', 'price', 'size', 'flags', 'sequence'], 1)],
  [RType.Cmbp1, shape(['action', 'side', 'price', 'size', 'flags', 'ts_in_delta'], 1, CONSOLIDATED_LEVEL)],
  [RType.Tcbbo, shape(['action', 'side', 'price', 'size', 'flags', 'ts_in_delta'], 1, CONSOLIDATED_LEVEL)],
  [RType.Cbbo1S, shape(['side', 'price', 'size', 'flags'], 1, CONSOLIDATED_LEVEL)],
  [RType.Cbbo1M, shape(['side', 'price', 'size', 'flags'], 1, CONSOLIDATED_LEVEL)],
  ...[RType.OhlcvDeprecated, RType.Ohlcv1S, RType.Ohlcv1M, RType.Ohlcv1H, RType.Ohlcv1D, RType.OhlcvEod].map((t): [number, TextShape] => [
    t,
    shape(['open', 'high', 'low', 'close', 'volume']),
  ]),
  [RType.Status, shape(['action', 'reason', 'trading_event', 'is_trading', 'is_quoting', 'is_short_sell_restricted'])],
  [
    RType.Imbalance,
    shape([
      'ref_price',
      'auction_time',
      'cont_book_clr_price',
      'auct_interest_clr_price',
      'ssr_filling_price',
      'ind_match_price',
      'upper_collar',
      'lower_collar',
      'paired_qty',
      'total_imbalance_qty',
      'market_imbalance_qty',
      'unpaired_qty',
      'auction_type',
      'side',
      'auction_status',
      'freeze_status',
      'num_extensions',
      'unpaired_side',
      'significant_imbalance',
    ]),
  ],
  [
    RType.Statistics,
    shape(['ts_ref', 'price', 'quantity', 'sequence', 'ts_in_delta', 'stat_type', 'channel_id', 'update_action', 'stat_flags']),
  ],
  [RType.InstrumentDef, shape(DEFINITION)],
  [RType.Error, shape(['err', 'code', 'is_last'])],
  [RType.System, shape(['msg', 'code'])],
  [RType.SymbolMapping, shape(['stype_in', 'stype_in_symbol', 'stype_out', 'stype_out_symbol', 'start_ts', 'end_ts'])],
]);

/** Shapes of the records whose fields differ in DBN v1 and v2 (as written, not upgraded), by version. */
const OLD_SHAPES: readonly ReadonlyMap<number, TextShape>[] = [
  new Map([
    [RType.InstrumentDef, shape(DEFINITION_V1_V2)],
    [RType.Error, shape(['err'])],
    [RType.System, shape(['msg'])],
    [RType.SymbolMapping, shape(['stype_in_symbol', 'stype_out_symbol', 'start_ts', 'end_ts'])],
  ]),
  new Map([[RType.InstrumentDef, shape(DEFINITION_V1_V2)]]),
];

function shapeOf(rtype: number, version: number): TextShape | undefined {
  return OLD_SHAPES[version - 1]?.get(rtype) ?? SHAPES.get(rtype);
}

/** Field types of the layouts of DBN `version`, by rtype (a v1/v2 statistic's quantity is an i32, for one). */
function typesOf(rtype: number, version: number): Map<string, FieldType> {
  const layout: Layout | undefined = layoutOf(rtype, version);
  const types = new Map<string, FieldType>();
  for (const f of layout?.fields ?? []) types.set(f.name, f.type);
  return types;
}

const TYPES = new Map<number, Map<string, FieldType>>();
function typeOf(rtype: number, field: string, version: number): FieldType | undefined {
  const key = version * 256 + rtype;
  let t = TYPES.get(key);
  if (t === undefined) TYPES.set(key, (t = typesOf(rtype, version)));
  return t.get(field.replace(/_\d\d$/, '_00')) ?? (field === 'ts_out' ? 'ts' : undefined);
}

/**
 * The columns of `rtype` in Databento's order (levels flattened as `bid_px_00`…), plus
 * `ts_out`/`symbol` when asked; in the shape of DBN `version` (default 3).
 */
export function csvColumns(rtype: number, tsOut = false, symbol = false, version = 3): string[] {
  const s = shapeOf(rtype, version);
  if (s === undefined) return [];
  const hasRecv = typeOf(rtype, 'ts_recv', version) !== undefined;
  const cols = [...(hasRecv ? ['ts_recv'] : []), ...HD, ...s.fields];
  for (let i = 0; i < s.levels; i++) for (const f of s.level) cols.push(`${f}_${String(i).padStart(2, '0')}`);
  if (tsOut) cols.push('ts_out');
  if (symbol) cols.push('symbol');
  return cols;
}

function csvCell(v: number | bigint | string | undefined, type: FieldType | undefined, pretty: boolean): string {
  if (v === undefined) return '';
  if (pretty && type === 'px') return v === UNDEF_PRICE ? '' : formatDecimal(v as bigint, DBN_PRICE_SCALE);
  if (pretty && type === 'ts') return v === UNDEF_TIMESTAMP || v === 0n ? '' : nsToIso(v as bigint);
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (no newline) of `r` for the columns `cols`. */
export function toCsv(r: DbnRecord, cols: readonly string[], options: TextOptions = {}): string {
  const rtype = r['rtype'] as number;
  const pretty = options.pretty === true;
  const version = options.version ?? 3;
  return cols
    .map((c) =>
      c === 'symbol' ? csvCell(options.symbols?.symbolOf(r) ?? '', undefined, false) : csvCell(r[c], typeOf(rtype, c, version), pretty),
    )
    .join(',');
}

function jsonValue(v: number | bigint | string | undefined, type: FieldType | undefined, pretty: boolean): string {
  if (v === undefined) return 'null';
  if (type === 'px')
    return pretty && v === UNDEF_PRICE ? 'null' : JSON.stringify(pretty ? formatDecimal(v as bigint, DBN_PRICE_SCALE) : String(v));
  if (type === 'ts')
    return pretty && (v === UNDEF_TIMESTAMP || v === 0n) ? 'null' : JSON.stringify(pretty ? nsToIso(v as bigint) : String(v));
  if (typeof v === 'bigint') return JSON.stringify(String(v));
  if (type === 'c') return v === '' ? 'null' : JSON.stringify(v);
  return JSON.stringify(v);
}

/** One JSON object (a line, no newline) of `r`, as Databento's JSON encoder writes it. */
export function toJson(r: DbnRecord, options: TextOptions = {}): string {
  const rtype = r['rtype'] as number;
  const version = options.version ?? 3;
  const s = shapeOf(rtype, version);
  const pretty = options.pretty === true;
  const parts: string[] = [];
  const field = (name: string, key = name): string => `${JSON.stringify(name)}:${jsonValue(r[key], typeOf(rtype, key, version), pretty)}`;
  if (typeOf(rtype, 'ts_recv', version) !== undefined) parts.push(field('ts_recv'));
  parts.push(`"hd":{${HD.map((h) => field(h)).join(',')}}`);
  for (const f of s?.fields ?? []) parts.push(field(f));
  if (s !== undefined && s.levels > 0) {
    const levels: string[] = [];
    for (let i = 0; i < s.levels; i++) {
      const k = String(i).padStart(2, '0');
      levels.push(`{${s.level.map((f) => field(f, `${f}_${k}`)).join(',')}}`);
    }
    parts.push(`"levels":[${levels.join(',')}]`);
  }
  if (r['ts_out'] !== undefined) parts.push(field('ts_out'));
  if (options.symbols !== undefined && options.symbols !== null)
    parts.push(`"symbol":${JSON.stringify(options.symbols.symbolOf(r) ?? null)}`);
  return `{${parts.join(',')}}`;
}

const ymd = (d: number): string =>
  `${Math.floor(d / 10000)}-${String(Math.floor(d / 100) % 100).padStart(2, '0')}-${String(d % 100).padStart(2, '0')}`;

/** The metadata as Databento's JSON encoder writes it (`dbn FILE --json --metadata`). */
export function metadataJson(m: DbnMetadata, options: TextOptions = {}): string {
  const pretty = options.pretty === true;
  const ts = (v: bigint | null): string => (v === null ? 'null' : jsonValue(v, 'ts', pretty));
  const date = (d: number): string => (pretty ? JSON.stringify(ymd(d)) : String(d));
  const list = (l: readonly string[]): string => `[${l.map((s) => JSON.stringify(s)).join(',')}]`;
  const mappings = m.mappings.map(
    (mp) =>
      `{"raw_symbol":${JSON.stringify(mp.rawSymbol)},"intervals":[${mp.intervals
        .map((iv) => `{"start_date":${date(iv.startDate)},"end_date":${date(iv.endDate)},"symbol":${JSON.stringify(iv.symbol)}}`)
        .join(',')}]}`,
  );
  return (
    `{"version":${m.version},"dataset":${JSON.stringify(m.dataset)},"schema":${m.schema === null ? 'null' : JSON.stringify(m.schema)},` +
    `"start":${ts(m.start)},"end":${ts(m.end)},"limit":${m.limit === 0n ? 'null' : JSON.stringify(String(m.limit))},` +
    `"stype_in":${m.stypeIn === null ? 'null' : JSON.stringify(m.stypeIn)},"stype_out":${JSON.stringify(m.stypeOut)},"ts_out":${m.tsOut},` +
    `"symbol_cstr_len":${m.symbolCstrLen},"symbols":${list(m.symbols)},"partial":${list(m.partial)},"not_found":${list(m.notFound)},` +
    `"mappings":[${mappings.join(',')}]}`
  );
}

/**
 * Instrument id → raw symbol over time, from the metadata's mappings (historical files) and
 * from symbol-mapping records (live streams). A record's time is its `ts_recv`, else `ts_event`.
 */
export class SymbolMap {
  /** instrument id → [start ns, end ns, symbol][] */
  private readonly byId = new Map<number, [bigint, bigint, string][]>();

  static fromMetadata(m: DbnMetadata | null): SymbolMap {
    const map = new SymbolMap();
    if (m === null) return map;
    const day = (d: number): bigint => BigInt(Date.UTC(Math.floor(d / 10000), (Math.floor(d / 100) % 100) - 1, d % 100)) * 1_000_000n;
    const byInstrumentId = m.stypeOut === 'instrument_id';
    for (const mp of m.mappings) {
      for (const iv of mp.intervals) {
        // stype_out instrument_id: raw symbol → id; otherwise the raw symbols are ids.
        const id = Number(byInstrumentId ? iv.symbol : mp.rawSymbol);
        const symbol = byInstrumentId ? mp.rawSymbol : iv.symbol;
        if (Number.isInteger(id)) map.add(id, day(iv.startDate), day(iv.endDate), symbol);
      }
    }
    return map;
  }

  /** Symbol → instrument id, over every mapping known. */
  idsBySymbol(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, list] of this.byId) for (const [, , symbol] of list) out.set(symbol, id);
    return out;
  }

  /** Adds every mapping of `other`. */
  merge(other: SymbolMap): void {
    for (const [id, list] of other.byId) for (const [start, end, symbol] of list) this.add(id, start, end, symbol);
  }

  add(id: number, start: bigint, end: bigint, symbol: string): void {
    this.lastId = -1;
    const list = this.byId.get(id) ?? [];
    list.push([start, end, symbol]);
    this.byId.set(id, list);
  }

  /** Learns from a symbol-mapping record (live); returns true if `r` was one. */
  learn(r: DbnRecord): boolean {
    if (r['rtype'] !== RType.SymbolMapping) return false;
    // A live gateway sends undefined start and end: the mapping holds from now on.
    const start = r['start_ts'] as bigint;
    const end = r['end_ts'] as bigint;
    this.add(
      r['instrument_id'] as number,
      start === UNDEF_TIMESTAMP ? 0n : start,
      end === UNDEF_TIMESTAMP ? 2n ** 64n : end,
      r['stype_out_symbol'] as string,
    );
    return true;
  }

  // The last answer: records come in runs of one instrument within one mapping interval.
  private lastId = -1;
  private lastStart = 0n;
  private lastEnd = 0n;
  private lastSymbol = '';

  symbolOf(r: DbnRecord): string | null {
    const id = r['instrument_id'] as number;
    const t = (r['ts_recv'] ?? r['ts_event']) as bigint;
    if (id === this.lastId && t >= this.lastStart && t < this.lastEnd) return this.lastSymbol;
    const list = this.byId.get(id);
    if (list === undefined) return null;
    for (const [start, end, symbol] of list) {
      if (t >= start && t < end) {
        this.lastId = id;
        this.lastStart = start;
        this.lastEnd = end;
        this.lastSymbol = symbol;
        return symbol;
      }
    }
    return null;
  }
}
