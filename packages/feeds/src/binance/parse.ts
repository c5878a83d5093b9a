import { BookFlags, createBookUpdate, createQuote, createStatus, createTrade } from '@mdcap/core';
import type { BookSide, MarketEvent } from '@mdcap/core';
import { scalesOf, snapshotFlags, VenueParser } from '../frame.js';
import type { PairScales } from '../frame.js';

/**
 * Binance spot market streams (`wss://stream.binance.com:9443/stream`, combined form
 * `{"stream": "...", "data": {...}}`; bare payloads are read too) into normalized events. Pure.
 *
 * - `<symbol>@depth@100ms`: diffs `U..u` of the order book. The book is synced to a REST
 *   snapshot (`GET /api/v3/depth?symbol=…&limit=1000`, `lastUpdateId` L) with Binance's rules:
 *   diffs arriving before the snapshot are buffered; those with `u ≤ L` are dropped; the first
 *   one applied must have `U ≤ L + 1 ≤ u`; after that each `U` must be the previous `u + 1`.
 *   Any break is a `gap` status (the missing ids), a `resync` status, and a new snapshot; the
 *   book takes no diff until then. Every book update carries `seq` = the diff's `u` (the
 *   snapshot's: L), so a book state can be matched to `bookTicker`'s `u`.
 * - `<symbol>@bookTicker`: best bid and ask → a `quote` with `seq` = its `u` (no time field:
 *   `tsEvent` = `tsRecv`).
 * - `<symbol>@aggTrade` / `@trade`: one trade each; `m` (buyer is the maker) means the seller
 *   was the aggressor.
 *
 * Symbols are Binance's (`NKNUSDT`); scales per symbol from its strings (Binance sends 8
 * decimals); times are milliseconds, exact in ns.
 */
export interface BinanceParserOptions {
  /** Venue name on the events (default `binance`). */
  readonly venue?: string;
  /** Known scales per symbol (from `exchangeInfo`); others are learned from the first strings. */
  readonly scales?: ReadonlyMap<string, PairScales>;
}

interface Diff {
  readonly U: bigint;
  readonly u: bigint;
  readonly E: bigint;
  readonly b: [string, string][];
  readonly a: [string, string][];
}

interface SymbolBook {
  synced: boolean;
  lastU: bigint;
  /** Diffs received while waiting for a snapshot. */
  buffer: Diff[];
}

const MAX_BUFFER = 10_000;
/** The stream name that opens a combined-stream frame, `{"stream":"nknusdt@depth@100ms"`: its symbol, in lower case. */
const STREAM = /^\s*\{\s*"stream"\s*:\s*"([a-z0-9]+)@/;
/** The symbol field of a payload, `"s":"NKNUSDT"`. */
const SYMBOL = /"s"\s*:\s*"([A-Z0-9]+)"/;

export class BinanceParser extends VenueParser {
  override readonly stats: { frames: number; malformed: number; resnapshots: number } = { frames: 0, malformed: 0, resnapshots: 0 };
  /** Symbols that need a REST depth snapshot: the transport fetches it and calls {@link snapshot}. */
  readonly snapshotRequests: Set<string> = new Set<string>();
  /** Symbols whose book is being rebuilt after a lost frame (the transport reports a `resync`; the snapshot comes from REST). */
  readonly resyncs: Set<string> = new Set<string>();
  private readonly books = new Map<string, SymbolBook>();

  constructor(options: BinanceParserOptions = {}) {
    super(options.venue ?? 'binance', options.scales);
  }

  reset(): void {
    this.books.clear();
    this.snapshotRequests.clear();
    this.resyncs.clear();
  }

  /**
   * The symbol of a frame that could not be parsed: from the stream name that opens a combined
   * frame, else from a payload's `"s"`. A tolerant look at the text, never a parse.
   */
  symbolsOf(text: string): string[] {
    const stream = STREAM.exec(text);
    if (stream !== null) return [stream[1]!.toUpperCase()];
    const symbol = SYMBOL.exec(text);
    return symbol === null ? [] : [symbol[1]!];
  }

  /**
   * The symbol's book may have missed a frame: a synced book drops its state and asks for a new
   * REST snapshot (diffs are buffered until it comes); a book still waiting for one keeps waiting
   * (the diffs' ids tell whether the lost frame was one of them).
   */
  rebuild(symbol: string): void {
    const book = this.books.get(symbol);
    if (book?.synced === true) this.unsync(symbol, book);
    this.resyncs.add(symbol);
  }

  /** The book waits for a new REST snapshot, buffering the diffs that come meanwhile. */
  private unsync(symbol: string, book: SymbolBook): void {
    book.synced = false;
    book.buffer = [];
    this.stats.resnapshots++;
    this.snapshotRequests.add(symbol);
  }

  /** The transport subscribed `symbols`: their books need snapshots (Binance's procedure: subscribe, then fetch). */
  subscribed(symbols: readonly string[], kinds: ReadonlySet<string>): void {
    if (kinds.has('book')) for (const s of symbols) this.snapshotRequests.add(s);
  }

  /** Parses one text frame; see {@link KrakenParser.parse} for the contract. */
  parse(text: string, tsRecv: bigint, out: (e: MarketEvent) => void): void {
    const msg = this.json(text) as Record<string, unknown>;
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw this.bad('expected an object', text);
    const data = (typeof msg['stream'] === 'string' ? msg['data'] : msg) as Record<string, unknown> | undefined;
    if (typeof data !== 'object' || data === null) throw this.bad('expected "data" with the stream payload', text);
    if ('result' in msg && 'id' in msg) return; // a SUBSCRIBE answer
    const e = data['e'];
    if (e === 'depthUpdate') this.depth(data, tsRecv, text, out);
    else if (e === 'aggTrade' || e === 'trade') this.trade(data, tsRecv, text, out);
    else if (e === undefined && 'u' in data && 'b' in data && 'a' in data) this.ticker(data, tsRecv, text, out);
    // klines and other streams: not normalized here
  }

  private str(v: unknown, what: string, text: string): string {
    if (typeof v !== 'string') throw this.bad(`expected ${what} as a string`, text);
    return v;
  }

  private int(v: unknown, what: string, text: string): bigint {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw this.bad(`expected ${what} as an integer`, text);
    return BigInt(v);
  }

  private scaleOf(symbol: string, price: unknown, size: unknown): PairScales {
    return scalesOf(this.scales, symbol, price, size);
  }

  private depth(d: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const symbol = this.str(d['s'], 'a symbol "s"', text);
    const b = d['b'];
    const a = d['a'];
    if (!Array.isArray(b) || !Array.isArray(a)) throw this.bad('expected "b" and "a" arrays of [price, quantity]', text);
    const diff: Diff = {
      U: this.int(d['U'], '"U"', text),
      u: this.int(d['u'], '"u"', text),
      E: this.int(d['E'], 'an event time "E"', text),
      b: b as [string, string][],
      a: a as [string, string][],
    };
    let book = this.books.get(symbol);
    if (book === undefined) {
      book = { synced: false, lastU: 0n, buffer: [] };
      this.books.set(symbol, book);
    }
    if (!book.synced) {
      if (book.buffer.length >= MAX_BUFFER) book.buffer.shift();
      book.buffer.push(diff);
      this.snapshotRequests.add(symbol);
      return;
    }
    if (diff.u <= book.lastU) return; // already in the book
    // Each diff must start at the next id (U = last u + 1; the first after a snapshot may straddle it).
    if (diff.U > book.lastU + 1n) {
      this.lose(symbol, book, book.lastU + 1n, diff.U - 1n, `depth diff ${diff.U}..${diff.u} after ${book.lastU}`, tsRecv, out);
      book.buffer.push(diff);
      return;
    }
    this.apply(symbol, book, diff, tsRecv, text, out);
  }

  /** A break in the diffs: a gap for the missing ids, then a resync from a new snapshot. */
  private lose(symbol: string, book: SymbolBook, from: bigint, to: bigint, why: string, ts: bigint, out: (e: MarketEvent) => void): void {
    this.unsync(symbol, book);
    out(
      createStatus({
        venue: this.venue,
        symbol,
        tsEvent: ts,
        tsRecv: ts,
        kind: 'gap',
        fromSeq: from,
        toSeq: to,
        detail: `${why}: update ids ${from}..${to} missing`,
      }),
    );
    out(createStatus({ venue: this.venue, symbol, tsEvent: ts, tsRecv: ts, kind: 'resync', detail: 'requesting a new depth snapshot' }));
  }

  private apply(symbol: string, book: SymbolBook, d: Diff, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const levels: [BookSide, [string, string]][] = [
      ...d.b.map((l) => ['bid', l] as [BookSide, [string, string]]),
      ...d.a.map((l) => ['ask', l] as [BookSide, [string, string]]),
    ];
    const tsEvent = d.E * 1_000_000n;
    for (let i = 0; i < levels.length; i++) {
      const [side, l] = levels[i]!;
      const sc = this.scaleOf(symbol, l[0], l[1]);
      out(
        createBookUpdate({
          venue: this.venue,
          symbol,
          tsEvent,
          tsRecv,
          seq: d.u,
          side,
          price: this.dec(l[0], sc.priceScale, 'a price', text),
          size: this.dec(l[1], sc.sizeScale, 'a quantity', text),
          ...sc,
          flags: i === levels.length - 1 ? BookFlags.Last : 0,
        }),
      );
    }
    book.lastU = d.u;
  }

  /**
   * The REST depth snapshot for `symbol` (the body of `GET /api/v3/depth`), received at
   * `tsRecv`: the book is rebuilt from it and the buffered diffs that follow it are applied.
   */
  snapshot(symbol: string, body: string, tsRecv: bigint, out: (e: MarketEvent) => void): void {
    let snap: { lastUpdateId?: unknown; bids?: unknown; asks?: unknown };
    try {
      snap = JSON.parse(body) as typeof snap;
    } catch {
      throw this.bad(`${symbol} depth snapshot: not JSON`, body);
    }
    if (!Array.isArray(snap.bids) || !Array.isArray(snap.asks))
      throw this.bad(`${symbol} depth snapshot: expected "bids" and "asks"`, body);
    const L = this.int(snap.lastUpdateId, 'a snapshot "lastUpdateId"', body);
    let book = this.books.get(symbol);
    if (book === undefined) {
      book = { synced: false, lastU: 0n, buffer: [] };
      this.books.set(symbol, book);
    }
    this.snapshotRequests.delete(symbol);
    const pending = book.buffer.filter((d) => d.u > L);
    // The first diff to apply must straddle L + 1; if the buffer starts later, ids are missing.
    if (pending.length > 0 && pending[0]!.U > L + 1n) {
      this.lose(symbol, book, L + 1n, pending[0]!.U - 1n, `snapshot ${L} older than the first buffered diff ${pending[0]!.U}`, tsRecv, out);
      return;
    }
    const levels: [BookSide, [string, string]][] = [
      ...(snap.bids as [string, string][]).map((l) => ['bid', l] as [BookSide, [string, string]]),
      ...(snap.asks as [string, string][]).map((l) => ['ask', l] as [BookSide, [string, string]]),
    ];
    for (let i = 0; i < levels.length; i++) {
      const [side, l] = levels[i]!;
      const sc = this.scaleOf(symbol, l[0], l[1]);
      const flags = snapshotFlags(i, levels.length);
      out(
        createBookUpdate({
          venue: this.venue,
          symbol,
          tsEvent: tsRecv, // the REST snapshot carries no time
          tsRecv,
          seq: L,
          side,
          price: this.dec(l[0], sc.priceScale, 'a price', body),
          size: this.dec(l[1], sc.sizeScale, 'a quantity', body),
          ...sc,
          flags,
        }),
      );
    }
    book.synced = true;
    book.lastU = L;
    book.buffer = [];
    for (const d of pending) {
      if (d.U > book.lastU + 1n) {
        this.lose(symbol, book, book.lastU + 1n, d.U - 1n, `depth diff ${d.U}..${d.u} after ${book.lastU}`, tsRecv, out);
        return;
      }
      // Buffered diffs are stamped when they are applied: now.
      this.apply(symbol, book, d, tsRecv, body, out);
    }
  }

  private trade(d: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const symbol = this.str(d['s'], 'a symbol "s"', text);
    const sc = this.scaleOf(symbol, d['p'], d['q']);
    const id = d['e'] === 'aggTrade' ? d['a'] : d['t'];
    out(
      createTrade({
        venue: this.venue,
        symbol,
        tsEvent: this.int(d['T'], 'a trade time "T"', text) * 1_000_000n,
        tsRecv,
        seq: this.int(id, 'a trade id', text),
        price: this.dec(d['p'], sc.priceScale, 'a price "p"', text),
        size: this.dec(d['q'], sc.sizeScale, 'a quantity "q"', text),
        ...sc,
        side: d['m'] === true ? 'sell' : d['m'] === false ? 'buy' : 'none',
        tradeId: String(id),
      }),
    );
  }

  private ticker(d: Record<string, unknown>, tsRecv: bigint, text: string, out: (e: MarketEvent) => void): void {
    const symbol = this.str(d['s'], 'a symbol "s"', text);
    const sc = this.scaleOf(symbol, d['b'], d['B']);
    out(
      createQuote({
        venue: this.venue,
        symbol,
        tsEvent: tsRecv,
        tsRecv,
        seq: this.int(d['u'], 'an update id "u"', text),
        bidPrice: this.dec(d['b'], sc.priceScale, 'a bid price "b"', text),
        bidSize: this.dec(d['B'], sc.sizeScale, 'a bid quantity "B"', text),
        askPrice: this.dec(d['a'], sc.priceScale, 'an ask price "a"', text),
        askSize: this.dec(d['A'], sc.sizeScale, 'an ask quantity "A"', text),
        ...sc,
      }),
    );
  }
}

/** A Binance error (`{"error": {"code", "msg"}, "id"}` or `{"code", "msg"}`), or null. */
export function binanceError(text: string): { symbol: string | null; message: string } | null {
  if (!text.includes('"code"') || !text.includes('"msg"')) return null;
  try {
    const o = JSON.parse(text) as { error?: { code?: number; msg?: string }; code?: number; msg?: string };
    const e = o.error ?? (typeof o.code === 'number' && typeof o.msg === 'string' ? o : null);
    return e === null ? null : { symbol: null, message: `${e.msg ?? 'error'} (code ${e.code ?? '?'})` };
  } catch {
    return null;
  }
}
