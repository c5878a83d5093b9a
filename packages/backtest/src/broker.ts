import { BookFlags, ConfigError, MdcapError, describeValue, parseDecimal } from '@mdcap/core';
import type {
  Broker,
  BookSide,
  Fill,
  Instrument,
  OrderRequest,
  OrderSide,
  OrderState,
  OrderStatus,
  OrderType,
  OrderUpdate,
  PnlState,
  PositionState,
  RejectReason,
  ReplaceRequest,
  TimeInForce,
  Trade,
  BookUpdate,
} from '@mdcap/core';
import type { BookView, RealtimeEngine } from '@mdcap/engine';
import { Account, pow10, toScale } from './account.js';
import { feeSchedule, latencyModel, queueModel } from './models.js';
import type { FeeSpec, LatencyModel, LatencySpec, QueueModel, QueueModelSpec } from './models.js';

export interface BrokerOptions {
  /**
   * Latencies, each a {@link LatencySpec} (default 0): `entry` from the strategy to the venue,
   * `ack` from the venue back (acknowledgements, fills), `feed` from the venue to the strategy's
   * market data. An order sent at clock time t is matched at t + entry + feed against the book
   * the engine then holds (the venue's book at t + entry); its reports reach the strategy at
   * venue time + ack, never before the data that decided them (docs/backtest.md).
   */
  readonly latency?: { readonly entry?: LatencySpec; readonly ack?: LatencySpec; readonly feed?: LatencySpec };
  /** Queue model for L2 books (default `conservative`); L3 books queue exactly by order id. */
  readonly queue?: QueueModelSpec;
  readonly fees?: FeeSpec;
  /** Largest absolute position per symbol (`"SYMBOL"` or `"VENUE:SYMBOL"`, or `"*"` for all), as decimal text or a mantissa. */
  readonly maxPosition?: Readonly<Record<string, string | bigint>>;
  /** Seed of sampled latencies (default 1). */
  readonly seed?: number;
}

/** Counters of what the simulated venue did. */
export interface BrokerStats {
  readonly submitted: number;
  readonly rejected: number;
  readonly cancelled: number;
  readonly filled: number;
  readonly fills: number;
  readonly makerFills: number;
  readonly takerFills: number;
  /** Sum of submitted and of filled sizes, at the largest size scale traded. */
  readonly submittedSize: bigint;
  readonly filledSize: bigint;
  readonly sizeScale: number;
}

type Liq = 'maker' | 'taker';

interface InFlight {
  readonly at: bigint;
  readonly run: (tRecv: bigint) => void;
}

/** Per venue and symbol: its book, its account, its resting orders. */
interface Sym {
  readonly venue: string;
  readonly symbol: string;
  readonly book: BookView;
  account: Account | null;
  resting: SimOrder[];
  l3: boolean;
  lastTrade: bigint | null;
  instrument: Instrument | undefined;
  /** The resting orders' price span per side (null: none): most events are outside it. */
  buyLo: bigint | null;
  buyHi: bigint | null;
  sellLo: bigint | null;
  sellHi: bigint | null;
  /** A book update touched a resting order's level since the last boundary. */
  dirty: boolean;
}

/** An order as the venue holds it (mutable); the strategy sees snapshots ({@link OrderState}). */
interface SimOrder {
  readonly id: number;
  readonly clientId: string | null;
  readonly sym: Sym;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  readonly postOnly: boolean;
  price: bigint | null;
  size: bigint;
  filled: bigint;
  readonly priceScale: number;
  readonly sizeScale: number;
  status: OrderStatus;
  readonly tsSubmit: bigint;
  /** Resting at the venue. */
  resting: boolean;
  /** Size ahead in the queue (exact on L3: the sum of `aheadIds`). */
  ahead: bigint;
  /**
   * Executions at the order's price seen on one side and not yet on the other: > 0 traded size
   * the book has not yet taken off the orders ahead; < 0 order fills not yet printed as trades.
   */
  pending: bigint;
  /** L2: the level's size when last looked at. */
  level: bigint;
  /** L3: the orders ahead, by id, with their sizes. */
  aheadIds: Map<bigint | string, bigint> | null;
  /**
   * L3: size ahead the book knows only as a level (seeded from a level snapshot, or orders
   * older than the data): it leaves by cancels and fills of ids the book never saw added.
   */
  anon: bigint;
  /** L3: orders added at the price after this one (behind it), by id. */
  behindIds: Set<bigint | string> | null;
  /** L3: the venue time (`tsEvent`) of the message that last changed `pending`. */
  pendingTs: bigint;
  /** L3: the book was cleared; the queue is taken again from the book once it is valid. */
  requeue: boolean;
  /** When the strategy gets this order's last report: reports of one order never overtake each other. */
  lastRecv: bigint;
}

const SIDE_OF: Readonly<Record<OrderSide, BookSide>> = { buy: 'bid', sell: 'ask' };
const OPPOSITE: Readonly<Record<OrderSide, BookSide>> = { buy: 'ask', sell: 'bid' };

/**
 * Attaches a simulated venue to an engine and returns its {@link Broker}, also reachable as
 * `engine.orders`, with `engine.onFill` / `engine.onOrder`. Attach before the strategy registers
 * its callbacks: the venue then sees each event before the strategy does.
 */
export function attachBroker(engine: RealtimeEngine, options: BrokerOptions = {}): SimulatedBroker {
  const broker = new SimulatedBroker(engine, options);
  engine.attachBroker(broker);
  return broker;
}

/**
 * The simulated venue: matches the strategy's orders against the books the engine keeps, on the
 * engine's clock, and keeps positions and money exact. Deterministic: the same events and the
 * same calls give the same fills.
 */
export class SimulatedBroker implements Broker {
  private readonly syms = new Map<string, Map<string, Sym>>();
  private readonly orders = new Map<number, SimOrder>();
  /** What the strategy has been told, by order id. */
  private readonly known = new Map<number, OrderState>();
  private readonly open = new Map<number, OrderState>();
  private readonly fillListeners: ((f: Fill) => void)[] = [];
  private readonly orderListeners: ((o: OrderState) => void)[] = [];
  private readonly entry: LatencyModel;
  private readonly ack: LatencyModel;
  private readonly feed: LatencyModel;
  readonly queue: QueueModel;
  private nextOrderId = 1;
  private nextFillId = 1;
  /** Venue-side positions, for limits (the strategy's accounts move when it learns of fills). */
  private readonly venuePosition = new Map<Sym, bigint>();
  private readonly maxPosition: Readonly<Record<string, string | bigint>>;
  /** True while a market event is matched against the resting orders. */
  private matching = false;
  /** Reports due at once, held until that matching is done (the strategy may change the orders). */
  private dueNow: (() => void)[] = [];
  /** Reports on their way to the strategy, in the order they were sent. */
  private readonly inflight = new Set<InFlight>();
  private counters = { submitted: 0, rejected: 0, cancelled: 0, filled: 0, fills: 0, makerFills: 0, takerFills: 0 };
  private sizeTotals = { scale: 0, submitted: 0n, filled: 0n };

  constructor(
    readonly engine: RealtimeEngine,
    private readonly options: BrokerOptions = {},
  ) {
    const seed = options.seed ?? 1;
    this.entry = latencyModel(options.latency?.entry, 'entry', seed);
    this.ack = latencyModel(options.latency?.ack, 'ack', seed + 1);
    this.feed = latencyModel(options.latency?.feed, 'feed', seed + 2);
    this.queue = queueModel(options.queue);
    this.maxPosition = options.maxPosition ?? {};
    feeSchedule(options.fees, '', ''); // checks the rates now, not at the first fill
    engine.onTrade((t) => this.onTrade(t));
    engine.onBookUpdate((u, book) => this.onBook(u, book));
    engine.onOrderUpdate((u, book) => this.onOrderUpdate(u, book));
  }

  /** The latency models, described (for summaries). */
  describeLatency(): { entry: string; ack: string; feed: string } {
    return { entry: this.entry.describe, ack: this.ack.describe, feed: this.feed.describe };
  }

  // ---- the strategy's side ------------------------------------------------------------------

  submit(request: OrderRequest): OrderState {
    const r = checkRequest(request);
    const now = this.engine.clock.now();
    let sym: Sym;
    try {
      sym = this.sym(r.venue, r.symbol);
    } catch {
      const where = r.venue === undefined ? '' : ` of ${r.venue}`;
      return this.refuse(r, now, 'unknown-symbol', `${r.symbol}: expected a subscribed symbol${where}, found none`);
    }
    const book = sym.book;
    if (book.priceScale < 0)
      return this.refuse(r, now, 'book-invalid', `${sym.symbol}: no book data yet, so no price scale to read the order at`);
    // A program error throws before the order takes an id; a venue's refusal is an order.
    const size = toMantissa(r.size, book.sizeScale, 'size');
    const price = r.price === undefined ? null : toMantissa(r.price, book.priceScale, 'price');
    if (typeof size === 'bigint' && size <= 0n) throw invalid('size', 'a positive size', r.size);
    if (typeof size === 'string') return this.refuse(r, now, 'scale', size);
    if (typeof price === 'string') return this.refuse(r, now, 'scale', price);
    const type: OrderType = r.type ?? (price === null ? 'market' : 'limit');
    const id = this.nextOrderId++;
    this.counters.submitted++;
    const o: SimOrder = {
      id,
      clientId: r.clientId ?? null,
      sym,
      side: r.side,
      type,
      tif: type === 'market' ? 'ioc' : (r.tif ?? 'gtc'),
      postOnly: r.postOnly === true,
      price: type === 'market' ? null : price,
      size,
      filled: 0n,
      priceScale: book.priceScale,
      sizeScale: book.sizeScale,
      status: 'pending',
      tsSubmit: now,
      resting: false,
      ahead: 0n,
      pending: 0n,
      level: 0n,
      aheadIds: null,
      anon: 0n,
      behindIds: null,
      pendingTs: 0n,
      requeue: false,
      lastRecv: now,
    };
    this.orders.set(id, o);
    this.addSize('submitted', size, o.sizeScale);
    const state = this.snapshot(o, null, 'sent', now, now);
    this.known.set(id, state);
    this.open.set(id, state);
    this.toVenue(now, (tVenue) => this.arrive(o, tVenue));
    return state;
  }

  cancel(orderId: number): void {
    const o = this.orders.get(orderId);
    if (o === undefined)
      throw new ConfigError(
        'MDCAP_ERR_INVALID_ORDER',
        `cancel: expected the id of an order of this broker, found ${describeValue(orderId)}`,
      );
    this.toVenue(this.engine.clock.now(), (tVenue) => {
      if (o.status !== 'open' && o.status !== 'pending') {
        this.report(o, 'too-late', `cancel: the order was already ${o.status}`, tVenue);
        return;
      }
      this.removeResting(o);
      o.status = 'cancelled';
      this.counters.cancelled++;
      this.report(o, null, 'cancelled', tVenue);
    });
  }

  replace(orderId: number, request: ReplaceRequest): void {
    const o = this.orders.get(orderId);
    if (o === undefined)
      throw new ConfigError(
        'MDCAP_ERR_INVALID_ORDER',
        `replace: expected the id of an order of this broker, found ${describeValue(orderId)}`,
      );
    if (request === null || typeof request !== 'object' || (request.price === undefined && request.size === undefined)) {
      throw invalid('replace', 'a new price and/or size', request);
    }
    const price = request.price === undefined ? o.price : toMantissa(request.price, o.priceScale, 'price');
    const size = request.size === undefined ? o.size : toMantissa(request.size, o.sizeScale, 'size');
    if (typeof price === 'string' || typeof size === 'string') throw invalid('replace', 'a price and size at the book scales', request);
    this.toVenue(this.engine.clock.now(), (tVenue) => {
      if (o.status !== 'open' && o.status !== 'pending') {
        this.report(o, 'too-late', `replace: the order was already ${o.status}`, tVenue);
        return;
      }
      if (o.type === 'market' || size <= o.filled || (price !== null && !this.onTick(o.sym, price))) {
        const why =
          o.type === 'market'
            ? 'a market order cannot be replaced'
            : size <= o.filled
              ? `the new size ${size} is not above the filled ${o.filled}`
              : `price ${price} is off the tick size`;
        this.report(o, 'bad-replace', `replace: ${why}`, tVenue);
        return;
      }
      if (o.postOnly && price !== null && o.status === 'open' && this.crossesAt(o.side, o.sym.book, price)) {
        this.report(
          o,
          'post-only-would-cross',
          `replace: post-only ${o.side} at ${price} would take liquidity; the order stays as it was`,
          tVenue,
        );
        return;
      }
      const losesPlace = price !== o.price || size > o.size;
      o.price = price;
      o.size = size;
      if (o.status === 'pending') return; // not at the venue yet: it arrives with the new terms
      if (losesPlace) {
        this.removeResting(o);
        this.match(o, tVenue, 'replaced, back of the queue: ');
      } else {
        this.report(o, null, 'replaced (size down, queue place kept)', tVenue);
      }
    });
  }

  order(orderId: number): OrderState | undefined {
    return this.known.get(orderId);
  }

  openOrders(symbol?: string): OrderState[] {
    const out: OrderState[] = [];
    for (const o of this.open.values()) if (symbol === undefined || o.symbol === symbol) out.push(o);
    return out;
  }

  position(symbol: string, venue?: string): PositionState {
    const sym = this.sym(venue, symbol);
    return this.accountOf(sym).state(this.mark(sym));
  }

  positions(): PositionState[] {
    const out: PositionState[] = [];
    for (const bySymbol of this.syms.values())
      for (const s of bySymbol.values()) if (s.account !== null) out.push(s.account.state(this.mark(s)));
    return out;
  }

  pnl(): PnlState {
    const ps = this.positions();
    const scale = ps.reduce((m, p) => Math.max(m, p.moneyScale), 0);
    let realized = 0n;
    let unrealized = 0n;
    let fees = 0n;
    let turnover = 0n;
    for (const p of ps) {
      realized += toScale(p.realized, p.moneyScale, scale);
      unrealized += toScale(p.unrealized, p.moneyScale, scale);
      fees += toScale(p.fees, p.moneyScale, scale);
      turnover += toScale(p.turnover, p.moneyScale, scale);
    }
    return { moneyScale: scale, realized, unrealized, fees, pnl: realized + unrealized - fees, turnover };
  }

  onFill(cb: (fill: Fill) => void): () => void {
    return listen(this.fillListeners, cb);
  }

  onOrder(cb: (order: OrderState) => void): () => void {
    return listen(this.orderListeners, cb);
  }

  stats(): BrokerStats {
    return {
      ...this.counters,
      submittedSize: this.sizeTotals.submitted,
      filledSize: this.sizeTotals.filled,
      sizeScale: this.sizeTotals.scale,
    };
  }

  // ---- timing -------------------------------------------------------------------------------

  /**
   * Runs `atVenue(tVenue)` when a message sent now reaches the venue: venue time now + entry,
   * on the engine's clock at that + feed (when the engine's book shows the venue's book then).
   */
  private toVenue(now: bigint, atVenue: (tVenue: bigint) => void): void {
    const tVenue = now + this.entry.next();
    const at = tVenue + this.feed.next();
    if (at <= now) atVenue(tVenue);
    else this.engine.setTimer(at, () => atVenue(tVenue));
  }

  /**
   * Delivers a report of `o` to the strategy at venue time + ack, or now if that has passed (it
   * cannot come before the data that decided it), and never before the order's earlier reports.
   */
  private deliver(o: SimOrder, tVenue: bigint, run: (tRecv: bigint) => void): void {
    const now = this.engine.clock.now();
    let at = tVenue + this.ack.next();
    if (at < o.lastRecv) at = o.lastRecv;
    o.lastRecv = at;
    if (at <= now) {
      // Inside a market event's matching, the strategy hears of it once the matching is done.
      if (this.matching) this.dueNow.push(() => run(now));
      else run(now);
      return;
    }
    const entry: InFlight = { at, run };
    this.inflight.add(entry);
    this.engine.setTimer(at, () => {
      if (this.inflight.delete(entry)) run(at);
    });
  }

  /**
   * Delivers the reports still on their way (fills and order updates whose acknowledgement time
   * lies past the end of the data), in time order, each stamped with its own time: for the end
   * of a backtest. Orders still on their way to the venue stay `pending`: no data said what
   * they would have met.
   */
  flushReports(): void {
    const left = [...this.inflight].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    this.inflight.clear();
    for (const e of left) e.run(e.at);
  }

  private report(o: SimOrder, reject: RejectReason | null, detail: string, tVenue: bigint): void {
    const status = o.status;
    const filled = o.filled;
    const price = o.price;
    const size = o.size;
    const queueAhead = o.resting ? o.ahead - (o.pending > 0n ? o.pending : 0n) : null;
    this.deliver(o, tVenue, (tRecv) => {
      const s: OrderState = { ...this.snapshot(o, reject, detail, tVenue, tRecv), status, filled, price, size, queueAhead };
      this.known.set(o.id, s);
      if (status === 'open' || status === 'pending') this.open.set(o.id, s);
      else this.open.delete(o.id);
      for (const cb of this.orderListeners) cb(s);
    });
  }

  private snapshot(o: SimOrder, reject: RejectReason | null, detail: string, tVenue: bigint, tRecv: bigint): OrderState {
    return {
      id: o.id,
      clientId: o.clientId,
      venue: o.sym.venue,
      symbol: o.sym.symbol,
      side: o.side,
      type: o.type,
      tif: o.tif,
      postOnly: o.postOnly,
      price: o.price,
      size: o.size,
      filled: o.filled,
      priceScale: o.priceScale,
      sizeScale: o.sizeScale,
      status: o.status,
      reject,
      detail,
      tsSubmit: o.tsSubmit,
      tsVenue: tVenue,
      tsRecv: tRecv,
      queueAhead: null,
    };
  }

  /** A request refused before it reaches the venue's book (no symbol, no scale): rejected at once, reported after the latencies. */
  private refuse(r: OrderRequest, now: bigint, reason: RejectReason, detail: string): OrderState {
    const id = this.nextOrderId++;
    this.counters.submitted++;
    this.counters.rejected++;
    const state: OrderState = {
      id,
      clientId: r.clientId ?? null,
      venue: r.venue ?? '',
      symbol: r.symbol,
      side: r.side,
      type: r.type ?? (r.price === undefined ? 'market' : 'limit'),
      tif: r.tif ?? 'gtc',
      postOnly: r.postOnly === true,
      price: null,
      size: 0n,
      filled: 0n,
      priceScale: 0,
      sizeScale: 0,
      status: 'rejected',
      reject: reason,
      detail,
      tsSubmit: now,
      tsVenue: now,
      tsRecv: now,
      queueAhead: null,
    };
    this.known.set(id, state);
    for (const cb of this.orderListeners) cb(state);
    return state;
  }

  // ---- the venue ----------------------------------------------------------------------------

  private sym(venue: string | undefined, symbol: string): Sym {
    const book = this.engine.book(symbol, venue);
    let bySymbol = this.syms.get(book.venue);
    if (bySymbol === undefined) this.syms.set(book.venue, (bySymbol = new Map<string, Sym>()));
    let s = bySymbol.get(symbol);
    if (s === undefined) {
      s = {
        venue: book.venue,
        symbol,
        book,
        account: null,
        resting: [],
        l3: book.orderCount > 0,
        lastTrade: null,
        instrument: this.engine.instruments.find(book.venue, symbol),
        buyLo: null,
        buyHi: null,
        sellLo: null,
        sellHi: null,
        dirty: false,
      };
      bySymbol.set(symbol, s);
    }
    return s;
  }

  private accountOf(s: Sym): Account {
    return (s.account ??= new Account(
      s.venue,
      s.symbol,
      Math.max(0, s.book.priceScale),
      Math.max(0, s.book.sizeScale),
      feeSchedule(this.options.fees, s.venue, s.symbol),
    ));
  }

  /** The mark at priceScale + 1: the mid of a valid two-sided book, else the last trade. */
  private mark(s: Sym): bigint | null {
    const b = s.book;
    const bid = b.valid ? b.bestBidPrice() : null;
    const ask = b.valid ? b.bestAskPrice() : null;
    if (bid !== null && ask !== null && !b.crossed) return (bid + ask) * 5n;
    return s.lastTrade === null ? null : s.lastTrade * 10n;
  }

  private onTick(s: Sym, price: bigint): boolean {
    const tick = s.instrument?.tickSize;
    return tick === undefined || tick <= 0n || price % tick === 0n;
  }

  /** The order reaches the venue: checks, then takes what it can, then rests (or not). */
  private arrive(o: SimOrder, tVenue: bigint): void {
    if (o.status !== 'pending') return; // cancelled before it arrived
    const s = o.sym;
    const b = s.book;
    const reject = (reason: RejectReason, detail: string): void => {
      o.status = 'rejected';
      this.counters.rejected++;
      this.report(o, reason, detail, tVenue);
    };
    if (!b.valid) return reject('book-invalid', `${s.symbol}: the book is not valid (after a gap or disconnect, before the next snapshot)`);
    if (o.price !== null && !this.onTick(s, o.price))
      return reject('tick-size', `price ${o.price}: expected a multiple of the tick size ${s.instrument?.tickSize}, found a remainder`);
    const lot = s.instrument?.lotSize;
    if (lot !== undefined && lot > 0n && o.size % lot !== 0n)
      return reject('lot-size', `size ${o.size}: expected a multiple of the lot size ${lot}`);
    const limit = this.limitOf(s);
    if (limit !== null) {
      const pos = this.venuePosition.get(s) ?? 0n;
      let worst = pos;
      for (const r of s.resting) if (r.side === o.side) worst += r.side === 'buy' ? r.size - r.filled : -(r.size - r.filled);
      worst += o.side === 'buy' ? o.size : -o.size;
      if (worst > limit || worst < -limit) {
        return reject(
          'position-limit',
          `position limit ${limit}: the position ${pos} with the open orders and this one could reach ${worst}`,
        );
      }
    }
    if (o.postOnly && o.price !== null && this.crosses(o, o.price)) {
      const best = o.side === 'buy' ? b.bestAskPrice() : b.bestBidPrice();
      return reject('post-only-would-cross', `post-only ${o.side} at ${o.price}: the best ${OPPOSITE[o.side]} ${best} would take it`);
    }
    if (o.tif === 'fok' && this.available(o) < o.size) {
      o.status = 'cancelled';
      this.counters.cancelled++;
      this.report(o, null, `fill-or-kill: only ${this.available(o)} of ${o.size} available at or better than the limit`, tVenue);
      return;
    }
    o.status = 'open';
    this.match(o, tVenue);
  }

  private limitOf(s: Sym): bigint | null {
    const m = this.maxPosition;
    const v = m[`${s.venue}:${s.symbol}`] ?? m[s.symbol] ?? m['*'];
    if (v === undefined) return null;
    return typeof v === 'bigint' ? v : parseDecimal(v, s.book.sizeScale);
  }

  /** Would a limit at `price` take liquidity now? */
  private crosses(o: SimOrder, price: bigint): boolean {
    return this.crossesAt(o.side, o.sym.book, price);
  }

  private crossesAt(side: OrderSide, b: BookView, price: bigint): boolean {
    const best = side === 'buy' ? b.bestAskPrice() : b.bestBidPrice();
    return best !== null && (side === 'buy' ? best <= price : best >= price);
  }

  /** Size on the opposite side at or better than the order's limit. */
  private available(o: SimOrder): bigint {
    const b = o.sym.book;
    const side = OPPOSITE[o.side];
    let total = 0n;
    for (let i = 0, n = b.depth(side); i < n; i++) {
      const l = b.level(side, i)!;
      if (o.price !== null && (o.side === 'buy' ? l.price > o.price : l.price < o.price)) break;
      total += l.size;
    }
    return total;
  }

  /** Walks the opposite side as the book stands, then rests what is left (GTC) or cancels it. */
  private match(o: SimOrder, tVenue: bigint, why = ''): void {
    const b = o.sym.book;
    const side = OPPOSITE[o.side];
    {
      for (let i = 0, n = b.depth(side); i < n && o.filled < o.size; i++) {
        const l = b.level(side, i)!;
        if (o.price !== null && (o.side === 'buy' ? l.price > o.price : l.price < o.price)) break;
        const left = o.size - o.filled;
        this.fill(o, l.price, l.size < left ? l.size : left, 'taker', tVenue);
      }
    }
    if (o.filled === o.size) return;
    if (o.tif !== 'gtc' || o.price === null) {
      o.status = 'cancelled';
      this.counters.cancelled++;
      const what = o.type === 'market' ? 'market order' : o.tif.toUpperCase();
      this.report(
        o,
        null,
        `${why}${what}: the rest (${o.size - o.filled} of ${o.size}) found no liquidity${o.price === null ? '' : ' at or better than the limit'}`,
        tVenue,
      );
      return;
    }
    this.rest(o);
    this.report(o, null, `${why}${o.filled > 0n ? 'partly filled, the rest resting' : 'resting'}`, tVenue);
  }

  /** Joins the back of its level's queue. */
  private rest(o: SimOrder): void {
    const s = o.sym;
    o.resting = true;
    o.pending = 0n;
    this.queueFromBook(o);
    s.resting.push(o);
    spans(s);
  }

  private queueFromBook(o: SimOrder): void {
    const b = o.sym.book;
    const side = SIDE_OF[o.side];
    o.requeue = false;
    if (o.sym.l3 || b.orderCount > 0) {
      o.sym.l3 = true;
      o.aheadIds = new Map();
      o.behindIds = new Set();
      let known = 0n;
      for (const r of b.ordersAt(side, o.price!)) {
        o.aheadIds.set(r.orderId, r.size);
        known += r.size;
      }
      const level = b.sizeAt(side, o.price!);
      o.anon = level > known ? level - known : 0n;
      o.ahead = known + o.anon;
      o.level = level;
      o.pending = 0n;
    } else {
      o.aheadIds = null;
      o.level = b.sizeAt(side, o.price!);
      o.ahead = o.level;
    }
  }

  private removeResting(o: SimOrder): void {
    if (!o.resting) return;
    o.resting = false;
    const list = o.sym.resting;
    const i = list.indexOf(o);
    if (i >= 0) list.splice(i, 1);
    spans(o.sym);
  }

  private fill(o: SimOrder, price: bigint, size: bigint, liquidity: Liq, tVenue: bigint): void {
    if (size <= 0n) return;
    o.filled += size;
    const s = o.sym;
    this.venuePosition.set(s, (this.venuePosition.get(s) ?? 0n) + (o.side === 'buy' ? size : -size));
    this.counters.fills++;
    if (liquidity === 'maker') this.counters.makerFills++;
    else this.counters.takerFills++;
    this.addSize('filled', size, o.sizeScale);
    if (o.filled === o.size) {
      o.status = 'filled';
      this.counters.filled++;
      this.removeResting(o);
    }
    const fillId = this.nextFillId++;
    const status = o.status;
    const account = this.accountOf(s);
    this.deliver(o, tVenue, (tRecv) => {
      const fee = account.apply(o.side, price, size, liquidity === 'maker');
      const known = this.known.get(o.id);
      if (known !== undefined) {
        const k: OrderState = { ...known, filled: known.filled + size, tsRecv: tRecv };
        this.known.set(o.id, k);
        if (this.open.has(o.id)) this.open.set(o.id, k);
      }
      const f: Fill = {
        fillId,
        orderId: o.id,
        clientId: o.clientId,
        venue: s.venue,
        symbol: s.symbol,
        side: o.side,
        price,
        size,
        priceScale: o.priceScale,
        sizeScale: o.sizeScale,
        liquidity,
        fee,
        moneyScale: account.moneyScale,
        position: account.size,
        tsVenue: tVenue,
        tsRecv: tRecv,
      };
      for (const cb of this.fillListeners) cb(f);
    });
    if (status === 'filled') this.report(o, null, 'filled', tVenue);
  }

  private addSize(which: 'submitted' | 'filled', size: bigint, scale: number): void {
    const t = this.sizeTotals;
    if (scale > t.scale) {
      t.submitted *= pow10(scale - t.scale);
      t.filled *= pow10(scale - t.scale);
      t.scale = scale;
    }
    t[which] += size * pow10(t.scale - scale);
  }

  // ---- market events: the resting orders' queues ---------------------------------------------

  private lookup(venue: string, symbol: string): Sym | undefined {
    return this.syms.get(venue)?.get(symbol);
  }

  private onTrade(t: Trade): void {
    const s = this.lookup(t.venue, t.symbol);
    if (s === undefined) return;
    s.lastTrade = t.price;
    if (s.resting.length === 0) return;
    // Sellers hit bids at or above their price; buyers lift asks at or below it.
    const buys = t.side !== 'buy' && s.buyHi !== null && t.price <= s.buyHi;
    const sells = t.side !== 'sell' && s.sellLo !== null && t.price >= s.sellLo;
    if (!buys && !sells) return;
    this.matching = true;
    this.tradeAgainstResting(s, t);
    this.doneMatching();
  }

  private doneMatching(): void {
    this.matching = false;
    if (this.dueNow.length === 0) return;
    const due = this.dueNow;
    this.dueNow = [];
    for (const run of due) run();
  }

  private tradeAgainstResting(s: Sym, t: Trade): void {
    const now = this.venueNow();
    const list = s.resting;
    // The strategy's own orders at the trade's price, by side, already looked at: they are
    // ahead of the later ones (their sizes before this trade).
    let ownBuy = 0n;
    let ownSell = 0n;
    for (let i = 0; i < list.length;) {
      const o = list[i]!;
      const buy = o.side === 'buy';
      const p = o.price!;
      const left = o.size - o.filled;
      // A buy rests on the bid: only sellers hit it (or trades whose aggressor is unknown).
      if (t.side !== (buy ? 'buy' : 'sell')) {
        if (buy ? t.price < p : t.price > p) {
          this.fill(o, p, left, 'maker', now); // traded through the order's price
        } else if (t.price === p) {
          const past = this.tradeAtPrice(o, t.size, t.tsEvent) - (buy ? ownBuy : ownSell);
          if (past > 0n) this.fill(o, p, past < left ? past : left, 'maker', now);
          if (buy) ownBuy += left;
          else ownSell += left;
        }
      }
      if (list[i] === o) i++;
    }
  }

  /**
   * A trade of `q` at a resting order's price: takes it off what is ahead (matching it with order
   * fills the book already showed). Returns what passes the real orders ahead.
   */
  private tradeAtPrice(o: SimOrder, q: bigint, ts: bigint): bigint {
    if (o.aheadIds !== null) {
      // L3: an execution's trade and its order fill come in one venue message (one tsEvent);
      // order fills of an earlier message found no print (a different feed's habit): forgotten.
      if (o.pending < 0n && o.pendingTs !== ts) o.pending = 0n;
      o.pendingTs = ts;
    }
    if (o.pending < 0n) {
      // The print of order fills the book already showed.
      const m = q < -o.pending ? q : -o.pending;
      o.pending += m;
      q -= m;
    }
    const free = o.ahead - (o.pending > 0n ? o.pending : 0n);
    const claimed = q < free ? q : free;
    o.pending += claimed;
    return q - claimed;
  }

  private onBook(u: BookUpdate, book: BookView): void {
    const s = this.lookup(u.venue, u.symbol);
    if (s === undefined || s.resting.length === 0) return;
    const flags = u.flags;
    if (!s.dirty && (flags & BookFlags.Implied) === 0) {
      // A snapshot may drop a level without an update at its price.
      const lo = u.side === 'bid' ? s.buyLo : s.sellLo;
      const hi = u.side === 'bid' ? s.buyHi : s.sellHi;
      if ((flags & BookFlags.Snapshot) !== 0 || (lo !== null && u.price >= lo && u.price <= hi!)) s.dirty = true;
    }
    if ((flags & (BookFlags.Last | BookFlags.SnapshotEnd)) === 0 || !book.valid) return;
    const levels = s.dirty;
    const crossing = reached(s);
    if (!levels && !crossing) return;
    s.dirty = false;
    this.matching = true;
    this.atBoundary(s, levels, crossing);
    this.doneMatching();
  }

  private onOrderUpdate(u: OrderUpdate, book: BookView): void {
    const s = this.lookup(u.venue, u.symbol);
    if (s === undefined) return;
    s.l3 = true;
    if (s.resting.length === 0) return;
    this.matching = true;
    this.orderAgainstResting(s, u, book);
    this.doneMatching();
  }

  private orderAgainstResting(s: Sym, u: OrderUpdate, book: BookView): void {
    const now = this.venueNow();
    const list = s.resting;
    let own = 0n; // the strategy's own orders at the update's price and side, already looked at
    // A new order priced through resting orders of the strategy would have traded with them, up to its size.
    let crossing = (u.action === 'add' || u.action === 'modify') && (u.flags & BookFlags.Snapshot) === 0 ? u.size : 0n;
    for (let i = 0; i < list.length;) {
      const o = list[i]!;
      const left = o.size - o.filled;
      if (u.action === 'clear') o.requeue = true;
      else if (o.aheadIds !== null && !o.requeue) {
        if (crossing > 0n && u.side !== SIDE_OF[o.side] && (o.side === 'buy' ? u.price <= o.price! : u.price >= o.price!)) {
          const take = crossing < left ? crossing : left;
          crossing -= take;
          this.fill(o, o.price!, take, 'maker', now);
        } else {
          this.orderUpdateAgainst(o, u, own, now);
        }
      }
      if (o.price === u.price && SIDE_OF[o.side] === u.side) own += left;
      if (list[i] === o) i++;
    }
    if ((u.flags & (BookFlags.Last | BookFlags.SnapshotEnd)) !== 0 && book.valid) this.atBoundary(s, true, reached(s));
  }

  /** One L3 update against one resting order: the queue ahead by id, or a fill behind it. */
  private orderUpdateAgainst(o: SimOrder, u: OrderUpdate, own: bigint, now: bigint): void {
    const ids = o.aheadIds!;
    // Traded size of an earlier message that no order ahead took (a hidden order's execution) is forgotten.
    if (o.pending > 0n && o.pendingTs !== u.tsEvent) o.pending = 0n;
    const atLevel = u.price === o.price && u.side === SIDE_OF[o.side];
    if (u.action === 'add' && atLevel) {
      o.behindIds!.add(u.orderId);
      return;
    }
    const had = ids.get(u.orderId);
    if (had !== undefined) {
      let r: bigint;
      if (u.action === 'modify' || u.action === 'add') {
        // A new price or a larger size goes to the back: no longer ahead.
        const stays = u.action === 'modify' && u.price === o.price && u.side === SIDE_OF[o.side] && u.size <= had;
        r = stays ? had - u.size : had;
      } else {
        r = u.size === 0n || u.size > had ? had : u.size;
      }
      if (had - r === 0n) ids.delete(u.orderId);
      else ids.set(u.orderId, had - r);
      this.leaveAhead(o, r, u);
      return;
    }
    if (o.anon > 0n && atLevel && (u.action === 'cancel' || u.action === 'fill') && !o.behindIds!.has(u.orderId)) {
      // An id the book never saw added, at this price: size it knew only as a level, ahead of this order.
      const r = u.size === 0n || u.size > o.anon ? o.anon : u.size;
      o.anon -= r;
      this.leaveAhead(o, r, u);
      return;
    }
    if (u.action !== 'fill' || u.side !== SIDE_OF[o.side]) return;
    const p = o.price!;
    const left = o.size - o.filled;
    if (o.side === 'buy' ? u.price < p : u.price > p) {
      this.fill(o, p, left, 'maker', now); // an order behind the price executed: traded through
    } else if (u.price === p && o.pending <= 0n && o.ahead === 0n) {
      // An order behind this one executed with nothing left ahead: this one (after the
      // strategy's own earlier orders) would have been hit first.
      const past = u.size - own;
      if (past > 0n) this.fill(o, p, past < left ? past : left, 'maker', now);
      o.pending -= u.size;
      o.pendingTs = u.tsEvent;
    } else if (u.price === p && o.pending > 0n) {
      o.pending -= u.size < o.pending ? u.size : o.pending;
    }
  }

  /** `r` of the size ahead left the queue (L3): an execution matches traded size already seen, or awaits its print. */
  private leaveAhead(o: SimOrder, r: bigint, u: OrderUpdate): void {
    o.ahead -= r;
    if (u.action === 'fill') o.pending -= r;
    else if (o.pending > 0n) o.pending -= r < o.pending ? r : o.pending;
    o.pendingTs = u.tsEvent;
  }

  /**
   * At a packet boundary: L2 queues follow their level's size (a decrease the trades did not
   * explain is a cancel, shared by the queue model), and an order the opposite side reached
   * fills in full at its price.
   */
  private atBoundary(s: Sym, levels: boolean, crossing: boolean): void {
    const b = s.book;
    const now = this.venueNow();
    const list = s.resting;
    for (let i = 0; i < list.length;) {
      const o = list[i]!;
      const p = o.price!;
      if (o.requeue) {
        this.queueFromBook(o);
      } else if (levels && o.aheadIds === null) {
        const level = b.sizeAt(SIDE_OF[o.side], p);
        let d = o.level - level;
        o.level = level;
        if (d > 0n) {
          const traded = o.pending > 0n ? (o.pending < d ? o.pending : d) : 0n;
          o.pending -= traded;
          o.ahead -= traded;
          d -= traded;
          if (d > 0n) o.ahead -= this.queue.cancelAhead(d, o.ahead, level + d - o.ahead);
        }
        if (o.ahead > level) o.ahead = level;
        if (o.ahead < 0n) o.ahead = 0n;
      }
      // L2 only: an L3 book says how much the arriving order held (above).
      if (crossing && o.aheadIds === null && !b.crossed && this.crosses(o, p)) this.fill(o, p, o.size - o.filled, 'maker', now);
      if (list[i] === o) i++;
    }
  }

  /** Venue time of what the engine dispatches now: its clock less the feed latency's least value. */
  private venueNow(): bigint {
    return this.engine.clock.now() - this.feed.min;
  }
}

function checkRequest(r: OrderRequest): OrderRequest {
  if (r === null || typeof r !== 'object') throw invalid('order', 'an order request object', r);
  if (typeof r.symbol !== 'string' || r.symbol === '') throw invalid('symbol', 'a symbol', r.symbol);
  if (r.side !== 'buy' && r.side !== 'sell') throw invalid('side', 'buy or sell', r.side);
  if (r.type !== undefined && r.type !== 'market' && r.type !== 'limit') throw invalid('type', 'market or limit', r.type);
  if (r.tif !== undefined && r.tif !== 'gtc' && r.tif !== 'ioc' && r.tif !== 'fok') throw invalid('tif', 'gtc, ioc or fok', r.tif);
  if (typeof r.size !== 'bigint' && typeof r.size !== 'string') throw invalid('size', 'a mantissa (bigint) or decimal text', r.size);
  if (r.price !== undefined && typeof r.price !== 'bigint' && typeof r.price !== 'string')
    throw invalid('price', 'a mantissa (bigint) or decimal text', r.price);
  if (r.type === 'market' && r.price !== undefined) throw invalid('price', 'no price on a market order', r.price);
  if (r.type === 'limit' && r.price === undefined) throw invalid('price', 'a price on a limit order', r.price);
  if (r.type === 'market' && r.postOnly === true) throw invalid('postOnly', 'no post-only on a market order', r.postOnly);
  return r;
}

/**
 * A price or size at the book's scale; a decimal with more digits than the scale is the venue's
 * `scale` rejection (returned as its text), anything not a decimal a program error (thrown).
 */
function toMantissa(v: bigint | string, scale: number, what: string): bigint | string {
  if (typeof v === 'bigint') return v;
  try {
    return parseDecimal(v, scale);
  } catch (e) {
    if (e instanceof MdcapError && e.code === 'MDCAP_ERR_DECIMAL_PRECISION') {
      return `${what} ${v}: expected at most ${scale} fraction digits (the book's scale), found more`;
    }
    throw invalid(what, 'decimal text', v, e);
  }
}

function invalid(field: string, expected: string, found: unknown, cause?: unknown): ConfigError {
  return new ConfigError('MDCAP_ERR_INVALID_ORDER', `order ${field}: expected ${expected}, found ${describeValue(found)}`, { cause });
}

/** Recomputes a symbol's resting price spans. */
function spans(s: Sym): void {
  let buyLo: bigint | null = null;
  let buyHi: bigint | null = null;
  let sellLo: bigint | null = null;
  let sellHi: bigint | null = null;
  for (const o of s.resting) {
    const p = o.price!;
    if (o.side === 'buy') {
      if (buyLo === null || p < buyLo) buyLo = p;
      if (buyHi === null || p > buyHi) buyHi = p;
    } else {
      if (sellLo === null || p < sellLo) sellLo = p;
      if (sellHi === null || p > sellHi) sellHi = p;
    }
  }
  s.buyLo = buyLo;
  s.buyHi = buyHi;
  s.sellLo = sellLo;
  s.sellHi = sellHi;
}

/** Has the other side of the book reached a resting order's price (asks at or below the highest buy, bids at or above the lowest sell)? */
function reached(s: Sym): boolean {
  const b = s.book;
  if (s.buyHi !== null) {
    const ask = b.bestAskPrice();
    if (ask !== null && ask <= s.buyHi) return true;
  }
  if (s.sellLo !== null) {
    const bid = b.bestBidPrice();
    if (bid !== null && bid >= s.sellLo) return true;
  }
  return false;
}

function listen<T>(list: T[], cb: T): () => void {
  list.push(cb);
  return () => {
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  };
}
