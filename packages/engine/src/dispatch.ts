import {
  ALL_SYMBOLS,
  isWellFormed,
  printError,
  CallbackError,
  ConfigError,
  createStatus,
  formatDecimal,
  MdcapError,
  ProviderError,
  describeValue,
  validateEvent,
  TradeBatchView,
} from '@mdcap/core';
import type {
  Bar,
  BookUpdate,
  Clock,
  EventType,
  MarketEvent,
  OrderUpdate,
  Quote,
  Status,
  StatusKind,
  TimerScheduler,
  Trade,
  TradeBatch,
  TradeColumns,
  AggressorSide,
} from '@mdcap/core';
import { BarAggregator } from './bars.js';
import type { BarOptions, BarSeries, TradeRows } from './bars.js';
import { OrderBook } from './book.js';
import type { BookView } from './book.js';
import type { EventConsumer } from './consumers.js';

type Listener<A extends unknown[]> = (...args: A) => void;
export type Unsubscribe = () => void;

export interface Listeners {
  trade: Listener<[Trade]>[];
  trades: Listener<[TradeBatch]>[];
  quote: Listener<[Quote]>[];
  book: Listener<[BookUpdate, BookView]>[];
  order: Listener<[OrderUpdate, BookView]>[];
  bar: Listener<[Bar]>[];
  status: Listener<[Status]>[];
  gap: Listener<[Status]>[];
  reconnect: Listener<[Status]>[];
  error: Listener<[MdcapError]>[];
  event: Listener<[MarketEvent]>[];
}

const CALLBACK_NAMES: Readonly<Record<keyof Listeners, string>> = {
  trade: 'onTrade',
  trades: 'onTrades',
  quote: 'onQuote',
  book: 'onBookUpdate',
  order: 'onOrderUpdate',
  bar: 'onBar',
  status: 'onStatus',
  gap: 'onGap',
  reconnect: 'onReconnect',
  error: 'onError',
  event: 'onEvent',
};

/** Per venue and symbol state, looked up once per event and shared by validation, bars and books. */
interface Slot {
  readonly venue: string;
  readonly symbol: string;
  readonly subscribed: boolean;
  book: OrderBook | null;
  series: BarSeries | null;
  /** The next slot with the same symbol on another venue. */
  next: Slot | null;
}

// 'reconnected' does not invalidate: books were cleared at 'disconnected', and a provider may
// already have sent the fresh snapshot by the time the engine reports the reconnect.
const INVALIDATING: ReadonlySet<StatusKind> = new Set(['disconnected', 'gap', 'resync']);
const MIN_TS = -(2n ** 63n);
const MAX_CONSOLE_ERRORS = 10;

export interface DispatchOptions {
  readonly books: boolean;
  readonly validate: boolean;
  /** The venue of books handed out before any venue sent a book update. */
  readonly venue: string;
  readonly bars: BarOptions;
  /** `onTrade` gets one reused trade object for rows delivered as columns (EngineOptions.reuseEvents). */
  readonly reuseEvents: boolean;
}

/**
 * The engine's dispatch: from a provider event to the strategy's callbacks. Validates, orders
 * and routes each event through one slot per venue and symbol (its bar series and book), in the
 * engine's dispatch order (docs/engine.md): due timers first, then `onEvent`, then the kind's
 * callbacks (a book or order update applied to its book first, a status applied to books and
 * bars first), then consumers (`events()`, `onBatch`). A callback that throws is reported and
 * the others still run. The engine (engine.ts) owns the lifecycle and reconnects around it.
 */
export class Dispatcher {
  readonly bars: BarAggregator;
  l: Listeners = {
    trade: [],
    trades: [],
    quote: [],
    book: [],
    order: [],
    bar: [],
    status: [],
    gap: [],
    reconnect: [],
    error: [],
    event: [],
  };
  consumers: EventConsumer[] = [];
  /** Slots by symbol (a chain per symbol across venues). */
  private slots = new Map<string, Slot>();
  /** Books handed out by book(symbol) before any venue sent a book update for the symbol. */
  private pendingBooks = new Map<string, OrderBook>();
  symbols: readonly string[] = [];
  private symbolSet: ReadonlySet<string> = new Set();
  /** tsRecv of the last event, in a typed array (see the note in bars.ts on write barriers). */
  readonly last: BigInt64Array = BigInt64Array.of(MIN_TS);
  readonly counters = {
    trades: 0,
    quotes: 0,
    bookUpdates: 0,
    orderUpdates: 0,
    bars: 0,
    statuses: 0,
    rejected: 0,
    callbackErrors: 0,
    errors: 0,
    consoleErrors: 0,
    retiredDrops: 0,
  };

  constructor(
    private readonly clock: Clock,
    timers: TimerScheduler,
    private readonly options: DispatchOptions,
  ) {
    this.bars = new BarAggregator(timers, options.bars, (bar) => this.dispatch(bar, null));
  }

  add<K extends keyof Listeners>(kind: K, cb: Listeners[K][number]): Unsubscribe {
    if (typeof cb !== 'function') {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `${CALLBACK_NAMES[kind]}: expected a callback function, found ${describeValue(cb)}`,
      );
    }
    // Copy on write: a callback that registers or removes callbacks does not disturb the dispatch in progress.
    this.l = { ...this.l, [kind]: [...this.l[kind], cb] };
    return () => {
      const list = this.l[kind] as unknown[];
      const i = list.indexOf(cb);
      if (i >= 0) this.l = { ...this.l, [kind]: [...list.slice(0, i), ...list.slice(i + 1)] };
    };
  }

  /** The subscribed symbols of a run. */
  setSymbols(list: readonly string[]): void {
    this.symbols = list;
    this.symbolSet = new Set(list);
  }

  /** A new run: no slots, books or bars of the last one. */
  reset(): void {
    this.bars.reset();
    this.slots = new Map();
    this.slotCache = null;
    this.pendingBooks = new Map();
    this.last[0] = MIN_TS;
  }

  removeConsumer(c: EventConsumer): void {
    if (!this.consumers.includes(c)) return;
    this.counters.retiredDrops += c.dropped;
    this.consumers = this.consumers.filter((x) => x !== c);
  }

  /**
   * The slot of a venue and symbol, created on first use. One Map lookup: a last-hit cache was
   * measured to cost more (a string compare and a store per event) than it saves.
   */
  private slot(venue: string, symbol: string): Slot {
    const head = this.slots.get(symbol) ?? null;
    for (let x = head; x !== null; x = x.next) {
      if (x.venue === venue) return x;
    }
    const created: Slot = { venue, symbol, subscribed: this.symbolSet.has(symbol), book: null, series: null, next: head };
    this.slots.set(symbol, created);
    return created;
  }

  /** Entry point of provider events: validate, run due timers, dispatch. Kept small: it runs for every event. */
  ingest(e: MarketEvent): void {
    if (this.options.validate && !isWellFormed(e)) return this.rejectMalformed(e);
    const recv = e.tsRecv;
    if (recv < this.last[0]!) return this.rejectOutOfOrder(e);
    let slot: Slot | null = null;
    if (e.type !== 'status' || e.symbol !== ALL_SYMBOLS) {
      slot = this.slot(e.venue, e.symbol);
      if (!slot.subscribed) return this.rejectUnsubscribed(e);
    }
    this.last[0] = recv;
    this.clock.runDue(recv);
    // Callbacks and consumers registered while this event is dispatched start with the next one.
    const l = this.l;
    const consumers = this.consumers;
    if (l.event.length > 0) this.callEach(l.event, e, 'event');
    if (e.type === 'trade') this.dispatchTrade(e, slot!, l, consumers);
    else this.dispatch(e, slot, l, consumers);
  }

  /**
   * Consecutive trades as columns (a trusted provider's `pushTrades`): what {@link ingest} does
   * for each row, in order, without building an event per row unless a callback needs one.
   * Timers due between rows fire between them: the rows are cut at each due time, and
   * `onTrades` callbacks get each cut once its rows went through `onEvent`, bars, `onTrade`
   * and consumers. Rows of an unsubscribed symbol, or out of order, take the per-event path
   * (which rejects them). `go` is checked after each row a callback saw (and between cuts):
   * false once the connection closed (a callback stopped the engine) or the provider wants the
   * rest back (a callback paused or sought); the rows from there are not dispatched. Returns
   * the index of the first row not dispatched (`b.end` when all were).
   */
  ingestTrades(b: TradeBatch, go: () => boolean): number {
    const end = b.end;
    let i = b.start;
    const tsRecv = b.tsRecv;
    if (this.options.validate || b.venues.length !== 1) {
      for (; i < end; i++) {
        if (i > b.start && !go()) return i;
        this.ingest(b.trade(i));
      }
      return end;
    }
    const slots = this.slotsOf(b);
    const codes = b.symbolCodes;
    // The times compared as 32-bit halves (high signed, low unsigned): no bigint per row.
    const words = this.wordsOf(tsRecv);
    const hi = words.hi;
    const lo = words.lo;
    const bound = this.bound;
    while (i < end) {
      if (i > b.start && !go()) return i;
      const first = tsRecv[i]!;
      if (first < this.last[0]! || slots[codes[i]!] === null) {
        this.ingest(b.trade(i++)); // out of order, or not subscribed: rejected and reported there
        continue;
      }
      // As `ingest`: the timers due, then this row whatever they did (a pause, seek or stop they
      // asked for takes effect after it).
      this.clock.runDue(first);
      // Rows up to the next timer (or the end), in order and subscribed.
      const due = this.clock.nextDue();
      let dueHi = 0x7fffffff;
      let dueLo = 0xffffffff;
      if (due !== null) {
        bound[0] = due;
        dueHi = this.boundHi[1]!;
        dueLo = this.boundLo[0]!;
      }
      let stop = i + 1;
      let prevHi = hi[2 * i + 1]!;
      let prevLo = lo[2 * i]!;
      while (stop < end) {
        const h = hi[2 * stop + 1]!;
        const w = lo[2 * stop]!;
        if (h < prevHi || (h === prevHi && w < prevLo)) break; // out of order
        if (h > dueHi || (h === dueHi && w >= dueLo)) break; // a timer is due first
        if (slots[codes[stop]!] === null) break;
        prevHi = h;
        prevLo = w;
        stop++;
      }
      // The lists of this cut: a callback that adds or removes one ends the cut after its row.
      const l = this.l.trades;
      const reached = this.tradeRows(b, slots, i, stop, go, hi, lo);
      this.last[0] = tsRecv[reached - 1]!;
      this.clock.runDue(this.last[0]); // the clock at the cut's last row (nothing is due before it)
      if (l.length > 0) {
        const view = this.batchView.set(b, i, reached);
        for (let k = 0; k < l.length; k++) {
          try {
            l[k]!(view);
          } catch (error) {
            this.callbackFailed(error, 'trades', k);
          }
        }
      }
      i = reached; // short of `stop`: a callback wants to stop (checked above), or a timer set by this cut is due
    }
    return end;
  }

  /** The clock's next due time as 32-bit halves, recomputed when it changes. */
  private dueKey: bigint | null = null;
  private dueHi = 0x7fffffff;
  private dueLo = 0xffffffff;

  /** True if a timer is due at or before row `r`'s receive time (compared without a bigint per row). */
  private dueAt(r: number, hi: Int32Array, lo: Uint32Array): boolean {
    const due = this.clock.nextDue();
    if (due === null) return false;
    if (due !== this.dueKey) {
      this.dueKey = due;
      this.bound[0] = due;
      this.dueHi = this.boundHi[1]!;
      this.dueLo = this.boundLo[0]!;
    }
    const h = hi[2 * r + 1]!;
    return h > this.dueHi || (h === this.dueHi && lo[2 * r]! >= this.dueLo);
  }

  private readonly batchView = new TradeBatchView();
  private readonly bound = new BigInt64Array(1);
  private readonly boundHi = new Int32Array(this.bound.buffer);
  private readonly boundLo = new Uint32Array(this.bound.buffer);
  private wordsCache: { of: BigInt64Array; hi: Int32Array; lo: Uint32Array } | null = null;

  /** 32-bit views of a time column (little-endian: the low word first). */
  private wordsOf(ts: BigInt64Array): { hi: Int32Array; lo: Uint32Array } {
    const c = this.wordsCache;
    if (c !== null && c.of === ts) return c;
    const w = {
      of: ts,
      hi: new Int32Array(ts.buffer, ts.byteOffset, ts.length * 2),
      lo: new Uint32Array(ts.buffer, ts.byteOffset, ts.length * 2),
    };
    this.wordsCache = w;
    return w;
  }
  /** Where the reused trade of {@link EngineOptions.reuseEvents} reads: a row of a batch. */
  private readonly at: RowRef = { batch: EMPTY_BATCH, r: 0 };
  /** The reused trade of rows dispatched from columns (EngineOptions.reuseEvents). */
  private readonly flyweight = rowTrade(this.at);
  private slotCache: { symbols: readonly string[]; venue: string; slots: (Slot | null)[] } | null = null;

  /** The slot of each symbol code of a one-venue batch (null: not subscribed), cached per symbol list. */
  private slotsOf(b: TradeBatch): (Slot | null)[] {
    const venue = b.venues[0]!;
    const c = this.slotCache;
    if (c !== null && c.symbols === b.symbols && c.venue === venue) return c.slots;
    const slots = b.symbols.map((symbol) => {
      const slot = this.slot(venue, symbol);
      return slot.subscribed ? slot : null;
    });
    this.slotCache = { symbols: b.symbols, venue, slots };
    return slots;
  }

  /**
   * Rows `i`..`stop` of a batch, all in order, subscribed and before the next timer. Returns the
   * row after the last one dispatched (`stop`, or earlier when `go` says so after a callback).
   */
  private tradeRows(
    b: TradeBatch,
    slots: readonly (Slot | null)[],
    i: number,
    stop: number,
    go: () => boolean,
    hi: Int32Array,
    lo: Uint32Array,
  ): number {
    const l = this.l;
    const consumers = this.consumers;
    const codes = b.symbolCodes;
    const tsRecv = b.tsRecv;
    // Per-row work (bars, callbacks) may set timers (a bar's close, a strategy's own): each row
    // first moves the clock to its time, and the cut ends before a row a new timer is due at.
    if (l.event.length > 0 || consumers.length > 0 || (l.trade.length > 0 && !this.options.reuseEvents)) {
      // A callback may keep the event: a new one per row.
      const rows = this.bars.active ? this.bars.rowsOf(b) : null;
      for (let r = i; r < stop; r++) {
        if (r > i && (!go() || this.dueAt(r, hi, lo) || this.l !== l || this.consumers !== consumers)) return r;
        this.clock.runDue(tsRecv[r]!);
        const e = b.trade(r);
        if (l.event.length > 0) this.callEach(l.event, e, 'event');
        this.dispatchTrade(e, slots[codes[r]!]!, l, consumers, true, rows, r);
      }
      return stop;
    }
    const list = l.trade;
    if (!this.bars.active && list.length === 0) {
      this.counters.trades += stop - i;
      return stop;
    }
    const fw = this.flyweight;
    const at = this.at;
    const venue = b.venues[0]!;
    const symbols = b.symbols;
    const bars = this.bars.active ? this.bars : null;
    // Bars read the columns as 32-bit halves (no bigint per row).
    const rows = bars !== null ? bars.rowsOf(b) : null;
    // Without a per-row callback only the bars run per row, and only a bucket they open sets a
    // timer (its close): nothing else can be due, nor can the listeners change, until one is.
    // The clock is moved to the cut's last row after it (see ingestTrades).
    let opened = bars !== null ? bars.bucketsOpened : 0;
    for (let r = i; r < stop; r++) {
      if (r > i) {
        if (list.length > 0) {
          if (!go() || this.dueAt(r, hi, lo) || this.l !== l || this.consumers !== consumers) return r;
        } else if (bars !== null && bars.bucketsOpened !== opened) {
          opened = bars.bucketsOpened;
          if (this.dueAt(r, hi, lo) || this.l !== l || this.consumers !== consumers) return r;
        }
      }
      this.counters.trades++;
      const code = codes[r]!;
      // For the callbacks' clock. Timers are due only at a new time: the run was cut before any row one is due at.
      if (list.length > 0 && (r === i || hi[2 * r + 1] !== hi[2 * r - 1] || lo[2 * r] !== lo[2 * r - 2])) this.clock.runDue(tsRecv[r]!);
      if (bars !== null) {
        const slot = slots[code]!;
        try {
          bars.addRow((slot.series ??= bars.series(venue, symbols[code]!)), rows!, r);
        } catch (error) {
          this.report(error);
        }
      }
      if (list.length === 0) continue;
      at.batch = b; // each row: a callback may have dispatched other columns meanwhile
      at.r = r;
      for (let k = 0; k < list.length; k++) {
        try {
          list[k]!(fw);
        } catch (error) {
          this.callbackFailed(error, 'trade', k);
        }
      }
    }
    return stop;
  }

  private rejectMalformed(e: MarketEvent): void {
    this.counters.rejected++;
    try {
      validateEvent(e);
      this.report(new ProviderError('MDCAP_ERR_PROVIDER_CONTRACT', `${describeValue(e)}: not an event the engine accepts`));
    } catch (error) {
      this.report(error);
    }
  }

  private rejectOutOfOrder(e: MarketEvent): void {
    this.counters.rejected++;
    this.report(
      new ProviderError(
        'MDCAP_ERR_OUT_OF_ORDER',
        `${e.type} ${e.venue}:${e.symbol}: expected tsRecv at or after ${this.last[0]}, found ${e.tsRecv} (${this.last[0]! - e.tsRecv} ns earlier); events must arrive in tsRecv order`,
      ),
    );
  }

  private rejectUnsubscribed(e: MarketEvent): void {
    this.counters.rejected++;
    this.contractError(`${e.type} for ${e.venue}:${e.symbol}, a symbol that was not subscribed (subscribed: ${this.symbols.join(', ')})`);
  }

  /** Calls each listener with `e`; one that throws is reported and the rest still run. */
  private callEach<A>(list: readonly Listener<[A]>[], e: A, kind: keyof Listeners): void {
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(e);
      } catch (error) {
        this.callbackFailed(error, kind, i);
      }
    }
  }

  /**
   * The hot path: one trade into bars, callbacks and consumers.
   * @param inBatch the trade is a row of columns whose `onTrades` batch follows (not a batch of
   *   its own here)
   * @param rows the columns of that batch for the bars ({@link BarAggregator.rowsOf}), `e` their row `r`
   */
  private dispatchTrade(
    e: Trade,
    slot: Slot,
    l: Listeners,
    consumers: readonly EventConsumer[],
    inBatch = false,
    rows: TradeRows | null = null,
    r = 0,
  ): void {
    this.counters.trades++;
    if (this.bars.active) {
      try {
        const series = (slot.series ??= this.bars.series(e.venue, e.symbol));
        // A row of columns goes into the bars from its columns (no bigint to split).
        if (rows !== null) this.bars.addRow(series, rows, r);
        else this.bars.addTrade(series, e);
      } catch (error) {
        this.report(error);
      }
    }
    const list = l.trade;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(e);
      } catch (error) {
        this.callbackFailed(error, 'trade', i);
      }
    }
    if (consumers.length > 0) toConsumers(consumers, e);
    if (!inBatch && l.trades.length > 0) this.tradeAsBatch(e, l.trades);
  }

  private single: SingleTrade | null = null;

  /** A trade that did not come as columns: a batch of one for `onTrades`. */
  private tradeAsBatch(e: Trade, list: readonly Listener<[TradeBatch]>[]): void {
    const view = this.batchView.set((this.single ??= new SingleTrade()).of(e), 0, 1);
    for (let k = 0; k < list.length; k++) {
      try {
        list[k]!(view);
      } catch (error) {
        this.callbackFailed(error, 'trades', k);
      }
    }
  }

  /** Every other kind, and the engine's own events (bars, statuses). */
  dispatch(e: MarketEvent, slot: Slot | null, l: Listeners = this.l, consumers: readonly EventConsumer[] = this.consumers): void {
    switch (e.type) {
      case 'trade':
        this.dispatchTrade(e, slot ?? this.slot(e.venue, e.symbol), l, consumers);
        return;
      case 'quote':
        this.counters.quotes++;
        this.callEach(l.quote, e, 'quote');
        break;
      case 'book':
      case 'order': {
        const sl = slot ?? this.slot(e.venue, e.symbol);
        const book = (sl.book ??= this.newBook(e.venue, e.symbol));
        let crossed = false;
        if (e.type === 'book') this.counters.bookUpdates++;
        else this.counters.orderUpdates++;
        if (this.options.books) {
          try {
            crossed = e.type === 'book' ? book.applyBookUpdate(e) : book.applyOrderUpdate(e);
          } catch (error) {
            this.report(error);
          }
        }
        const list = (e.type === 'book' ? l.book : l.order) as Listener<[BookUpdate | OrderUpdate, BookView]>[];
        for (let i = 0; i < list.length; i++) {
          try {
            list[i]!(e, book);
          } catch (error) {
            this.callbackFailed(error, e.type, i);
          }
        }
        if (consumers.length > 0) toConsumers(consumers, e);
        if (crossed) this.dispatch(crossedStatus(e, book), sl);
        return;
      }
      case 'bar':
        this.counters.bars++;
        this.callEach(l.bar, e, 'bar');
        break;
      case 'status':
        this.counters.statuses++;
        this.applyStatus(e);
        this.callEach(l.status, e, 'status');
        if (e.kind === 'gap') this.callEach(l.gap, e, 'gap');
        else if (e.kind === 'reconnected') this.callEach(l.reconnect, e, 'reconnect');
        break;
    }
    if (consumers.length > 0) toConsumers(consumers, e);
  }

  /** A book for a venue and symbol: the one book(symbol) already handed out, if any. */
  private newBook(venue: string, symbol: string): OrderBook {
    const pending = this.pendingBooks.get(symbol);
    if (pending === undefined) return new OrderBook(venue, symbol);
    this.pendingBooks.delete(symbol);
    pending.bindVenue(venue);
    return pending;
  }

  private applyStatus(s: Status): void {
    if (this.bars.active) this.bars.onStatus(s);
    if (!INVALIDATING.has(s.kind) && !(s.kind === 'checksum' && s.ok === false)) return;
    if (s.symbol === ALL_SYMBOLS) {
      for (const head of this.slots.values()) {
        for (let x: Slot | null = head; x !== null; x = x.next) if (x.venue === s.venue) x.book?.invalidate();
      }
    } else {
      this.slot(s.venue, s.symbol).book?.invalidate();
    }
  }

  /**
   * The order book of a subscribed symbol. `venue` may be left out when only one venue has (or
   * will have) a book for the symbol.
   * @throws {MdcapError} `MDCAP_ERR_UNKNOWN_SYMBOL` for a symbol that was not subscribed,
   *   `MDCAP_ERR_INVALID_OPTION` when the venue is ambiguous or books are off.
   */
  book(symbol: string, venue?: string): BookView {
    if (!this.options.books) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', 'book: order books are turned off (options.books is false)');
    }
    if (!this.symbolSet.has(symbol)) {
      throw new MdcapError(
        'MDCAP_ERR_UNKNOWN_SYMBOL',
        `book: expected a subscribed symbol (${this.symbols.join(', ') || 'none yet'}), found ${describeValue(symbol)}`,
        { details: { symbol } },
      );
    }
    if (venue !== undefined) {
      const sl = this.slot(venue, symbol);
      return (sl.book ??= this.newBook(venue, symbol));
    }
    const candidates: OrderBook[] = [];
    for (let x = this.slots.get(symbol) ?? null; x !== null; x = x.next) if (x.book !== null) candidates.push(x.book);
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length === 0) {
      // No venue has sent a book update yet: hand out a book that the first venue to send one adopts.
      let pending = this.pendingBooks.get(symbol);
      if (pending === undefined) {
        pending = new OrderBook(this.options.venue, symbol);
        this.pendingBooks.set(symbol, pending);
      }
      return pending;
    }
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `book: ${symbol} has books on ${candidates.map((b) => b.venue).join(' and ')}; expected a venue argument, found none`,
    );
  }

  /**
   * A status of the engine's own (`disconnected`, `reconnected`) at `now` (or the last event's
   * time, if later): due timers first, then `onEvent` and the status callbacks, as a provider's.
   */
  emitStatus(venue: string, kind: 'disconnected' | 'reconnected', detail: string): void {
    let now = this.clock.now();
    if (now < this.last[0]!) now = this.last[0]!;
    this.last[0] = now;
    this.clock.runDue(now);
    const status = createStatus({ venue, symbol: ALL_SYMBOLS, tsEvent: now, tsRecv: now, kind, detail });
    const l = this.l;
    const consumers = this.consumers;
    if (l.event.length > 0) this.callEach(l.event, status, 'event');
    this.dispatch(status, null, l, consumers);
  }

  /** Number of order books. */
  bookCount(): number {
    let books = 0;
    if (this.options.books) {
      for (const head of this.slots.values()) for (let x: Slot | null = head; x !== null; x = x.next) if (x.book !== null) books++;
    }
    return books;
  }

  /** Events dispatched, by type. */
  eventCounts(): Record<EventType, number> {
    const c = this.counters;
    return { trade: c.trades, quote: c.quotes, book: c.bookUpdates, order: c.orderUpdates, bar: c.bars, status: c.statuses };
  }

  wrapCallbackError(error: unknown, what: string): CallbackError {
    return new CallbackError('MDCAP_ERR_CALLBACK', `${what} threw: ${errorText(error)}`, { cause: error, details: { callback: what } });
  }

  private callbackFailed(error: unknown, kind: keyof Listeners, index: number): void {
    this.counters.callbackErrors++;
    this.report(this.wrapCallbackError(error, `${CALLBACK_NAMES[kind]} callback #${index + 1}`));
  }

  contractError(message: string): void {
    this.report(new ProviderError('MDCAP_ERR_PROVIDER_CONTRACT', message));
  }

  report(error: unknown): void {
    const e = toMdcapError(error, 'MDCAP_ERR_PROVIDER_CONTRACT', 'unexpected error');
    this.counters.errors++;
    const list = this.l.error;
    if (list.length === 0) {
      // Never silent: without an onError callback, errors go to stderr (the first few).
      if (this.counters.consoleErrors++ < MAX_CONSOLE_ERRORS) {
        printError(
          `mdcap engine: ${e.toString()}${this.counters.consoleErrors === MAX_CONSOLE_ERRORS ? ' (further errors are counted in stats().errors only)' : ''}`,
        );
      }
      return;
    }
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(e);
      } catch {
        // An onError callback that throws has nowhere left to report to; it is counted.
        this.counters.callbackErrors++;
      }
    }
  }
}

export function toConsumers(consumers: readonly EventConsumer[], e: MarketEvent): void {
  for (let i = 0; i < consumers.length; i++) {
    const c = consumers[i]!;
    if (c.accepts(e.type)) c.push(e);
  }
}

export function errorText(error: unknown): string {
  if (error instanceof MdcapError) return error.toString();
  if (error instanceof Error) return error.message;
  return describeValue(error);
}

export function toMdcapError(error: unknown, code: MdcapError['code'], context: string): MdcapError {
  if (error instanceof MdcapError) return error;
  return new ProviderError(code, `${context}: ${errorText(error)}`, { cause: error });
}

function crossedStatus(e: BookUpdate | OrderUpdate, book: BookView): Status {
  const bid = book.bestBidPrice()!;
  const ask = book.bestAskPrice()!;
  const fmt = (p: bigint): string => formatDecimal(p, book.priceScale);
  return createStatus({
    venue: e.venue,
    symbol: e.symbol,
    tsEvent: e.tsEvent,
    tsRecv: e.tsRecv,
    seq: e.seq,
    kind: 'crossed',
    detail: `best bid ${fmt(bid)} ${bid === ask ? '=' : '>'} best ask ${fmt(ask)} (${bid === ask ? 'locked' : 'crossed'} book)`,
  });
}

/** One trade as columns of length 1 (reused). */
class SingleTrade implements TradeColumns {
  readonly tsRecv = new BigInt64Array(1);
  readonly tsEvent = new BigInt64Array(1);
  readonly price = new BigInt64Array(1);
  readonly size = new BigInt64Array(1);
  readonly priceScale = new Uint8Array(1);
  readonly sizeScale = new Uint8Array(1);
  readonly venueCodes = new Int32Array(1);
  readonly venues: string[] = [''];
  readonly symbolCodes = new Int32Array(1);
  readonly symbols: string[] = [''];
  readonly sideCodes = new Int32Array(1);
  readonly sides: AggressorSide[] = ['none'];
  private e: Trade | null = null;

  of(e: Trade): this {
    this.e = e;
    this.tsRecv[0] = e.tsRecv;
    this.tsEvent[0] = e.tsEvent;
    this.price[0] = e.price;
    this.size[0] = e.size;
    this.priceScale[0] = e.priceScale;
    this.sizeScale[0] = e.sizeScale;
    this.venues[0] = e.venue;
    this.symbols[0] = e.symbol;
    this.sides[0] = e.side;
    return this;
  }

  trade(): Trade {
    return this.e!;
  }

  seqAt(): bigint | null {
    return this.e!.seq;
  }

  tradeIdAt(): string | null {
    return this.e!.tradeId;
  }
}

/** A row of trade columns: where {@link rowTrade} reads. */
interface RowRef {
  batch: TradeBatch;
  r: number;
}

const EMPTY_BATCH = new TradeBatchView();

/**
 * One trade object that reads row `at.r` of `at.batch` when a field is asked for: a callback
 * pays for the fields it reads, not for all twelve (each 64-bit one a bigint, the trade id a
 * string). The fields are own enumerable accessors, so `{ ...trade }` and `JSON`-style copies
 * take the values of the row at the time of the copy.
 */
function rowTrade(at: RowRef): Trade {
  const t = {} as Record<string, unknown>;
  const field = (name: keyof Trade, get: () => unknown): void => {
    Object.defineProperty(t, name, { get, enumerable: true });
  };
  Object.defineProperty(t, 'type', { value: 'trade', enumerable: true });
  field('venue', () => at.batch.venues[at.batch.venueCodes[at.r]!]);
  field('symbol', () => at.batch.symbols[at.batch.symbolCodes[at.r]!]);
  field('tsEvent', () => at.batch.tsEvent[at.r]);
  field('tsRecv', () => at.batch.tsRecv[at.r]);
  field('seq', () => at.batch.seqAt(at.r));
  field('price', () => at.batch.price[at.r]);
  field('size', () => at.batch.size[at.r]);
  field('priceScale', () => at.batch.priceScale[at.r]);
  field('sizeScale', () => at.batch.sizeScale[at.r]);
  field('side', () => at.batch.sides[at.batch.sideCodes[at.r]!]);
  field('tradeId', () => at.batch.tradeIdAt(at.r));
  return t as unknown as Trade;
}
