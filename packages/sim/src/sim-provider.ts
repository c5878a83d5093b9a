import {
  ALL_SYMBOLS,
  BookFlags,
  ConfigError,
  createBookUpdate,
  createQuote,
  createStatus,
  createTrade,
  describeValue,
  isoToNs,
  MdcapError,
  nextTurn,
  parseDecimal,
  PauseGate,
  ProviderError,
  SUBSCRIPTION_KINDS,
  VirtualClock,
} from '@mdcap/core';
import type { BookSide, Clock, DataProvider, EventSink, Instrument, MarketEvent, SubscriptionKind } from '@mdcap/core';
import { Random } from './random.js';

/** One simulated instrument. */
export interface SimSymbol {
  readonly symbol: string;
  /** Starting mid price, decimal text. */
  readonly price: string;
  readonly priceScale: number;
  readonly sizeScale: number;
  /** Price increment, decimal text (default: one unit of the last price digit). */
  readonly tick?: string;
  /** Typical resting size in lots (size mantissa units, default 100). */
  readonly lot?: number;
}

export const DEFAULT_SIM_SYMBOLS: readonly SimSymbol[] = [
  { symbol: 'AAPL', price: '185.00', priceScale: 2, sizeScale: 0, lot: 100 },
  { symbol: 'MSFT', price: '375.00', priceScale: 2, sizeScale: 0, lot: 100 },
  { symbol: 'BTC-USD', price: '42000.00', priceScale: 2, sizeScale: 8, tick: '0.50', lot: 5_000_000 },
];

/** 2024-01-02T14:30:00Z, a US market open: the default start of virtual time. */
export const DEFAULT_SIM_START: bigint = isoToNs('2024-01-02T14:30:00Z');

export interface SimFaults {
  /** Every n-th packet of a symbol is "lost": a `gap` status, then a fresh snapshot. */
  readonly gapEvery?: number;
  /** Drop the connection after this many packets (once per connection). */
  readonly disconnectAfter?: number;
  /** The first n reconnect attempts fail. */
  readonly failReconnects?: number;
}

export interface SimOptions {
  /** Seed of the market (default 1). Same seed, same market, on every machine. */
  readonly seed?: number;
  /** Venue name (default `demo`). */
  readonly venue?: string;
  /** Instruments (default AAPL, MSFT, BTC-USD). */
  readonly symbols?: readonly SimSymbol[];
  /** Clock (default a VirtualClock at {@link DEFAULT_SIM_START}: the simulation runs as fast as it can). */
  readonly clock?: Clock;
  /** Simulated time after which the data ends, in ns (default: never). */
  readonly durationNs?: bigint;
  /** Mean venue packets per second across all symbols (default 200). */
  readonly packetsPerSecond?: number;
  /** Levels per side: the book starts with this many and never has fewer (up to 5 more while prices improve). Default 10. */
  readonly depth?: number;
  readonly faults?: SimFaults;
}

interface Level {
  tick: number; // price in ticks
  size: number; // lots
}

interface SymbolState {
  readonly def: SimSymbol;
  readonly tickMantissa: bigint;
  readonly lot: number;
  readonly bids: Level[]; // best first
  readonly asks: Level[]; // best first
  seq: bigint;
  packets: number;
  tradeId: number;
  kinds: ReadonlySet<SubscriptionKind> | null; // null: not subscribed
}

/**
 * A seeded, deterministic market: random-walk trades against an L2 book that starts with a
 * snapshot and then moves by deltas, quotes that always match the book's top, per-symbol
 * sequence numbers, and, on request, sequence gaps (with a resync snapshot), dropped connections
 * and failing reconnects. On a {@link VirtualClock} (the default) it runs as fast as the consumer
 * takes events and drives the clock itself; on a `LiveClock` it paces packets in wall time.
 *
 * The market evolves the same whatever is subscribed: the events of one symbol do not depend on
 * which other symbols a run asked for.
 */
export class SimProvider implements DataProvider {
  readonly venue: string;
  readonly clock: Clock;
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS.filter((k) => k !== 'order' && k !== 'bar');
  /** Every event comes from the validating `create*` factories. */
  readonly validatesEvents = true;
  private readonly rng: Random;
  private readonly states: SymbolState[];
  private readonly bySymbol = new Map<string, SymbolState>();
  private readonly meanGapNs: number;
  private readonly depth: number;
  private readonly endAt: bigint | null;
  private readonly faults: SimFaults;
  private sink: EventSink | null = null;
  private connected = false;
  private delivering = false;
  private pumping = false;
  private readonly gate = new PauseGate();
  private nextAt: bigint;
  private readonly startAt: bigint;
  /** Set when the simulated connection drops; reconnect attempts may then fail on purpose. */
  private dropped = false;
  private failedReconnects = 0;
  private packetsThisConnection = 0;
  private liveTimer: number | null = null;
  private ended = false;
  /** Times of every connect() call, in ns (for tests of the reconnect schedule). */
  readonly connectTimes: bigint[] = [];

  constructor(options: SimOptions = {}) {
    this.venue = options.venue ?? 'demo';
    this.rng = new Random(checkInt('seed', options.seed ?? 1, 0, 2 ** 32 - 1));
    this.clock = options.clock ?? new VirtualClock(DEFAULT_SIM_START);
    const pps = options.packetsPerSecond ?? 200;
    if (typeof pps !== 'number' || !(pps >= 1) || pps > 10_000_000) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `sim packetsPerSecond: expected a number from 1 to 1e7, found ${describeValue(pps)}`,
      );
    }
    this.meanGapNs = Math.max(1, Math.round(1e9 / pps));
    this.depth = checkInt('depth', options.depth ?? 10, 1, 1000);
    if (options.durationNs !== undefined && (typeof options.durationNs !== 'bigint' || options.durationNs <= 0n)) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `sim durationNs: expected a positive bigint of nanoseconds, found ${describeValue(options.durationNs)}`,
      );
    }
    this.startAt = this.clock.now();
    this.nextAt = this.startAt;
    this.endAt = options.durationNs === undefined ? null : this.startAt + options.durationNs;
    this.faults = options.faults ?? {};
    for (const k of ['gapEvery', 'disconnectAfter', 'failReconnects'] as const) {
      const v = this.faults[k];
      if (v !== undefined) checkInt(`faults.${k}`, v, 1, 2 ** 31);
    }
    const defs: readonly SimSymbol[] = options.symbols ?? DEFAULT_SIM_SYMBOLS;
    if (!isList(defs) || defs.length === 0) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `sim symbols: expected a non-empty array, found ${describeValue(defs)}`);
    }
    this.states = defs.map((def) => this.initSymbol(def));
  }

  private initSymbol(def: SimSymbol): SymbolState {
    const tickMantissa = def.tick === undefined ? 1n : parseDecimal(def.tick, def.priceScale);
    if (tickMantissa <= 0n) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `sim ${def.symbol} tick: expected a positive price step, found ${def.tick}`);
    }
    const mid = Number(parseDecimal(def.price, def.priceScale) / tickMantissa);
    const lot = checkInt(`${def.symbol} lot`, def.lot ?? 100, 1, 1_000_000_000);
    const st: SymbolState = { def, tickMantissa, lot, bids: [], asks: [], seq: 0n, packets: 0, tradeId: 0, kinds: null };
    for (let i = 0; i < this.depth; i++) {
      st.bids.push({ tick: mid - 1 - i, size: this.size(lot) });
      st.asks.push({ tick: mid + 1 + i, size: this.size(lot) });
    }
    if (this.bySymbol.has(def.symbol)) throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `sim symbols: ${def.symbol} appears twice`);
    this.bySymbol.set(def.symbol, st);
    return st;
  }

  private size(lot: number): number {
    return lot * this.rng.int(1, 10) + this.rng.int(0, lot - 1);
  }

  instruments(): Instrument[] {
    return this.states.map((s) => ({
      venue: this.venue,
      symbol: s.def.symbol,
      priceScale: s.def.priceScale,
      sizeScale: s.def.sizeScale,
      kind: 'spot',
      tickSize: s.tickMantissa,
    }));
  }

  /** Symbols the simulator knows. */
  get symbols(): string[] {
    return this.states.map((s) => s.def.symbol);
  }

  connect(sink: EventSink): Promise<void> {
    this.connectTimes.push(this.clock.now());
    if (this.dropped && this.failedReconnects < (this.faults.failReconnects ?? 0)) {
      this.failedReconnects++;
      return Promise.reject(
        new ProviderError('MDCAP_ERR_CONNECT_FAILED', `${this.venue}: simulated reconnect failure ${this.failedReconnects}`),
      );
    }
    this.dropped = false;
    this.sink = sink;
    this.connected = true;
    this.packetsThisConnection = 0;
    const now = this.clock.now();
    this.emit(
      createStatus({ venue: this.venue, symbol: ALL_SYMBOLS, tsEvent: now, tsRecv: now, kind: 'connected', detail: 'simulated venue' }),
    );
    return Promise.resolve();
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    const st = this.bySymbol.get(symbol);
    if (st === undefined) {
      return Promise.reject(
        new MdcapError(
          'MDCAP_ERR_UNKNOWN_SYMBOL',
          `${this.venue}: expected one of ${this.symbols.join(', ')}, found ${describeValue(symbol)}`,
          {
            details: { symbol },
          },
        ),
      );
    }
    st.kinds = new Set(kinds);
    return Promise.resolve();
  }

  unsubscribe(symbol: string): Promise<void> {
    const st = this.bySymbol.get(symbol);
    if (st !== undefined) st.kinds = null;
    return Promise.resolve();
  }

  ready(): void {
    if (!this.connected) return;
    if (this.ended) {
      // The simulated market is over: a new run gets no data, and is told so.
      const sink = this.sink;
      void nextTurn().then(() => sink?.end());
      return;
    }
    // After a reconnect the world has moved on: packets while disconnected are lost.
    const now = this.clock.now();
    if (this.nextAt < now) this.nextAt = now;
    for (const st of this.states) if (st.kinds?.has('book') === true) this.snapshot(st, now);
    for (const st of this.states) if (st.kinds?.has('quote') === true) this.quote(st, now, now);
    this.delivering = true;
    this.ensureRunning();
  }

  disconnect(): Promise<void> {
    this.connected = false;
    this.delivering = false;
    this.sink = null;
    if (this.liveTimer !== null) {
      this.clock.clearTimer(this.liveTimer);
      this.liveTimer = null;
    }
    this.gate.resume();
    return Promise.resolve();
  }

  /** `await using` support: disconnects at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
    if (this.clock.kind === 'live' && this.delivering) {
      const now = this.clock.now();
      if (this.nextAt < now) this.nextAt = now; // packets while paused were not sent, not queued
      this.scheduleLive();
    }
  }

  private emit(e: MarketEvent): void {
    this.sink?.push(e);
  }

  private ensureRunning(): void {
    if (this.clock.kind === 'live') {
      this.scheduleLive();
      return;
    }
    if (this.pumping) return;
    this.pumping = true;
    void this.pumpVirtual().finally(() => (this.pumping = false));
  }

  /** Virtual time: generate packets back to back; while disconnected, move time to the engine's next timer. */
  private async pumpVirtual(): Promise<void> {
    const clock = this.clock as VirtualClock;
    await nextTurn(); // let the caller of start() attach its consumers
    let sinceYield = 0;
    for (;;) {
      if (this.ended) return;
      if (this.gate.paused) {
        await this.gate.open();
        continue;
      }
      if (this.delivering) {
        this.step();
        if (++sinceYield >= 256) {
          sinceYield = 0;
          await nextTurn();
        }
        continue;
      }
      // Disconnected (a simulated drop): let the engine's reconnect timers run in virtual time.
      const due = clock.nextDue();
      if (due === null) return;
      if (typeof clock.advanceTo === 'function') clock.advanceTo(due > clock.now() ? due : clock.now());
      else clock.runDue(due);
      await nextTurn();
    }
  }

  private scheduleLive(): void {
    if (this.liveTimer !== null || !this.delivering || this.gate.paused) return;
    this.liveTimer = this.clock.setTimer(this.nextAt, () => {
      this.liveTimer = null;
      // Every packet due by now (a host timer fires at most about once a millisecond, and
      // late): at high rates several arrive per wakeup, as from a socket buffer.
      for (let n = 0; n < 10_000 && this.delivering && !this.gate.paused && this.nextAt <= this.clock.now(); n++) this.step();
      this.scheduleLive();
    });
  }

  /** One venue packet for one symbol: a trade, a book change, or (on request) a lost packet. */
  private step(): void {
    const live = this.clock.kind === 'live';
    const tsRecv = live ? this.clock.now() : this.nextAt;
    if (this.endAt !== null && tsRecv >= this.endAt) {
      this.finishData();
      return;
    }
    // Live, packets keep their schedule however late the timer fired (no drift in the rate).
    this.nextAt = (live ? this.nextAt : tsRecv) + BigInt(this.rng.int(1, 2 * this.meanGapNs - 1));
    const latency = BigInt(this.rng.int(100_000, 1_500_000));
    const tsEvent = tsRecv - latency < this.startAt ? this.startAt : tsRecv - latency;
    const st = this.states[this.rng.int(0, this.states.length - 1)]!;
    st.packets++;
    this.packetsThisConnection++;
    const gapEvery = this.faults.gapEvery;
    if (gapEvery !== undefined && st.packets % gapEvery === 0) {
      this.lostPacket(st, tsEvent, tsRecv);
    } else if (this.rng.chance(30)) {
      this.trade(st, tsEvent, tsRecv);
    } else {
      this.bookChange(st, tsEvent, tsRecv);
    }
    const dropAfter = this.faults.disconnectAfter;
    if (dropAfter !== undefined && this.packetsThisConnection === dropAfter && this.connected) {
      const sink = this.sink;
      this.connected = false;
      this.delivering = false;
      this.dropped = true;
      sink?.lost(new Error(`simulated disconnect after ${dropAfter} packets`));
    }
  }

  private finishData(): void {
    this.ended = true;
    this.delivering = false;
    const clock = this.clock;
    if (clock instanceof VirtualClock && this.endAt !== null && clock.now() < this.endAt) clock.advanceTo(this.endAt);
    const sink = this.sink;
    this.sink = null;
    sink?.end();
  }

  /** The next sequence number of a symbol. */
  private nextSeq(st: SymbolState): bigint {
    return ++st.seq;
  }

  private px(st: SymbolState, tick: number): bigint {
    return BigInt(tick) * st.tickMantissa;
  }

  private level(st: SymbolState, side: BookSide, l: Level, tsEvent: bigint, tsRecv: bigint, flags: number): void {
    if (st.kinds?.has('book') !== true) return;
    this.emit(
      createBookUpdate({
        venue: this.venue,
        symbol: st.def.symbol,
        tsEvent,
        tsRecv,
        seq: this.nextSeq(st),
        side,
        price: this.px(st, l.tick),
        size: BigInt(l.size),
        priceScale: st.def.priceScale,
        sizeScale: st.def.sizeScale,
        flags,
      }),
    );
  }

  private snapshot(st: SymbolState, now: bigint): void {
    const n = st.bids.length + st.asks.length;
    let i = 0;
    for (const [side, levels] of [
      ['bid', st.bids],
      ['ask', st.asks],
    ] as const) {
      for (const l of levels) {
        let flags: number = BookFlags.Snapshot;
        if (i === 0) flags |= BookFlags.SnapshotBegin;
        if (i === n - 1) flags |= BookFlags.SnapshotEnd | BookFlags.Last;
        this.level(st, side, l, now, now, flags);
        i++;
      }
    }
  }

  private quote(st: SymbolState, tsEvent: bigint, tsRecv: bigint): void {
    if (st.kinds?.has('quote') !== true) return;
    const b = st.bids[0];
    const a = st.asks[0];
    this.emit(
      createQuote({
        venue: this.venue,
        symbol: st.def.symbol,
        tsEvent,
        tsRecv,
        seq: this.nextSeq(st),
        bidPrice: b === undefined ? null : this.px(st, b.tick),
        bidSize: BigInt(b?.size ?? 0),
        askPrice: a === undefined ? null : this.px(st, a.tick),
        askSize: BigInt(a?.size ?? 0),
        priceScale: st.def.priceScale,
        sizeScale: st.def.sizeScale,
      }),
    );
  }

  private trade(st: SymbolState, tsEvent: bigint, tsRecv: bigint): void {
    const buy = this.rng.chance(50);
    const book = buy ? st.asks : st.bids;
    const side: BookSide = buy ? 'ask' : 'bid';
    const top = book[0]!;
    const size = Math.min(top.size, this.rng.int(1, 3 * st.lot));
    st.tradeId++;
    if (st.kinds?.has('trade') === true) {
      this.emit(
        createTrade({
          venue: this.venue,
          symbol: st.def.symbol,
          tsEvent,
          tsRecv,
          seq: this.nextSeq(st),
          price: this.px(st, top.tick),
          size: BigInt(size),
          priceScale: st.def.priceScale,
          sizeScale: st.def.sizeScale,
          side: buy ? 'buy' : 'sell',
          tradeId: String(st.tradeId),
        }),
      );
    }
    top.size -= size;
    if (top.size === 0) {
      book.shift();
      const refill = book.length < this.depth;
      this.level(st, side, { tick: top.tick, size: 0 }, tsEvent, tsRecv, refill ? 0 : BookFlags.Last);
      if (refill) this.refill(st, side, tsEvent, tsRecv);
    } else {
      this.level(st, side, top, tsEvent, tsRecv, BookFlags.Last);
    }
    this.quote(st, tsEvent, tsRecv);
  }

  /** Adds levels behind the worst one until the side has `depth` levels again. */
  private refill(st: SymbolState, side: BookSide, tsEvent: bigint, tsRecv: bigint): void {
    const book = side === 'bid' ? st.bids : st.asks;
    const dir = side === 'bid' ? -1 : 1;
    while (book.length < this.depth) {
      const worst = book[book.length - 1];
      const other = side === 'bid' ? st.asks[0] : st.bids[0];
      const tick = worst !== undefined ? worst.tick + dir * this.rng.int(1, 2) : other!.tick + dir;
      const l = { tick, size: this.size(st.lot) };
      book.push(l);
      this.level(st, side, l, tsEvent, tsRecv, book.length === this.depth ? BookFlags.Last : 0);
    }
  }

  private bookChange(st: SymbolState, tsEvent: bigint, tsRecv: bigint): void {
    const sideIsBid = this.rng.chance(50);
    const side: BookSide = sideIsBid ? 'bid' : 'ask';
    const book = sideIsBid ? st.bids : st.asks;
    const other = sideIsBid ? st.asks : st.bids;
    const dir = sideIsBid ? 1 : -1; // towards the spread
    const r = this.rng.int(0, 99);
    const topBefore = book[0]!;
    const topTick = topBefore.tick;
    const topSize = topBefore.size;
    const spread = Math.abs(other[0]!.tick - topTick);
    // The wider the spread, the likelier someone improves it: keeps the book near one tick wide.
    if (spread > 1 && r < Math.min(70, 15 + 15 * (spread - 1))) {
      // Improve the price: a new best level inside the spread.
      const l = { tick: topTick + dir * this.rng.int(1, Math.min(spread - 1, 3)), size: this.size(st.lot) };
      book.unshift(l);
      this.level(st, side, l, tsEvent, tsRecv, book.length > this.depth + 5 ? 0 : BookFlags.Last);
      if (book.length > this.depth + 5) this.level(st, side, { tick: book.pop()!.tick, size: 0 }, tsEvent, tsRecv, BookFlags.Last);
    } else if (r >= 70 && r < 85 && book.length > 3) {
      // A level is pulled (and the side refilled behind it).
      const i = this.skewedIndex(book.length);
      const [l] = book.splice(i, 1);
      const refill = book.length < this.depth;
      this.level(st, side, { tick: l!.tick, size: 0 }, tsEvent, tsRecv, refill ? 0 : BookFlags.Last);
      if (refill) this.refill(st, side, tsEvent, tsRecv);
    } else {
      // Size changes at a level.
      const l = book[this.skewedIndex(book.length)]!;
      l.size = Math.max(1, l.size + this.rng.int(-l.size + 1, st.lot * 2));
      this.level(st, side, l, tsEvent, tsRecv, BookFlags.Last);
    }
    const top = book[0]!;
    if (top.tick !== topTick || top.size !== topSize) this.quote(st, tsEvent, tsRecv);
  }

  /** A level index skewed towards the top of the book. */
  private skewedIndex(n: number): number {
    return Math.min(n - 1, this.rng.int(0, Math.min(n - 1, 4)) + (this.rng.chance(20) ? this.rng.int(0, n - 1) : 0));
  }

  /** A packet the "network" lost: the sequence skips, the handler reports a gap and resyncs. */
  private lostPacket(st: SymbolState, tsEvent: bigint, tsRecv: bigint): void {
    const missing = st.seq + 1n;
    st.seq = missing; // consumed by the packet nobody saw
    // The market moved anyway, unseen.
    const kinds = st.kinds;
    st.kinds = null;
    this.bookChange(st, tsEvent, tsRecv);
    st.kinds = kinds;
    if (st.kinds === null) return;
    this.emit(
      createStatus({
        venue: this.venue,
        symbol: st.def.symbol,
        tsEvent,
        tsRecv,
        seq: this.nextSeq(st),
        kind: 'gap',
        fromSeq: missing,
        toSeq: missing,
        detail: `sequence ${missing} missing`,
      }),
    );
    if (st.kinds.has('book')) {
      this.emit(
        createStatus({
          venue: this.venue,
          symbol: st.def.symbol,
          tsEvent,
          tsRecv,
          seq: this.nextSeq(st),
          kind: 'resync',
          detail: 'resnapshot after gap',
        }),
      );
      this.snapshot(st, tsRecv);
    }
    this.quote(st, tsEvent, tsRecv);
  }
}

function isList(x: unknown): x is readonly unknown[] {
  return Array.isArray(x);
}

function checkInt(name: string, v: number, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `sim ${name}: expected an integer from ${lo} to ${hi}, found ${describeValue(v)}`);
  }
  return v;
}
