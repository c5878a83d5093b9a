import { MdcapError } from '@mdcap/core';
import { RType, UNDEF_PRICE, UNDEF_TIMESTAMP } from '@mdcap/dbn';
import type { DbnRecord } from '@mdcap/dbn';
import type { SbeCodec, SbeRecord } from '@mdcap/mdp3';
import { BOOK_DEPTH } from './model.js';
import type { Aggressor, BookSide, ChannelState, Entry, Level, OrderEntry, StatusEntry } from './model.js';

/**
 * Databento GLBX.MDP3 records read back into what CME sent: prices divided by the display
 * factor again, statuses and sides in MDP3's enums, MBO actions as order entries, MBP-10 levels
 * as level books. Every conversion is exact or refused with the record named.
 */

/** The DBN record kinds the exchange replays on its incremental feed. */
export type DbnSourceKind = 'status' | 'trades' | 'mbo' | 'mbp10';

/** One DBN record an incremental packet came from: its kind and index among the inputs of that kind. */
export interface DbnSource {
  readonly kind: DbnSourceKind;
  readonly index: number;
  readonly record: DbnRecord;
}

/** An instrument of the channel, from its DBN definition. */
export interface Mdp3Instrument {
  /** CME's SecurityID: Databento's instrument_id for GLBX.MDP3. */
  readonly securityId: number;
  readonly symbol: string;
  readonly group: string;
  readonly asset: string;
  /** The display factor as a mantissa at 1e-9 (Databento's display_factor: ES 10000000 = 0.01). */
  readonly displayFactor: bigint;
  /** The channel (MDP3 ApplID). */
  readonly applId: number;
  readonly definition: DbnRecord;
}

const E9 = 1_000_000_000n;
const INT32_MAX = 2 ** 31 - 1;

/** Databento's i32 "unset" (i32::MAX) and u8/i8 ones, which MDP3 writes as its null sentinels. */
const I32_UNSET = INT32_MAX;

function bad(what: string): never {
  throw new MdcapError('MDCAP_ERR_IMPORT_FORMAT', what);
}

/** A record the book before it contradicts (MDP3 could carry it, but no client could apply it). */
function contradicts(what: string): never {
  throw new MdcapError('MDCAP_ERR_INVALID_EVENT', what);
}

/** `r[field]` as a bigint (DBN prices, timestamps, ids). */
export function big(r: DbnRecord, field: string): bigint {
  const v = r[field];
  if (typeof v !== 'bigint') bad(`DBN ${String(r['rtype'])} record: expected ${field} a 64-bit integer, found ${typeof v}`);
  return v;
}

/** `r[field]` as a number (DBN sizes, counts, enums). */
export function num(r: DbnRecord, field: string): number {
  const v = r[field];
  if (typeof v !== 'number') bad(`DBN ${String(r['rtype'])} record: expected ${field} a number, found ${typeof v}`);
  return v;
}

export function str(r: DbnRecord, field: string): string {
  const v = r[field];
  if (typeof v !== 'string') bad(`DBN ${String(r['rtype'])} record: expected ${field} text, found ${typeof v}`);
  return v;
}

/** A DBN count as MDP3's Int32 (sizes, order counts), refused past its range. */
export function int32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > INT32_MAX) bad(`${what}: expected an integer from 0 to ${INT32_MAX} (MDP3 Int32), found ${v}`);
  return v;
}

/**
 * A Databento price (1e-9, display factor applied) as a PRICE9 mantissa (1e-9 of CME's price,
 * before the display factor): `price × 10^9 / display_factor`. ES 3702.25 with factor 0.01 is
 * CME's 370225, mantissa 370225 × 10^9. Never rounded.
 * @throws {MdcapError} `MDCAP_ERR_DECIMAL_PRECISION` when the division is not exact.
 */
export function wirePrice(price: bigint, displayFactor: bigint, what: string): bigint {
  if (price === UNDEF_PRICE) bad(`${what}: expected a price, found none (UNDEF_PRICE)`);
  const scaled = price * E9;
  if (scaled % displayFactor !== 0n) {
    throw new MdcapError(
      'MDCAP_ERR_DECIMAL_PRECISION',
      `${what}: expected a price that is a whole number of PRICE9 units once divided by the display factor ${displayFactor} (1e-9), found ${price} (1e-9)`,
    );
  }
  return scaled / displayFactor;
}

/** A Databento price field as a nullable PRICE9 mantissa (UNDEF_PRICE is null). */
function wirePriceOrNull(r: DbnRecord, field: string, inst: Mdp3Instrument): bigint | null {
  const p = big(r, field);
  return p === UNDEF_PRICE ? null : wirePrice(p, inst.displayFactor, `${inst.symbol} definition ${field}`);
}

/** The definition's price limits and banding, as the definition and the snapshot carry them. */
export function priceLimits(inst: Mdp3Instrument): SbeRecord {
  const r = inst.definition;
  return {
    HighLimitPrice: wirePriceOrNull(r, 'high_limit_price', inst),
    LowLimitPrice: wirePriceOrNull(r, 'low_limit_price', inst),
    MaxPriceVariation: wirePriceOrNull(r, 'max_price_variation', inst),
  };
}

/** The instrument a definition record describes. */
export function instrumentOf(r: DbnRecord, where: string): Mdp3Instrument {
  if (r['rtype'] !== RType.InstrumentDef)
    bad(`${where}: expected an instrument definition (rtype 0x13), found rtype ${String(r['rtype'])}`);
  const securityId = num(r, 'instrument_id');
  if (securityId > INT32_MAX) bad(`${where}: expected an instrument_id that fits MDP3's Int32 SecurityID, found ${securityId}`);
  const cls = str(r, 'instrument_class');
  // Only outright futures: options and spreads have their own definition templates (55, 56).
  if (cls !== 'F') bad(`${where}: expected a future (instrument_class F, MDInstrumentDefinitionFuture54), found instrument_class ${cls}`);
  const displayFactor = big(r, 'display_factor');
  if (displayFactor <= 0n) bad(`${where}: expected a positive display_factor, found ${displayFactor}`);
  return {
    securityId,
    symbol: str(r, 'raw_symbol'),
    group: str(r, 'group'),
    asset: str(r, 'asset'),
    displayFactor,
    applId: num(r, 'appl_id'),
    definition: r,
  };
}

/** The MDP3 value of a Databento integer whose "unset" is `unset`. */
function orNull(v: number, unset: number): number | null {
  return v === unset ? null : v;
}

/**
 * MDInstrumentDefinitionFuture54's fields for `inst`.
 * @param totNumReports Instruments in the definition loop.
 * @param status The instrument's SecurityTradingStatus now (null: none seen).
 */
export function definitionFields(codec: SbeCodec, inst: Mdp3Instrument, totNumReports: number, status: string | null): SbeRecord {
  const r = inst.definition;
  const events: SbeRecord[] = [];
  // EventType 5 and 7: when the instrument starts and stops trading.
  for (const [type, field] of [
    ['Activation', 'activation'],
    ['LastEligibleTradeDate', 'expiration'],
  ] as const) {
    const t = big(r, field);
    if (t !== UNDEF_TIMESTAMP) events.push({ EventType: type, EventTime: t });
  }
  const feeds: SbeRecord[] = [{ MDFeedType: 'GBX', MarketDepth: num(r, 'market_depth') }];
  const implied = num(r, 'market_depth_implied');
  if (implied > 0) feeds.push({ MDFeedType: 'GBI', MarketDepth: implied });
  const lots: SbeRecord[] = [];
  // LotType 2 (round lot) and 3 (block lot), MinLotSize a DecimalQty (1e-4).
  for (const [type, field] of [
    [2, 'min_lot_size_round_lot'],
    [3, 'min_lot_size_block'],
  ] as const) {
    const n = num(r, field);
    if (n > 0 && n !== I32_UNSET) lots.push({ LotType: type, MinLotSize: BigInt(n) * 10_000n });
  }
  const uomQty = big(r, 'unit_of_measure_qty');
  const maturity = (field: string, unset: number): number | null => orNull(num(r, field), unset);
  return {
    MatchEventIndicator: ['EndOfEvent'],
    TotNumReports: totNumReports,
    SecurityUpdateAction: enumName(
      codec,
      'SecurityUpdateAction',
      str(r, 'security_update_action'),
      `${inst.symbol} definition security_update_action`,
    ),
    LastUpdateTime: big(r, 'ts_event'),
    MDSecurityTradingStatus: status,
    ApplID: inst.applId,
    MarketSegmentID: num(r, 'market_segment_id'),
    UnderlyingProduct: num(r, 'underlying_product'),
    SecurityExchange: str(r, 'exchange'),
    SecurityGroup: inst.group,
    Asset: inst.asset,
    Symbol: inst.symbol,
    SecurityID: inst.securityId,
    SecurityType: str(r, 'security_type'),
    CFICode: str(r, 'cfi'),
    MaturityMonthYear: {
      year: maturity('maturity_year', 0xffff),
      month: maturity('maturity_month', 0xff),
      day: maturity('maturity_day', 0xff),
      week: maturity('maturity_week', 0xff),
    },
    Currency: str(r, 'currency'),
    SettlCurrency: str(r, 'settl_currency'),
    MatchAlgorithm: str(r, 'match_algorithm'),
    MinTradeVol: num(r, 'min_trade_vol'),
    MaxTradeVol: num(r, 'max_trade_vol'),
    MinPriceIncrement: wirePrice(big(r, 'min_price_increment'), inst.displayFactor, `${inst.symbol} definition min_price_increment`),
    DisplayFactor: inst.displayFactor,
    MainFraction: orNull(num(r, 'main_fraction'), 0xff),
    SubFraction: orNull(num(r, 'sub_fraction'), 0xff),
    PriceDisplayFormat: orNull(num(r, 'price_display_format'), 0xff),
    UnitOfMeasure: str(r, 'unit_of_measure'),
    // A quantity, which Databento leaves as CME sent it (ES: 50).
    UnitOfMeasureQty: uomQty === UNDEF_PRICE ? null : uomQty,
    TradingReferencePrice: null, // DBN v3 definitions do not carry it (statistics records do)
    SettlPriceType: [],
    OpenInterestQty: null,
    ClearedVolume: null,
    ...priceLimits(inst),
    DecayQuantity: orNull(num(r, 'decay_quantity'), I32_UNSET),
    DecayStartDate: orNull(num(r, 'decay_start_date'), 0xffff),
    OriginalContractSize: orNull(num(r, 'original_contract_size'), I32_UNSET),
    ContractMultiplier: orNull(num(r, 'contract_multiplier'), I32_UNSET),
    ContractMultiplierUnit: orNull(num(r, 'contract_multiplier_unit'), 127),
    FlowScheduleType: orNull(num(r, 'flow_schedule_type'), 127),
    // A PRICENULL9 like the prices, so Databento applied the display factor to it too (ES: 0.125 for CME's 12.5).
    MinPriceIncrementAmount: wirePriceOrNull(r, 'min_price_increment_amount', inst),
    UserDefinedInstrument: str(r, 'user_defined_instrument'),
    TradingReferenceDate: null,
    NoEvents: events,
    NoMDFeedTypes: feeds,
    NoInstAttrib: [{ InstAttribValue: instAttribNames(codec, num(r, 'inst_attrib_value'), inst.symbol) }],
    NoLotTypeRules: lots,
  };
}

/** The schema's name of enum `type`'s raw value `raw` (Databento keeps CME's raw chars: `A` is Add). */
function enumName(codec: SbeCodec, type: string, raw: string, what: string): string {
  const e = codec.schema.types.get(type);
  if (e?.kind !== 'enum') bad(`${codec.schema.file}: expected an enum type ${type}, found ${e?.kind ?? 'none'}`);
  const name = e.names.get(raw);
  if (name === undefined) bad(`${what}: expected one of ${[...e.names.keys()].join(', ')}, found ${JSON.stringify(raw)}`);
  return name;
}

/** The set bits of `value` as the schema's InstAttribValue choice names. */
function instAttribNames(codec: SbeCodec, value: number, symbol: string): string[] {
  const set = codec.schema.types.get('InstAttribValue');
  if (set?.kind !== 'set') bad(`${codec.schema.file}: expected a set type InstAttribValue, found ${set?.kind ?? 'none'}`);
  const names: string[] = [];
  let rest = value >>> 0;
  for (const c of set.choices) {
    if ((rest >>> c.bit) & 1) {
      names.push(c.name);
      rest &= ~(1 << c.bit);
    }
  }
  if (rest !== 0)
    bad(`${symbol} definition inst_attrib_value: expected bits the schema names, found ${value} (unnamed bits ${rest >>> 0})`);
  return names;
}

/** Databento StatusAction → SecurityTradingStatus: the CME statuses Databento maps from, and only those. */
const STATUS: Readonly<Record<number, string>> = {
  0: 'NoChange',
  1: 'PreOpen',
  2: 'PreCross',
  4: 'Cross',
  6: 'NewPriceIndication',
  7: 'ReadyToTrade',
  8: 'TradingHalt',
  12: 'Close',
  13: 'PostClose',
  15: 'NotAvailableForTrading',
};
/** Databento StatusReason → HaltReason (0, no reason, is CME's Unknown). */
const REASON: Readonly<Record<number, string>> = {
  0: 'Unknown',
  1: 'GroupSchedule',
  2: 'SurveillanceIntervention',
  3: 'MarketEvent',
  4: 'InstrumentActivation',
  5: 'InstrumentExpiration',
  6: 'RecoveryInProcess',
};
/** Databento TradingEvent → SecurityTradingEvent (a session change is CME's statistics reset). */
const EVENT: Readonly<Record<number, string>> = {
  0: 'NoEvent',
  1: 'NoCancel',
  2: 'ResetStatistics',
  3: 'ImpliedMatchingON',
  4: 'ImpliedMatchingOFF',
};

function lookup(table: Readonly<Record<number, string>>, v: number, what: string): string {
  const name = table[v];
  if (name === undefined) bad(`${what}: expected one of ${Object.keys(table).join(', ')} (those MDP3 has a value for), found ${v}`);
  return name;
}

/** A status record as a SecurityStatus30 entry. */
export function statusEntry(r: DbnRecord, where: string): StatusEntry {
  return {
    kind: 'status',
    securityId: num(r, 'instrument_id'),
    status: lookup(STATUS, num(r, 'action'), `${where} action`),
    haltReason: lookup(REASON, num(r, 'reason'), `${where} reason`),
    event: lookup(EVENT, num(r, 'trading_event'), `${where} trading_event`),
  };
}

/** A trade record's side as MDP3's AggressorSide (Databento's side of a trade is the aggressor's). */
export function aggressorOf(side: string, where: string): Aggressor {
  if (side === 'B') return 'Buy';
  if (side === 'A') return 'Sell';
  if (side === 'N') return 'NoAggressor';
  return bad(`${where} side: expected A, B or N, found ${JSON.stringify(side)}`);
}

function bookSide(side: string, where: string): BookSide {
  if (side === 'B') return 'Bid';
  if (side === 'A') return 'Offer';
  return bad(`${where} side: expected A (offer) or B (bid) for an order, found ${JSON.stringify(side)}`);
}

/**
 * The levels of one side of an MBP-10 record, best first, as PRICE9: levels stop at the first
 * undefined price, and a defined price after it is refused (the book would have a hole).
 */
export function mbpLevels(r: DbnRecord, side: BookSide, inst: Mdp3Instrument, where: string): Level[] {
  const p = side === 'Bid' ? 'bid' : 'ask';
  const out: Level[] = [];
  for (let i = 0; i < BOOK_DEPTH; i++) {
    const n = String(i).padStart(2, '0');
    const px = big(r, `${p}_px_${n}`);
    if (px === UNDEF_PRICE) {
      for (let j = i + 1; j < BOOK_DEPTH; j++) {
        if (big(r, `${p}_px_${String(j).padStart(2, '0')}`) !== UNDEF_PRICE)
          bad(`${where}: expected no ${p} level after the empty level ${i}, found ${p}_px_${String(j).padStart(2, '0')}`);
      }
      break;
    }
    out.push({
      price: wirePrice(px, inst.displayFactor, `${where} ${p}_px_${n}`),
      size: int32(num(r, `${p}_sz_${n}`), `${where} ${p}_sz_${n}`),
      orders: int32(num(r, `${p}_ct_${n}`), `${where} ${p}_ct_${n}`),
    });
  }
  return out;
}

/**
 * The MDIncrementalRefreshOrderBook47 entries of one MBO record, applied to `model`, following
 * Databento's MBO semantics: A adds; C cancels `size` (the rest stays, a Change; all of it, a
 * Delete); M modifies price and size (an order not resting is added, as Databento's own book
 * does); R clears the instrument's orders; T, F and N leave the book alone (the C or M that
 * follows a fill changes it).
 *
 * MDOrderPriority is not in DBN: the channel's arrival counter stands in, and an order keeps it
 * unless CME's rules take it away (a new price, or a larger quantity).
 */
export function mboEntries(model: ChannelState, r: DbnRecord, inst: Mdp3Instrument, where: string, time: bigint): Entry[] {
  const securityId = inst.securityId;
  const state = model.instrument(securityId);
  const action = str(r, 'action');
  if (action === 'R') {
    return [...state.orders.values()].map((o) => model.add<OrderEntry>({ kind: 'order', securityId, action: 'Delete', ...o }, time));
  }
  if (action === 'T' || action === 'F' || action === 'N') return [];
  const orderId = big(r, 'order_id');
  const had = state.orders.get(orderId);
  const size = int32(num(r, 'size'), `${where} size`);
  const order = (e: Omit<OrderEntry, 'kind' | 'securityId' | 'orderId'>): OrderEntry[] => [
    model.add<OrderEntry>({ kind: 'order', securityId, orderId, ...e }, time),
  ];
  if (action === 'C') {
    if (had === undefined) return contradicts(`${where}: expected a cancel of a resting order, found order ${orderId} not in the book`);
    if (size >= had.qty) return order({ ...had, action: 'Delete' });
    return order({ ...had, action: 'Change', qty: had.qty - size });
  }
  if (action !== 'A' && action !== 'M') return bad(`${where} action: expected A, C, M, R, T, F or N, found ${JSON.stringify(action)}`);
  const side = bookSide(str(r, 'side'), where);
  const price = wirePrice(big(r, 'price'), inst.displayFactor, `${where} price`);
  if (action === 'A' || had === undefined) {
    if (had !== undefined) contradicts(`${where}: expected a new order id, found order ${orderId} already resting`);
    return order({ action: 'New', side, price, qty: size, priority: model.nextPriority() });
  }
  if (had.side !== side) contradicts(`${where}: expected order ${orderId} to stay on the ${had.side} side, found side ${str(r, 'side')}`);
  const keeps = price === had.price && size <= had.qty;
  return order({ action: 'Change', side, price, qty: size, priority: keeps ? had.priority : model.nextPriority() });
}
