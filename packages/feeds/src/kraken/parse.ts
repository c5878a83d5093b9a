import { BookFlags, createBookUpdate, createQuote, createStatus, createTrade } from '@mdcap/core';
import type { BookSide, MarketEvent } from '@mdcap/core';
import { CRC32_INIT, crc32Final, crc32Update } from '../book/crc32.js';
import { SideLevels } from '../book/levels.js';
import { scalesOf, snapshotFlags, VenueParser } from '../frame.js';
import type { PairScales } from '../frame.js';

/**
 * Kraken spot WebSocket API v1 (`wss://ws.kraken.com`), public channels `book`, `trade` and
 * `ticker`, into normalized events. Pure: frames in, events out; the transport owns the socket.
 *
 * - Control messages are objects (`systemStatus`, `subscriptionStatus`, `heartbeat`, `pong`);
 *   channel messages are arrays `[channelID, payload…, channelName, pair]`.
 * - `book-N`: the first message is a snapshot (`as`, `bs`: `[price, volume, timestamp]`), then
 *   updates (`a` and/or `b`, possibly in two objects, levels may carry a 4th element `"r"` for
 *   a republish), with a CRC32 `c` of the top 10 levels. Volume 0 removes a level; after each
 *   update the client keeps only the best N levels per side (Kraken does not send those
 *   removals). Every `c` is checked against the book built here: a `checksum` status with the
 *   result; on a mismatch the pair is marked for a resnapshot and its book updates stop until
 *   the next snapshot (never a silent continue).
 * - `trade`: `[price, volume, time, side b/s, type, misc]`, one trade each.
 * - `ticker`: `a`/`b` as `[price, wholeLotVolume, lotVolume]`, the best ask and bid: a quote.
 *
 * Prices and sizes are exact: mantissas at the pair's own scales (Kraken's pair and lot decimals,
 * which its strings always carry in full: `"56218.30000"` is scale 5), given in the options or
 * learned from the pair's first price and volume strings; a later string with more decimals
 * is a bad frame. (No one fixed scale serves: XBT/CHF books hold asks at 9,999,999,997 CHF,
 * and ADA/XBT prices have 9 decimals.) Times: level and trade timestamps are seconds with 6 decimals, kept
 * exact in ns; `tsEvent` of a book message is its latest level time. Kraken v1 has no sequence
 * numbers: `seq` is null.
 */
const CHECKSUM_LEVELS = 10;
/** The end of a channel message, `…,"book-1000","XBT/USD"]`: its channel name and pair. */
const TAIL = /,"[a-z]+(?:-\d+)?","([^"\\]+)"\]\s*$/;
/** The start of a channel message, `[336,`: its channel id. */
const HEAD = /^\s*\[\s*(\d+)\s*,/;

interface PairBook {
  readonly bids: SideLevels;
  readonly asks: SideLevels;
  depth: number;
  /** Between a checksum failure and the next snapshot. */
  broken: boolean;
}

export interface KrakenParserOptions {
  /** Venue name on the events (default `kraken`). */
  readonly venue?: string;
  /** Known scales per pair (from REST `AssetPairs`: `pair_decimals`, `lot_decimals`); others are learned. */
  readonly scales?: ReadonlyMap<string, PairScales>;
}

export interface KrakenStats {
  frames: number;
  malformed: number;
  checksumsVerified: number;
  checksumsFailed: number;
}

type Out = (e: MarketEvent) => void;
type Level = [string, string, string, string?];

export class KrakenParser extends VenueParser {
  override readonly stats: KrakenStats = { frames: 0, malformed: 0, checksumsVerified: 0, checksumsFailed: 0 };
  /** Pairs whose book needs a new snapshot (a failed checksum, a lost frame): the transport resubscribes them. */
  readonly resyncs: Set<string> = new Set<string>();
  private readonly books = new Map<string, PairBook>();
  /** Channel id → pair, from `subscriptionStatus`: names the pair of a frame cut short before its end. */
  private readonly channels = new Map<number, string>();

  constructor(options: KrakenParserOptions = {}) {
    super(options.venue ?? 'kraken', options.scales);
  }

  /** The pair's scales; the first price and volume strings of an unknown pair fix them. */
  private scaleOf(pair: string, price: unknown, size: unknown): PairScales {
    return scalesOf(this.scales, pair, price, size);
  }

  /** Forgets every book (a new connection: snapshots follow the subscriptions). */
  reset(): void {
    this.books.clear();
    this.resyncs.clear();
    this.channels.clear();
  }

  /**
   * The pair of a frame that could not be parsed: the last element of a channel message, or, for
   * a frame cut short, the pair its leading channel id was subscribed for. A tolerant look at the
   * text, never a parse.
   */
  symbolsOf(text: string): string[] {
    const tail = TAIL.exec(text.length > 200 ? text.slice(-200) : text);
    if (tail !== null) return [tail[1]!];
    const head = HEAD.exec(text);
    const pair = head === null ? undefined : this.channels.get(Number(head[1]));
    return pair === undefined ? [] : [pair];
  }

  /**
   * The pair's book must come again (a lost frame named it): the transport resubscribes it. Until
   * the new snapshot its updates are still applied and checked: the next checksum says whether
   * the lost frame changed the book.
   */
  rebuild(pair: string): void {
    this.resyncs.add(pair);
  }

  /**
   * Parses one text frame received at `tsRecv`; events go to `out`. Control messages give
   * nothing (the transport reads `subscriptionStatus` errors with {@link subscriptionError}).
   * @throws {FrameError} for a frame that is not JSON or lacks what its channel needs;
   *   events of the frame before the fault were already delivered.
   */
  parse(text: string, tsRecv: bigint, out: Out): void {
    const msg = this.json(text);
    if (!Array.isArray(msg)) {
      if (typeof msg !== 'object' || msg === null) throw this.bad('expected an object or an array', text);
      const o = msg as Record<string, unknown>;
      if (o['event'] === 'subscriptionStatus' && typeof o['channelID'] === 'number' && typeof o['pair'] === 'string') {
        this.channels.set(o['channelID'], o['pair']);
      }
      return;
    }
    const n = msg.length;
    if (n < 4 || typeof msg[n - 1] !== 'string' || typeof msg[n - 2] !== 'string') {
      throw this.bad('expected [channelID, payload…, channelName, pair]', text);
    }
    const channel = msg[n - 2] as string;
    const pair = msg[n - 1] as string;
    const payload = msg.slice(1, n - 2) as unknown[];
    if (channel.startsWith('book')) this.book(pair, channel, payload, tsRecv, text, out);
    else if (channel === 'trade') this.trades(pair, payload[0], tsRecv, text, out);
    else if (channel === 'ticker') this.ticker(pair, payload[0], tsRecv, text, out);
    // spread, ohlc, own channels: not subscribed by mdcap
  }

  private book(pair: string, channel: string, payload: unknown[], tsRecv: bigint, text: string, out: Out): void {
    const first = payload[0] as Record<string, unknown> | undefined;
    if (typeof first !== 'object' || first === null) throw this.bad('expected a book object', text);
    if ('as' in first || 'bs' in first) return this.bookSnapshot(pair, channel, first, tsRecv, text, out);
    const book = this.books.get(pair);
    if (book === undefined || book.broken) return; // no snapshot yet, or waiting for a new one
    // Collect the levels of every object (Kraken may split `a` and `b`), then apply in order.
    const levels: [BookSide, Level][] = [];
    let checksum: string | undefined;
    for (const part of payload) {
      if (typeof part !== 'object' || part === null) throw this.bad('expected book update objects', text);
      const o = part as Record<string, unknown>;
      for (const [key, side] of [
        ['a', 'ask'],
        ['b', 'bid'],
      ] as const) {
        const list = o[key];
        if (list === undefined) continue;
        if (!Array.isArray(list)) throw this.bad(`expected "${key}" as an array of levels`, text);
        for (const l of list) levels.push([side, l as Level]);
      }
      if (typeof o['c'] === 'string') checksum = o['c'];
    }
    if (levels.length === 0) throw this.bad('expected "a" or "b" levels', text);
    const parsed = levels.map(([side, l]) => this.level(pair, side, l, text));
    const sc = this.scaleOf(pair, null, null);
    let tsEvent = parsed[0]!.ts;
    for (const p of parsed) if (p.ts > tsEvent) tsEvent = p.ts;
    const updates: [BookSide, bigint, bigint][] = [];
    for (const p of parsed) {
      const levelsOf = p.side === 'bid' ? book.bids : book.asks;
      levelsOf.set(p.price, p.size);
      updates.push([p.side, p.price, p.size]);
      // Kraken's rule: after each update keep the best `depth` levels; the venue sends no removal for those.
      for (const price of levelsOf.truncate(book.depth)) updates.push([p.side, price, 0n]);
    }
    const emit = this.bookEmitter(pair, sc, tsEvent, tsRecv, out);
    for (let i = 0; i < updates.length; i++) {
      const [side, price, size] = updates[i]!;
      emit(side, price, size, i === updates.length - 1 ? BookFlags.Last : 0);
    }
    if (checksum !== undefined) this.check(pair, book, checksum, tsEvent, tsRecv, out);
  }

  /** Emits book updates of one message (same symbol, scales and times). */
  private bookEmitter(pair: string, sc: PairScales, tsEvent: bigint, tsRecv: bigint, out: Out) {
    return (side: BookSide, price: bigint, size: bigint, flags: number): void =>
      out(createBookUpdate({ venue: this.venue, symbol: pair, tsEvent, tsRecv, side, price, size, ...sc, flags }));
  }

  private level(pair: string, side: BookSide, l: Level, text: string): { side: BookSide; price: bigint; size: bigint; ts: bigint } {
    if (!Array.isArray(l) || l.length < 3) throw this.bad('expected a level [price, volume, timestamp]', text);
    const sc = this.scaleOf(pair, l[0], l[1]);
    return {
      side,
      price: this.dec(l[0], sc.priceScale, 'a price', text),
      size: this.dec(l[1], sc.sizeScale, 'a volume', text),
      ts: this.dec(l[2], 9, 'a timestamp (seconds)', text),
    };
  }

  private bookSnapshot(pair: string, channel: string, o: Record<string, unknown>, tsRecv: bigint, text: string, out: Out): void {
    const asks = o['as'];
    const bids = o['bs'];
    if (!Array.isArray(asks) || !Array.isArray(bids)) throw this.bad('expected a snapshot with "as" and "bs" arrays', text);
    const depth = Number(/^book-(\d+)$/.exec(channel)?.[1] ?? 10);
    const a = (asks as Level[]).map((l) => this.level(pair, 'ask', l, text));
    const b = (bids as Level[]).map((l) => this.level(pair, 'bid', l, text));
    const sc = this.scaleOf(pair, null, null);
    const book: PairBook = { bids: new SideLevels('bid', true), asks: new SideLevels('ask', true), depth, broken: false };
    this.books.set(pair, book);
    this.resyncs.delete(pair);
    const all = [...a, ...b];
    let tsEvent = all[0]?.ts ?? tsRecv;
    for (const p of all) if (p.ts > tsEvent) tsEvent = p.ts;
    const emit = this.bookEmitter(pair, sc, tsEvent, tsRecv, out);
    if (all.length === 0) {
      // An empty book: one removal that carries the snapshot's begin and end.
      emit('bid', 0n, 0n, BookFlags.Snapshot | BookFlags.SnapshotBegin | BookFlags.SnapshotEnd | BookFlags.Last);
      return;
    }
    for (let i = 0; i < all.length; i++) {
      const p = all[i]!;
      (p.side === 'bid' ? book.bids : book.asks).set(p.price, p.size);
      const flags = snapshotFlags(i, all.length);
      emit(p.side, p.price, p.size, flags);
    }
  }

  /** Kraken's checksum text: best 10 asks ascending, then best 10 bids descending, price then volume digits. */
  checksumText(pair: string): string {
    const book = this.books.get(pair);
    if (book === undefined) return '';
    // The mantissas at the pair's scales are the venue's digits without the dot; toString drops
    // leading zeros. The book keeps each level's digits (they change only when the level does).
    let s = '';
    for (const side of [book.asks, book.bids]) {
      const n = Math.min(CHECKSUM_LEVELS, side.length);
      for (let i = 0; i < n; i++) s += side.digits[i]!;
    }
    return s;
  }

  private check(pair: string, book: PairBook, expected: string, tsEvent: bigint, tsRecv: bigint, out: Out): void {
    let crc = CRC32_INIT;
    for (const side of [book.asks, book.bids]) {
      const n = Math.min(CHECKSUM_LEVELS, side.length);
      for (let i = 0; i < n; i++) crc = crc32Update(crc, side.digits[i]!);
    }
    const found = crc32Final(crc).toString();
    const ok = found === expected;
    if (ok) this.stats.checksumsVerified++;
    else {
      this.stats.checksumsFailed++;
      book.broken = true;
      this.resyncs.add(pair);
    }
    out(
      createStatus({
        venue: this.venue,
        symbol: pair,
        tsEvent,
        tsRecv,
        kind: 'checksum',
        ok,
        detail: ok ? `crc32 ${expected}` : `crc32: expected ${expected} as the venue sent, found ${found} in the book built; resnapshot`,
      }),
    );
  }

  private trades(pair: string, list: unknown, tsRecv: bigint, text: string, out: Out): void {
    if (!Array.isArray(list)) throw this.bad('expected an array of trades', text);
    for (const t of list as unknown[]) {
      if (!Array.isArray(t) || t.length < 4) throw this.bad('expected a trade [price, volume, time, side, …]', text);
      const ts = this.dec(t[2], 9, 'a trade time (seconds)', text);
      const sc = this.scaleOf(pair, t[0], t[1]);
      out(
        createTrade({
          venue: this.venue,
          symbol: pair,
          tsEvent: ts,
          tsRecv,
          price: this.dec(t[0], sc.priceScale, 'a trade price', text),
          size: this.dec(t[1], sc.sizeScale, 'a trade volume', text),
          ...sc,
          side: t[3] === 'b' ? 'buy' : t[3] === 's' ? 'sell' : 'none',
        }),
      );
    }
  }

  private ticker(pair: string, o: unknown, tsRecv: bigint, text: string, out: Out): void {
    if (typeof o !== 'object' || o === null) throw this.bad('expected a ticker object', text);
    const t = o as Record<string, unknown>;
    const a = t['a'];
    const b = t['b'];
    if (!Array.isArray(a) || !Array.isArray(b)) throw this.bad('expected ticker "a" and "b" arrays', text);
    const sc = this.scaleOf(pair, b[0], b[2]);
    out(
      createQuote({
        venue: this.venue,
        symbol: pair,
        tsEvent: tsRecv, // the v1 ticker carries no time
        tsRecv,
        bidPrice: this.dec(b[0], sc.priceScale, 'a bid price', text),
        bidSize: this.dec(b[2], sc.sizeScale, 'a bid volume', text),
        askPrice: this.dec(a[0], sc.priceScale, 'an ask price', text),
        askSize: this.dec(a[2], sc.sizeScale, 'an ask volume', text),
        ...sc,
      }),
    );
  }
}

/** The error text of a `subscriptionStatus` with status `error`, else null. */
export function subscriptionError(text: string): { symbol: string | null; message: string } | null {
  if (!text.includes('"subscriptionStatus"') || !text.includes('"error"')) return null;
  try {
    const o = JSON.parse(text) as { event?: string; status?: string; pair?: string; errorMessage?: string };
    if (o.event !== 'subscriptionStatus' || o.status !== 'error') return null;
    return { symbol: o.pair ?? null, message: `${o.errorMessage ?? 'subscription rejected'}${o.pair === undefined ? '' : ` (${o.pair})`}` };
  } catch {
    return null;
  }
}
