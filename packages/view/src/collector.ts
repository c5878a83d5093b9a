import { eventToJson, formatDecimal } from '@mdcap/core';
import type { Bar, Status, Trade } from '@mdcap/core';
import type { BookView, RealtimeEngine } from '@mdcap/engine';
import type { EventJson, InstrumentRef, ViewLimits } from '@mdcap/view-app';

/** The defaults of {@link ViewLimits}: what the server keeps, and what the page keeps. */
export const DEFAULT_VIEW_LIMITS: ViewLimits = { bars: 20_000, statuses: 10_000, tape: 50, depth: 10 };

/**
 * The newest `limit` items of a stream, and how many came before them. `total` counts every
 * item ever pushed, so a reader that remembers how many it has seen knows what is new, and
 * whether the oldest of it was trimmed before it looked.
 */
export class Bounded<T> {
  private items: T[] = [];
  private head = 0;
  total = 0;

  constructor(readonly limit: number) {}

  push(item: T): void {
    this.total++;
    if (this.items.length < this.limit) {
      this.items.push(item);
    } else {
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.limit;
    }
  }

  /** Items trimmed so far (pushed, no longer held). */
  get trimmed(): number {
    return this.total - this.items.length;
  }

  /** The items pushed after the first `seen`, oldest first (as many as are still held). */
  since(seen: number, max: number = Infinity): T[] {
    const n = Math.min(this.total - seen, this.items.length, max);
    const out: T[] = [];
    for (let i = this.items.length - n; i < this.items.length; i++) out.push(this.items[(this.head + i) % this.items.length]!);
    return out;
  }

  /**
   * What a reader that has seen the first `seen` items (-1: none yet, start it over) is to be
   * sent: everything held, as a reset, when it has seen nothing or some of what it missed was
   * trimmed; else the items after `seen`; null when nothing is new.
   */
  delta(seen: number): { reset: boolean; items: T[] } | null {
    if (seen < 0 || seen < this.trimmed) return { reset: true, items: this.since(0) };
    return this.total > seen ? { reset: false, items: this.since(seen) } : null;
  }
}

export const instrumentKey = (venue: string, symbol: string): string => `${venue}\u0000${symbol}`;
export const seriesKey = (venue: string, symbol: string, interval: number): string => `${venue}\u0000${symbol}\u0000${interval}`;

interface BookSlot {
  book: BookView;
  tsRecv: bigint;
  version: number;
}

/**
 * What the viewer shows of one engine session, kept as the engine's callbacks deliver it: every
 * bar (as canonical JSON, per instrument and interval), every status, the newest trades of each
 * instrument (as the engine's own objects, turned into JSON only when sent), and the latest book
 * of each. Bounded: older entries are trimmed and counted, never silently lost.
 */
export class Collector {
  readonly instruments: Map<string, InstrumentRef> = new Map();
  readonly series: Map<string, Bounded<EventJson>> = new Map();
  readonly statuses: Bounded<EventJson>;
  private readonly trades = new Map<string, Bounded<Trade>>();
  private readonly books = new Map<string, BookSlot>();
  /** Bumped when an instrument is first seen. */
  instrumentsVersion = 0;

  constructor(
    engine: RealtimeEngine,
    readonly limits: ViewLimits,
    known: readonly InstrumentRef[],
  ) {
    this.statuses = new Bounded(limits.statuses);
    for (const i of known) this.instrument(i.venue, i.symbol);
    engine.onBar((b: Bar) => {
      this.instrument(b.venue, b.symbol);
      const k = seriesKey(b.venue, b.symbol, b.interval);
      let s = this.series.get(k);
      if (s === undefined) this.series.set(k, (s = new Bounded(limits.bars)));
      s.push(eventToJson(b));
    });
    engine.onStatus((s: Status) => {
      this.statuses.push(eventToJson(s));
      // A gap, a disconnect or a seek may leave a book invalid or empty: send it again.
      for (const [k, slot] of this.books) {
        if (k === instrumentKey(s.venue, s.symbol) || (s.symbol === '*' && slot.book.venue === s.venue)) slot.version++;
      }
    });
    engine.onTrade((t: Trade) => {
      const k = instrumentKey(t.venue, t.symbol);
      let tape = this.trades.get(k);
      if (tape === undefined) {
        this.instrument(t.venue, t.symbol);
        this.trades.set(k, (tape = new Bounded(limits.tape)));
      }
      tape.push(t);
    });
    const onBook = (e: { readonly venue: string; readonly symbol: string; readonly tsRecv: bigint }, book: BookView): void => {
      const k = instrumentKey(e.venue, e.symbol);
      const slot = this.books.get(k);
      if (slot === undefined) {
        this.instrument(e.venue, e.symbol);
        this.books.set(k, { book, tsRecv: e.tsRecv, version: 1 });
      } else {
        slot.book = book;
        slot.tsRecv = e.tsRecv;
        slot.version++;
      }
    };
    engine.onBookUpdate(onBook);
    engine.onOrderUpdate(onBook);
  }

  private instrument(venue: string, symbol: string): void {
    const k = instrumentKey(venue, symbol);
    if (this.instruments.has(k)) return;
    this.instruments.set(k, { venue, symbol });
    this.instrumentsVersion++;
  }

  /** The trades of an instrument pushed after the first `seen`: the newest `max` of them, and how many more there were. */
  tape(venue: string, symbol: string, seen: number, max: number): { trades: EventJson[]; skipped: number; total: number } {
    const tape = this.trades.get(instrumentKey(venue, symbol));
    if (tape === undefined) return { trades: [], skipped: 0, total: 0 };
    const trades = tape.since(seen, max).map(eventToJson);
    return { trades, skipped: tape.total - seen - trades.length, total: tape.total };
  }

  /** The book of an instrument if it changed since `version`: its best levels as exact decimals. */
  book(
    venue: string,
    symbol: string,
    version: number,
  ): { version: number; tsRecv: string; valid: boolean; bids: [string, string][]; asks: [string, string][] } | null {
    const slot = this.books.get(instrumentKey(venue, symbol));
    if (slot === undefined || slot.version === version) return null;
    const { book } = slot;
    const top = book.top(this.limits.depth);
    const side = (levels: typeof top.bids): [string, string][] =>
      levels.map((l) => [formatDecimal(l.price, book.priceScale), formatDecimal(l.size, book.sizeScale)]);
    return { version: slot.version, tsRecv: slot.tsRecv.toString(), valid: book.valid, bids: side(top.bids), asks: side(top.asks) };
  }
}
