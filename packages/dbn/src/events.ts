import {
  BookFlags,
  formatDecimal,
  createBar,
  createBookUpdate,
  createOrderUpdate,
  createQuote,
  createStatus,
  createTrade,
} from '@mdcap/core';
import type { AggressorSide, BookSide, Instrument, MarketEvent, OrderAction } from '@mdcap/core';
import { DBN_PRICE_SCALE, DbnFlags, RType, UNDEF_PRICE, UNDEF_TIMESTAMP } from './constants.js';
import type { DbnRecord } from './records.js';
import type { SymbolMap } from './text.js';

/**
 * DBN records as mdcap events (what `mdcap import dbn` stores):
 *
 * | DBN | events |
 * | --- | --- |
 * | trades | `trade` |
 * | MBP-1, BBO-1s/1m, CMBP-1, CBBO | `quote` (the top of book after the record), plus a `trade` for a trade action |
 * | TBBO, TCBBO | `quote` (the top of book just before the trade), then the `trade` |
 * | MBO | `order` for add, modify, cancel and clear; a `trade` for a trade action |
 * | MBP-10 | `book` level updates: the first record a snapshot of the 10 levels, then what changed; a `trade` for a trade action |
 * | OHLCV | `bar` (start = ts_event, end = start + the interval; tsRecv = end, when the bar is known) |
 * | status | `status` of kind `trading` (the action, reason and flags in the detail) |
 * | definitions | instruments, for the manifest (no event) |
 *
 * Prices stay at DBN's scale 9, sizes at 0. `tsEvent` is `ts_event`; `tsRecv` is `ts_recv` where
 * the record has one (else `ts_event`); `seq` is the record's `sequence`. The venue is the
 * dataset (`GLBX.MDP3`), the symbol the raw symbol the mappings give (else the instrument id).
 *
 * Not converted, and counted in {@link DbnToEvents.skipped} (never silently): MBO fills (`F`:
 * the book change they report comes again as the cancel or modify that follows), records with
 * action `N`, statistics,
 * imbalance, system, error and symbol-mapping records.
 */
export class DbnToEvents {
  /** Records not converted, by reason. */
  readonly skipped: Map<string, number> = new Map<string, number>();
  /** Instrument ids that no mapping named (their events use the id as the symbol). */
  readonly unmapped: Set<number> = new Set<number>();
  /** Instruments from definition records, by symbol (the last definition wins). */
  readonly instruments: Map<string, Instrument> = new Map<string, Instrument>();

  constructor(
    readonly venue: string,
    private readonly symbols: SymbolMap,
  ) {}

  private skip(why: string): void {
    this.skipped.set(why, (this.skipped.get(why) ?? 0) + 1);
  }

  /** The symbol of a record. */
  symbolOf(r: DbnRecord): string {
    const s = this.symbols.symbolOf(r);
    if (s !== null && s !== '') return s;
    const id = r['instrument_id'] as number;
    this.unmapped.add(id);
    return String(id);
  }

  /** The time a record is known at (its ts_recv, else ts_event; an OHLCV bar at its end). */
  static recvOf(r: DbnRecord): bigint {
    const rtype = r['rtype'] as number;
    const interval = OHLCV_SECONDS.get(rtype);
    if (interval !== undefined) return (r['ts_event'] as bigint) + BigInt(interval) * 1_000_000_000n;
    const recv = r['ts_recv'];
    return typeof recv === 'bigint' && recv !== UNDEF_TIMESTAMP ? recv : (r['ts_event'] as bigint);
  }

  /** A live feed stamps its own receive time (local) instead of the record's. */
  private recvOverride: bigint | null = null;

  /**
   * Converts one record of a file of `schema`; calls `out` for each event it gives (in order).
   * `tsRecv`: the local receive time to stamp (a live feed); default the record's own.
   */
  convert(r: DbnRecord, out: (e: MarketEvent) => void, schema: string | null = null, tsRecv: bigint | null = null): void {
    this.recvOverride = tsRecv;
    const rtype = r['rtype'] as number;
    switch (rtype) {
      case RType.Mbp0:
        return this.trade(r, out);
      case RType.Mbp1:
      case RType.Bbo1S:
      case RType.Bbo1M:
      case RType.Cmbp1:
      case RType.Cbbo1S:
      case RType.Cbbo1M:
      case RType.Tcbbo: {
        // MBP-1 carries the book after the event; TBBO (rtype MBP-1 in a tbbo file) and TCBBO the book before a trade.
        const before = rtype === RType.Tcbbo || schema === 'tbbo';
        if (before) {
          out(this.quote(r));
          if (r['action'] === 'T') this.trade(r, out);
          return;
        }
        if (r['action'] === 'T') this.trade(r, out);
        out(this.quote(r));
        return;
      }
      case RType.Mbo:
        return this.order(r, out);
      case RType.Mbp10:
        if (r['action'] === 'T') this.trade(r, out);
        return this.levels(r, out);
      case RType.Status:
        return out(this.status(r));
      case RType.InstrumentDef:
        this.definition(r);
        return;
      default: {
        const interval = OHLCV_SECONDS.get(rtype);
        if (interval !== undefined) return out(this.bar(r, interval));
        this.skip(SKIP_REASON.get(rtype) ?? `rtype 0x${rtype.toString(16)}`);
      }
    }
  }

  // The header fields of the record being converted. (Spreading a returned header object into
  // the factories' arguments was measured 100 times slower than plain properties.)
  private symbol = '';
  private tsEvent = 0n;
  private tsRecv = 0n;
  private seq: bigint | null = null;

  private head(r: DbnRecord): void {
    const seq = r['sequence'];
    this.symbol = this.symbolOf(r);
    this.tsEvent = r['ts_event'] as bigint;
    this.tsRecv = this.recvOverride ?? DbnToEvents.recvOf(r);
    this.seq = typeof seq === 'number' ? BigInt(seq) : null;
  }

  private trade(r: DbnRecord, out: (e: MarketEvent) => void): void {
    const price = r['price'] as bigint;
    if (price === UNDEF_PRICE) return this.skip('trade without a price');
    this.head(r);
    out(
      createTrade({
        venue: this.venue,
        symbol: this.symbol,
        tsEvent: this.tsEvent,
        tsRecv: this.tsRecv,
        seq: this.seq,
        price,
        size: BigInt(r['size'] as number),
        priceScale: DBN_PRICE_SCALE,
        sizeScale: 0,
        side: aggressor(r['side'] as string),
      }),
    );
  }

  private quote(r: DbnRecord): MarketEvent {
    const bid = r['bid_px_00'] as bigint;
    const ask = r['ask_px_00'] as bigint;
    this.head(r);
    return createQuote({
      venue: this.venue,
      symbol: this.symbol,
      tsEvent: this.tsEvent,
      tsRecv: this.tsRecv,
      seq: this.seq,
      bidPrice: bid === UNDEF_PRICE ? null : bid,
      bidSize: bid === UNDEF_PRICE ? 0n : BigInt(r['bid_sz_00'] as number),
      askPrice: ask === UNDEF_PRICE ? null : ask,
      askSize: ask === UNDEF_PRICE ? 0n : BigInt(r['ask_sz_00'] as number),
      priceScale: DBN_PRICE_SCALE,
      sizeScale: 0,
    });
  }

  private order(r: DbnRecord, out: (e: MarketEvent) => void): void {
    const action = r['action'] as string;
    if (action === 'T') return this.trade(r, out);
    const mapped = ORDER_ACTIONS.get(action);
    if (mapped === undefined)
      return this.skip(
        action === 'F' ? 'MBO fill (repeated by the cancel or modify that follows)' : `MBO action ${JSON.stringify(action)}`,
      );
    const dbnFlags = r['flags'] as number;
    let flags = 0;
    if ((dbnFlags & DbnFlags.Last) !== 0) flags |= BookFlags.Last;
    if ((dbnFlags & DbnFlags.Snapshot) !== 0) flags |= BookFlags.Snapshot;
    // Databento ends a snapshot with its one record flagged both SNAPSHOT and LAST: the book is complete after it.
    if ((dbnFlags & (DbnFlags.Snapshot | DbnFlags.Last)) === (DbnFlags.Snapshot | DbnFlags.Last)) flags |= BookFlags.SnapshotEnd;
    const price = r['price'] as bigint;
    const side = r['side'] as string;
    this.head(r);
    out(
      createOrderUpdate({
        venue: this.venue,
        symbol: this.symbol,
        tsEvent: this.tsEvent,
        tsRecv: this.tsRecv,
        seq: this.seq,
        action: mapped,
        orderId: r['order_id'] as bigint,
        // A clear names no side; the engine clears both.
        side: side === 'A' ? 'ask' : 'bid',
        price: price === UNDEF_PRICE ? 0n : price,
        size: BigInt(r['size'] as number),
        priceScale: DBN_PRICE_SCALE,
        sizeScale: 0,
        flags,
      }),
    );
  }

  /** The last 10 levels per side of each instrument (MBP-10), to turn each record into level changes. */
  private readonly books = new Map<number, { bids: Map<bigint, bigint>; asks: Map<bigint, bigint> }>();

  /**
   * MBP-10: each record carries the top 10 levels after its event. The first record of an
   * instrument becomes a snapshot of them; each later one, the levels that changed (size 0
   * for a price that left the top 10), the last of them flagged `Last`.
   */
  private levels(r: DbnRecord, out: (e: MarketEvent) => void): void {
    const id = r['instrument_id'] as number;
    const known = this.books.get(id);
    const next = { bids: new Map<bigint, bigint>(), asks: new Map<bigint, bigint>() };
    for (let i = 0; i < 10; i++) {
      const k = String(i).padStart(2, '0');
      const bid = r[`bid_px_${k}`] as bigint;
      const ask = r[`ask_px_${k}`] as bigint;
      if (bid !== UNDEF_PRICE && (r[`bid_sz_${k}`] as number) > 0) next.bids.set(bid, BigInt(r[`bid_sz_${k}`] as number));
      if (ask !== UNDEF_PRICE && (r[`ask_sz_${k}`] as number) > 0) next.asks.set(ask, BigInt(r[`ask_sz_${k}`] as number));
    }
    this.books.set(id, next);
    const changes: [BookSide, bigint, bigint][] = [];
    for (const [side, now, before] of [
      ['bid', next.bids, known?.bids],
      ['ask', next.asks, known?.asks],
    ] as const) {
      for (const [price, size] of now) if (before?.get(price) !== size) changes.push([side, price, size]);
      if (before !== undefined) for (const price of before.keys()) if (!now.has(price)) changes.push([side, price, 0n]);
    }
    const snapshot = known === undefined;
    if (snapshot && changes.length === 0) changes.push(['bid', 0n, 0n]); // an empty book is a one-update snapshot
    if (changes.length === 0) return;
    this.head(r);
    changes.forEach(([side, price, size], i) => {
      let flags = 0;
      if (snapshot)
        flags |= BookFlags.Snapshot | (i === 0 ? BookFlags.SnapshotBegin : 0) | (i === changes.length - 1 ? BookFlags.SnapshotEnd : 0);
      if (i === changes.length - 1) flags |= BookFlags.Last;
      out(
        createBookUpdate({
          venue: this.venue,
          symbol: this.symbol,
          tsEvent: this.tsEvent,
          tsRecv: this.tsRecv,
          seq: this.seq,
          side,
          price,
          size,
          priceScale: DBN_PRICE_SCALE,
          sizeScale: 0,
          flags,
        }),
      );
    });
  }

  private bar(r: DbnRecord, interval: number): MarketEvent {
    const start = r['ts_event'] as bigint;
    const end = start + BigInt(interval) * 1_000_000_000n;
    return createBar({
      venue: this.venue,
      symbol: this.symbolOf(r),
      tsEvent: end,
      tsRecv: this.recvOverride ?? end,
      interval,
      start,
      end,
      open: r['open'] as bigint,
      high: r['high'] as bigint,
      low: r['low'] as bigint,
      close: r['close'] as bigint,
      volume: r['volume'] as bigint,
      trades: 0, // DBN bars do not count trades
      priceScale: DBN_PRICE_SCALE,
      sizeScale: 0,
    });
  }

  private status(r: DbnRecord): MarketEvent {
    const yn = (v: unknown): string => (v === 'Y' ? 'yes' : v === 'N' ? 'no' : 'unknown');
    this.head(r);
    return createStatus({
      venue: this.venue,
      symbol: this.symbol,
      tsEvent: this.tsEvent,
      tsRecv: this.tsRecv,
      seq: this.seq,
      kind: 'trading',
      detail: `action ${String(r['action'])}, reason ${String(r['reason'])}, trading event ${String(r['trading_event'])}; trading ${yn(r['is_trading'])}, quoting ${yn(r['is_quoting'])}, short sale restricted ${yn(r['is_short_sell_restricted'])}`,
    });
  }

  private definition(r: DbnRecord): void {
    const symbol = (r['raw_symbol'] as string) || this.symbolOf(r);
    const tick = r['min_price_increment'] as bigint;
    const expiry = r['expiration'] as bigint;
    const cls = r['instrument_class'] as string;
    const multiplier = r['unit_of_measure_qty'] as bigint;
    this.instruments.set(symbol, {
      venue: this.venue,
      symbol,
      priceScale: DBN_PRICE_SCALE,
      sizeScale: 0,
      kind: INSTRUMENT_KINDS.get(cls) ?? 'other',
      ...(tick === UNDEF_PRICE ? {} : { tickSize: tick }),
      ...(expiry === UNDEF_TIMESTAMP ? {} : { expiry }),
      instrumentId: BigInt(r['instrument_id'] as number),
      ...(multiplier === UNDEF_PRICE ? {} : { multiplier: formatDecimal(multiplier, DBN_PRICE_SCALE, { trim: true }) }),
      extra: {
        exchange: r['exchange'] as string,
        currency: r['currency'] as string,
        instrument_class: cls,
        security_type: r['security_type'] as string,
        asset: r['asset'] as string,
      },
    });
  }
}

const OHLCV_SECONDS: ReadonlyMap<number, number> = new Map([
  [RType.Ohlcv1S, 1],
  [RType.Ohlcv1M, 60],
  [RType.Ohlcv1H, 3600],
  [RType.Ohlcv1D, 86_400],
  [RType.OhlcvEod, 86_400],
]);

const SKIP_REASON: ReadonlyMap<number, string> = new Map([
  [RType.Statistics, 'statistics'],
  [RType.Imbalance, 'imbalance'],
  [RType.System, 'system message'],
  [RType.Error, 'error message'],
  [RType.SymbolMapping, 'symbol mapping'],
  [RType.OhlcvDeprecated, 'OHLCV of unknown interval'],
]);

const ORDER_ACTIONS: ReadonlyMap<string, OrderAction> = new Map<string, OrderAction>([
  ['A', 'add'],
  ['M', 'modify'],
  ['C', 'cancel'],
  ['R', 'clear'],
]);

const INSTRUMENT_KINDS: ReadonlyMap<string, Instrument['kind'] & string> = new Map([
  ['F', 'future'],
  ['S', 'other'], // a spread
  ['C', 'option'],
  ['P', 'option'],
  ['K', 'equity'],
  ['X', 'spot'],
]);

function aggressor(side: string): AggressorSide {
  // DBN: the side of the aggressor for trades: A = sell (hit the bid), B = buy (lifted the ask).
  return side === 'B' ? 'buy' : side === 'A' ? 'sell' : 'none';
}
