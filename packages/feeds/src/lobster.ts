import {
  BookFlags,
  createBookUpdate,
  createOrderUpdate,
  createStatus,
  createTrade,
  describeValue,
  MdcapError,
  parseDecimal,
} from '@mdcap/core';
import type { BookUpdate, MarketEvent } from '@mdcap/core';

/**
 * LOBSTER (lobsterdata.com), the standard academic limit-order-book data: NASDAQ ITCH rebuilt
 * into a message file (every event) and an orderbook file (the top N levels after each event).
 *
 * - Message row: `time, type, order_id, size, price, direction`. `time` is seconds after
 *   midnight (exchange time, New York) with up to 9 decimals; `price` is dollars × 10,000;
 *   `direction` 1 is the bid side, −1 the ask side (for executions, the resting order's side).
 * - Types: 1 new limit order, 2 partial cancel, 3 full delete, 4 execution of a visible order,
 *   5 execution of a hidden order, 6 cross trade, 7 trading halt (price −1 halted, 0 quoting
 *   resumed, 1 trading resumed).
 * - Orderbook row k: the book after message k, `ask_price_1, ask_size_1, bid_price_1,
 *   bid_size_1, ask_price_2, …`; empty levels are ±9999999999 with size 0.
 *
 * The message file starts mid-book (orders placed before the sample are not in it), so the book
 * is seeded from orderbook row 1 (the book after message 1) as an L2 snapshot stamped at message
 * 1's time; messages 2… become L3 order updates (their effect on the top N levels is exact; a
 * level that enters from below level N is unknown to a seed of N levels). Message 1's own book
 * change is inside the seed; if it was an execution its trade is still emitted.
 */

/** LOBSTER prices are dollars × 10,000. */
export const LOBSTER_PRICE_SCALE = 4;
const SIZE_SCALE = 0;
const EMPTY_PRICE = 9_999_999_999n;

export interface LobsterOptions {
  readonly symbol: string;
  /** Trading date, `YYYY-MM-DD` (in the exchange's time zone). */
  readonly date: string;
  /** Venue name on the events (default `nasdaq`). */
  readonly venue?: string;
  /** IANA time zone of the `time` column (default `America/New_York`). */
  readonly timeZone?: string;
  /** Levels per side in the orderbook file (default 10). */
  readonly levels?: number;
}

export interface LobsterFileName {
  readonly symbol: string;
  readonly date: string;
  /** Sample window, ms after midnight. */
  readonly startMs: number;
  readonly endMs: number;
  readonly file: 'message' | 'orderbook';
  readonly levels: number;
}

/** `AAPL_2012-06-21_34200000_57600000_message_10.csv` (any suffix after the level count). */
export function parseLobsterFileName(name: string): LobsterFileName | null {
  const m = /^([A-Za-z0-9.^-]+)_(\d{4}-\d{2}-\d{2})_(\d+)_(\d+)_(message|orderbook)_(\d+)(?:\.|$)/.exec(name.replace(/^.*[\\/]/, ''));
  if (m === null) return null;
  return {
    symbol: m[1]!,
    date: m[2]!,
    startMs: Number(m[3]),
    endMs: Number(m[4]),
    file: m[5] as 'message' | 'orderbook',
    levels: Number(m[6]),
  };
}

function formatError(message: string, details: Record<string, unknown> = {}): MdcapError {
  return new MdcapError('MDCAP_ERR_IMPORT_FORMAT', message, { details });
}

/**
 * Midnight of `date` in `timeZone`, as ns since the epoch. The UTC offset is the zone's offset
 * at noon of that date (trading days have no daylight-saving switch between midnight and the
 * session).
 */
export function lobsterMidnight(date: string, timeZone = 'America/New_York'): bigint {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `LOBSTER date: expected YYYY-MM-DD, found ${describeValue(date)}`);
  }
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
  } catch {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `LOBSTER time zone: expected an IANA zone such as America/New_York, found ${describeValue(timeZone)}`,
    );
  }
  const noon = Date.parse(`${date}T12:00:00Z`);
  const name = fmt.formatToParts(noon).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  const offsetMin = m === null || m[1] === undefined ? 0 : (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return (BigInt(Date.parse(`${date}T00:00:00Z`)) - BigInt(offsetMin) * 60_000n) * 1_000_000n;
}

/**
 * Turns LOBSTER rows into events: `seed()` with orderbook row 1 and message row 1 first, then
 * `message()` for each following message row. Every event has tsEvent = tsRecv = the message
 * time (LOBSTER has no receive time) and seq = the message's row number (1-based). Malformed
 * rows are {@link MdcapError} `MDCAP_ERR_IMPORT_FORMAT` naming the row and column.
 */
export class LobsterParser {
  readonly venue: string;
  readonly symbol: string;
  readonly levels: number;
  private readonly midnight: bigint;
  private lastTs: bigint | null = null;
  private seeded = false;

  constructor(
    options: LobsterOptions,
    /** File names for error messages. */
    private readonly files: { readonly messages: string; readonly orderbook: string } = { messages: 'messages', orderbook: 'orderbook' },
  ) {
    this.venue = options.venue ?? 'nasdaq';
    this.symbol = options.symbol;
    this.levels = options.levels ?? 10;
    this.midnight = lobsterMidnight(options.date, options.timeZone);
  }

  /** The book after message 1 as a snapshot, then message 1's trade or status if it had one. */
  seed(orderbookRow1: string, messageRow1: string): MarketEvent[] {
    const msg = this.fields(messageRow1, 1);
    const ts = msg.ts;
    const cols = orderbookRow1.trim().split(',');
    const where = `${this.files.orderbook} row 1`;
    if (cols.length !== 4 * this.levels) {
      throw formatError(
        `${where}: expected ${4 * this.levels} columns (${this.levels} levels × ask price, ask size, bid price, bid size), found ${cols.length}`,
        {
          row: 1,
        },
      );
    }
    const num = (i: number): bigint => {
      const v = cols[i]!.trim();
      if (!/^-?\d+$/.test(v))
        throw formatError(`${where}, column ${i + 1}: expected an integer, found ${describeValue(v)}`, { row: 1, column: i + 1 });
      return BigInt(v);
    };
    const levels: { side: 'bid' | 'ask'; price: bigint; size: bigint }[] = [];
    for (let l = 0; l < this.levels; l++) {
      const [ap, as, bp, bs] = [num(4 * l), num(4 * l + 1), num(4 * l + 2), num(4 * l + 3)];
      if (as > 0n && ap !== EMPTY_PRICE) levels.push({ side: 'ask', price: ap, size: as });
      if (bs > 0n && bp !== -EMPTY_PRICE) levels.push({ side: 'bid', price: bp, size: bs });
    }
    const head = {
      venue: this.venue,
      symbol: this.symbol,
      tsEvent: ts,
      tsRecv: ts,
      seq: 1n,
      priceScale: LOBSTER_PRICE_SCALE,
      sizeScale: SIZE_SCALE,
    };
    const out: MarketEvent[] = [];
    if (levels.length === 0) {
      // An empty book is still a known book: an L3 clear makes it valid and empty.
      out.push(createOrderUpdate({ ...head, action: 'clear', orderId: 0n, side: 'bid', price: 0n, size: 0n, flags: BookFlags.Last }));
    }
    levels.forEach((lv, i) => {
      const flags =
        BookFlags.Snapshot |
        (i === 0 ? BookFlags.SnapshotBegin : 0) |
        (i === levels.length - 1 ? BookFlags.SnapshotEnd | BookFlags.Last : 0);
      out.push(createBookUpdate({ ...head, ...lv, flags }) satisfies BookUpdate);
    });
    this.seeded = true;
    this.lastTs = ts;
    // Message 1's book change is in the seed; what it traded or announced is not.
    for (const e of this.toEvents(msg, 1)) if (e.type !== 'order') out.push(e);
    return out;
  }

  /** Events of message row `row` (1-based, ≥ 2). */
  message(line: string, row: number): MarketEvent[] {
    if (!this.seeded) throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'LOBSTER: seed() the book from orderbook row 1 before the messages');
    const msg = this.fields(line, row);
    if (this.lastTs !== null && msg.ts < this.lastTs) {
      throw formatError(`${this.files.messages} row ${row}: expected a time at or after the previous row's, found ${msg.time}`, { row });
    }
    this.lastTs = msg.ts;
    return this.toEvents(msg, row);
  }

  private fields(line: string, row: number): Message {
    const cols = line.trim().split(',');
    const where = `${this.files.messages} row ${row}`;
    if (cols.length !== 6) {
      throw formatError(
        `${where}: expected 6 columns (time, type, order_id, size, price, direction), found ${cols.length}: ${describeValue(line)}`,
        { row },
      );
    }
    const int = (i: number, name: string): bigint => {
      const v = cols[i]!.trim();
      if (!/^-?\d+$/.test(v))
        throw formatError(`${where}, ${name}: expected an integer, found ${describeValue(v)}`, { row, column: i + 1 });
      return BigInt(v);
    };
    const time = cols[0]!.trim();
    let offset: bigint;
    try {
      offset = parseDecimal(time, 9);
    } catch {
      throw formatError(`${where}, time: expected seconds after midnight with at most 9 decimals, found ${describeValue(time)}`, {
        row,
        column: 1,
      });
    }
    if (offset < 0n || offset >= 86_400n * 1_000_000_000n) {
      throw formatError(`${where}, time: expected seconds from 0 to 86400, found ${describeValue(time)}`, { row, column: 1 });
    }
    const type = Number(int(1, 'type'));
    if (!(type >= 1 && type <= 7))
      throw formatError(`${where}, type: expected 1 to 7, found ${describeValue(cols[1])}`, { row, column: 2 });
    const direction = int(5, 'direction');
    if (direction !== 1n && direction !== -1n) {
      throw formatError(`${where}, direction: expected 1 (bid) or -1 (ask), found ${describeValue(cols[5])}`, { row, column: 6 });
    }
    const size = int(3, 'size');
    if (size < 0n) throw formatError(`${where}, size: expected 0 or more, found ${size}`, { row, column: 4 });
    return { time, ts: this.midnight + offset, type, orderId: int(2, 'order_id'), size, price: int(4, 'price'), bid: direction === 1n };
  }

  private toEvents(m: Message, row: number): MarketEvent[] {
    const head = {
      venue: this.venue,
      symbol: this.symbol,
      tsEvent: m.ts,
      tsRecv: m.ts,
      seq: BigInt(row),
      priceScale: LOBSTER_PRICE_SCALE,
      sizeScale: SIZE_SCALE,
    };
    const order = {
      ...head,
      orderId: m.orderId,
      side: m.bid ? 'bid' : 'ask',
      price: m.price,
      size: m.size,
      flags: BookFlags.Last,
    } as const;
    const aggressor = m.bid ? 'sell' : 'buy'; // direction is the resting order's side
    switch (m.type) {
      case 1:
        return [createOrderUpdate({ ...order, action: 'add' })];
      case 2:
      case 3:
        return [createOrderUpdate({ ...order, action: 'cancel' })];
      case 4:
        return [createOrderUpdate({ ...order, action: 'fill' }), createTrade({ ...head, price: m.price, size: m.size, side: aggressor })];
      case 5:
        return [createTrade({ ...head, price: m.price, size: m.size, side: aggressor })];
      case 6:
        return [createTrade({ ...head, price: m.price, size: m.size, side: 'none' })];
      default: {
        const state = m.price < 0n ? 'halted' : m.price === 0n ? 'quoting' : 'trading';
        const detail = `${state} (LOBSTER type 7, price ${m.price})`;
        return [createStatus({ ...head, kind: 'trading', detail })];
      }
    }
  }
}

interface Message {
  readonly time: string;
  readonly ts: bigint;
  readonly type: number;
  readonly orderId: bigint;
  readonly size: bigint;
  readonly price: bigint;
  readonly bid: boolean;
}
