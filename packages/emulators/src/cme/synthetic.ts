import { MdcapError } from '@mdcap/core';
import { RType } from '@mdcap/dbn';
import type { DbnRecord } from '@mdcap/dbn';
import { BOOK_DEPTH } from './model.js';
import type { BookSide, ChannelState, Entry, Level, OrderEntry } from './model.js';

/**
 * Volume for benchmarks: a deterministic random walk of CME-like futures books. Every number
 * comes from a seeded small-fast-counter generator (sfc32: 32-bit integer steps only, so a seed
 * gives the same bytes on every machine), never from Math.random or the clock.
 */

/** sfc32 (Chris Doty-Humphrey's small fast counter), seeded from one 32-bit integer. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private n = 1;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = seed >>> 0;
    // The first outputs still show the seed's bits: discard them, as the generator's author advises.
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.n) | 0;
    this.n = (this.n + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform integer in [0, n) for n ≤ 2^16 (modulo bias below 2^-16: irrelevant for a walk). */
  below(n: number): number {
    return this.u32() % n;
  }
}

export interface SyntheticPlan {
  readonly definitions: DbnRecord[];
  /** One step per call: what happens next on the channel, applied to `model`. */
  next(model: ChannelState): {
    readonly tsRecv: bigint;
    readonly tsEvent: bigint;
    readonly entries: Entry[];
    readonly sources: readonly [];
  };
}

const E9 = 1_000_000_000n;
/** A tick of 0.25 at display factor 0.01: CME's 25, as ES. */
const TICK = 25n * E9;
const DISPLAY_FACTOR = 10_000_000n;
/** Resting orders per instrument at most: enough for chunked MBO snapshots, bounded memory. */
const MAX_ORDERS = 120;
/** 2024-01-02 14:30:00 UTC, a Tuesday in the regular session: where synthetic time starts. */
export const SYNTHETIC_START_NS = 1_704_205_800_000_000_000n;
/** Match engine to capture: ts_recv − ts_event of every synthetic packet. */
const LATENCY_NS = 15_000n;

/** The first synthetic SecurityID (CME's are positive Int32s). */
const FIRST_ID = 900_001;

/** A DBN-shaped definition of synthetic future `i`, so one code path turns both kinds into MDP3. */
function definition(i: number, ts: bigint): DbnRecord {
  return {
    rtype: RType.InstrumentDef,
    publisher_id: 1,
    instrument_id: FIRST_ID + i,
    ts_event: ts,
    ts_recv: ts,
    min_price_increment: 250_000_000n,
    display_factor: DISPLAY_FACTOR,
    expiration: ts + 90n * 86_400n * E9,
    activation: ts - 270n * 86_400n * E9,
    high_limit_price: 2n ** 63n - 1n,
    low_limit_price: 2n ** 63n - 1n,
    max_price_variation: 6_000_000_000n,
    unit_of_measure_qty: 50_000_000_000n,
    min_price_increment_amount: 125_000_000n, // $12.50 a tick, display factor applied as Databento does
    inst_attrib_value: 0b1111,
    market_depth_implied: 0,
    market_depth: BOOK_DEPTH,
    market_segment_id: 64,
    max_trade_vol: 3000,
    min_lot_size_block: 0,
    min_lot_size_round_lot: 0,
    min_trade_vol: 1,
    contract_multiplier: 2 ** 31 - 1,
    decay_quantity: 2 ** 31 - 1,
    original_contract_size: 2 ** 31 - 1,
    appl_id: 310,
    maturity_year: 2024,
    decay_start_date: 0xffff,
    currency: 'USD',
    settl_currency: 'USD',
    raw_symbol: `SYN${i}`,
    group: 'SY',
    exchange: 'XCME',
    asset: 'SYN',
    cfi: 'FFIXSX',
    security_type: 'FUT',
    unit_of_measure: 'IPNT',
    instrument_class: 'F',
    match_algorithm: 'F',
    main_fraction: 0xff,
    price_display_format: 0xff,
    sub_fraction: 0xff,
    underlying_product: 5,
    security_update_action: 'A',
    maturity_month: 3,
    maturity_day: 0xff,
    maturity_week: 0xff,
    user_defined_instrument: 'N',
    contract_multiplier_unit: 127,
    flow_schedule_type: 127,
  };
}

/** The walk's own view of one instrument: where its best prices are. */
interface Walk {
  readonly securityId: number;
  bestBid: bigint;
  bestAsk: bigint;
  nextOrderId: bigint;
}

/**
 * The plan of `instruments` synthetic futures: first each instrument's full book (20 New
 * entries), then steps drawn from `seed`: about half change one level's size, a seventh move
 * the price a tick (or close a spread a trade opened), a seventh trade at the touch (a
 * TradeSummary48 and the Book46 entries of the size it took), the rest add, change or cancel an
 * order of the MBO book, which the walk keeps apart from the levels (CME's MBO and MBP books are
 * separate feeds of the same orders; the walk does not reconcile them, but its orders never cross).
 * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for a count that is not a positive integer.
 */
export function syntheticPlan(instruments: number, seed: number, start: bigint = SYNTHETIC_START_NS): SyntheticPlan {
  if (!Number.isInteger(instruments) || instruments < 1 || instruments > 10_000) {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `synthetic instruments: expected an integer from 1 to 10000, found ${instruments}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `synthetic seed: expected an integer from 0 to 4294967295, found ${seed}`);
  }
  const rng = new SeededRandom(seed);
  const definitions = Array.from({ length: instruments }, (_, i) => definition(i, start));
  const walks: Walk[] = definitions.map((d, i) => {
    const bid = (400_000n + 100n * BigInt(i)) * E9; // 4000.00 + i, in CME's units
    return { securityId: d['instrument_id'] as number, bestBid: bid, bestAsk: bid + TICK, nextOrderId: BigInt(FIRST_ID + i) * 1_000_000n };
  });
  let built = 0;
  let now = start;

  /** `side`'s ten levels from `best` outward: sizes of prices already shown are kept, new ones drawn. */
  const target = (model: ChannelState, w: Walk, side: BookSide): Level[] => {
    const shown = model.instrument(w.securityId).levels(side);
    const out: Level[] = [];
    const step = side === 'Bid' ? -TICK : TICK;
    let price = side === 'Bid' ? w.bestBid : w.bestAsk;
    // Both run best first on the same tick grid: one walk down `shown` finds the prices it has.
    let j = 0;
    for (let i = 0; i < BOOK_DEPTH; i++, price += step) {
      while (j < shown.length && (side === 'Bid' ? shown[j]!.price > price : shown[j]!.price < price)) j++;
      const had = shown[j];
      out.push(had !== undefined && had.price === price ? had : level(price, 1 + rng.below(60)));
    }
    return out;
  };
  const level = (price: bigint, size: number): Level => ({ price, size, orders: 1 + rng.below(size) });
  const book = (model: ChannelState, w: Walk, time: bigint): Entry[] => [
    ...model.bookEntries(w.securityId, 'Bid', target(model, w, 'Bid'), time),
    ...model.bookEntries(w.securityId, 'Offer', target(model, w, 'Offer'), time),
  ];

  const next: SyntheticPlan['next'] = (model) => {
    now += 1_000n + BigInt(rng.below(4_000)); // 1–5 µs apart: ~330k packets a second of market time
    const time = now - LATENCY_NS;
    const step = (entries: Entry[]): ReturnType<SyntheticPlan['next']> => ({ tsRecv: now, tsEvent: time, entries, sources: [] });
    if (built < walks.length) return step(book(model, walks[built++]!, time));
    const w = walks[rng.below(walks.length)]!;
    const roll = rng.below(100);
    if (roll < 55) {
      // One level's size changes: an order joins or leaves it.
      const side: BookSide = rng.below(2) === 0 ? 'Bid' : 'Offer';
      const levels = model.instrument(w.securityId).levels(side).slice();
      const k = rng.below(levels.length);
      const old = levels[k]!;
      levels[k] = level(old.price, old.size === 1 || rng.below(2) === 0 ? old.size + 1 + rng.below(9) : 1 + rng.below(old.size - 1));
      return step(model.bookEntries(w.securityId, side, levels, time));
    }
    if (roll < 70) {
      if (w.bestAsk - w.bestBid > TICK) {
        // A trade opened the spread: a new order closes it from one side.
        if (rng.below(2) === 0) w.bestBid += TICK;
        else w.bestAsk -= TICK;
      } else {
        const up = rng.below(2) === 0 ? TICK : -TICK;
        w.bestBid += up;
        w.bestAsk += up;
      }
      return step(book(model, w, time));
    }
    if (roll < 85) {
      // An aggressor takes part (or all) of the opposite touch.
      const buy = rng.below(2) === 0;
      const side: BookSide = buy ? 'Offer' : 'Bid';
      const touch = model.instrument(w.securityId).levels(side)[0]!;
      const qty = 1 + rng.below(Math.min(touch.size, 10));
      const trade = model.tradeEntry(w.securityId, touch.price, qty, buy ? 'Buy' : 'Sell', time);
      if (qty === touch.size) {
        if (buy) w.bestAsk += TICK;
        else w.bestBid -= TICK;
        return step([trade, ...book(model, w, time)]);
      }
      const levels = model.instrument(w.securityId).levels(side).slice();
      levels[0] = { price: touch.price, size: touch.size - qty, orders: Math.min(touch.orders, touch.size - qty) };
      return step([trade, ...model.bookEntries(w.securityId, side, levels, time)]);
    }
    return step([orderStep(model, w, time)]);
  };

  const orderStep = (model: ChannelState, w: Walk, time: bigint): OrderEntry => {
    const orders = model.instrument(w.securityId).orders;
    const roll = rng.below(100);
    const securityId = w.securityId;
    if ((orders.size < 8 || roll < 50) && orders.size < MAX_ORDERS) {
      const side: BookSide = rng.below(2) === 0 ? 'Bid' : 'Offer';
      const away = BigInt(rng.below(BOOK_DEPTH)) * TICK;
      let price = side === 'Bid' ? w.bestBid - away : w.bestAsk + away;
      // Resting orders never cross: a bid stays below every resting offer, an offer above every bid
      // (the levels moved since those orders came; a real exchange would have matched them).
      for (const o of orders.values()) {
        if (side === 'Bid' && o.side === 'Offer' && price >= o.price) price = o.price - TICK;
        if (side === 'Offer' && o.side === 'Bid' && price <= o.price) price = o.price + TICK;
      }
      w.nextOrderId += 1n;
      const e: OrderEntry = {
        kind: 'order',
        securityId,
        action: 'New',
        side,
        orderId: w.nextOrderId,
        priority: model.nextPriority(),
        price,
        qty: 1 + rng.below(20),
      };
      return model.add(e, time);
    }
    // Map order is arrival order: the k-th resting order, k drawn.
    let k = rng.below(orders.size);
    let pick = orders.values().next().value!;
    for (const o of orders.values()) if (k-- === 0) pick = o;
    if (roll < 75 && pick.qty > 1) {
      // A partial fill or a reduction: the order keeps its place.
      return model.add<OrderEntry>({ kind: 'order', securityId, action: 'Change', ...pick, qty: 1 + rng.below(pick.qty - 1) }, time);
    }
    return model.add<OrderEntry>({ kind: 'order', securityId, action: 'Delete', ...pick }, time);
  };

  return { definitions, next };
}
