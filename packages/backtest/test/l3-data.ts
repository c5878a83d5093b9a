import { readFileSync } from 'node:fs';
import type { BookSide, MarketEvent, OrderSide } from '@mdcap/core';
import { DbnReader, DbnToEvents, SymbolMap } from '@mdcap/dbn';
import { RealtimeEngine } from '@mdcap/engine';
import { LobsterParser } from '@mdcap/feeds';
import { datasetFile } from '@mdcap/test-utils';
import { BacktestSession } from '../src/index.js';

/**
 * L3 data for the L3-truth test, in two forms: the events mdcap replays (through the library's
 * own importers), and the raw messages read straight from the files, which the test's oracle
 * walks without the engine or the broker.
 */

/** One raw message of the file, normalised. `exec` is an execution of the resting order `id`. */
export interface RawMsg {
  /** Message number: LOBSTER row (1-based), DBN record index (0-based). */
  readonly n: number;
  readonly kind: 'add' | 'cancel' | 'modify' | 'exec' | 'hidden' | 'trade' | 'clear' | 'other';
  readonly id: bigint;
  /** The resting side (for `trade`: the side that was hit, when known). */
  readonly side: BookSide | null;
  readonly price: bigint;
  readonly size: bigint;
  /** For LOBSTER, cancels and executions name how much left the order; for DBN, executions leave the book through a following cancel or modify. */
  readonly changesBook: boolean;
}

export interface L3Data {
  readonly symbol: string;
  readonly events: MarketEvent[];
  /** The message each event came from (same index as `events`). */
  readonly msgOf: number[];
  readonly messages: RawMsg[];
  /** Messages after which a placement or probe may happen (a complete venue message: the book is consistent). */
  readonly boundaries: number[];
  /** LOBSTER: the seed's levels (anonymous liquidity from before the sample), `side:price` → size. */
  readonly seed: Map<string, bigint>;
  /** Messages up to this one are inside the seed (LOBSTER: orderbook row 1 is the book after message 1). */
  readonly seededThrough: number;
}

// ---- LOBSTER ------------------------------------------------------------------------------------

const LOB_MESSAGES = 'AAPL_2012-06-21_34200000_57600000_message_10.first999.csv';
const LOB_BOOKS = 'AAPL_2012-06-21_34200000_57600000_orderbook_10.first999.csv';

export function lobsterData(): L3Data {
  const lines = readFileSync(datasetFile('lobster', LOB_MESSAGES), 'utf8').trim().split('\n');
  const book1 = readFileSync(datasetFile('lobster', LOB_BOOKS), 'utf8').split('\n')[0]!;
  const parser = new LobsterParser({ symbol: 'AAPL', date: '2012-06-21' });
  const events: MarketEvent[] = [];
  const msgOf: number[] = [];
  for (const e of parser.seed(book1, lines[0]!)) {
    events.push(e);
    msgOf.push(1);
  }
  for (let k = 2; k <= lines.length; k++) {
    for (const e of parser.message(lines[k - 1]!, k)) {
      events.push(e);
      msgOf.push(k);
    }
  }
  // The raw side: the files read by hand.
  const messages: RawMsg[] = lines.map((line, i) => {
    const [, type = '', id, size, price, dir] = line.split(',');
    const side: BookSide = dir === '1' ? 'bid' : 'ask';
    const base = { n: i + 1, id: BigInt(id!), side, price: BigInt(price!), size: BigInt(size!) };
    switch (type) {
      case '1':
        return { ...base, kind: 'add', changesBook: true };
      case '2':
      case '3':
        return { ...base, kind: 'cancel', changesBook: true };
      case '4':
        return { ...base, kind: 'exec', changesBook: true };
      case '5':
        return { ...base, kind: 'hidden', changesBook: false };
      case '6':
        return { ...base, kind: 'trade', side: null, changesBook: false };
      default:
        return { ...base, kind: 'other', changesBook: false };
    }
  });
  const seed = new Map<string, bigint>();
  const cols = book1.trim().split(',').map(BigInt);
  for (let l = 0; l < cols.length / 4; l++) {
    if (cols[4 * l + 1]! > 0n) seed.set(`ask:${cols[4 * l]}`, cols[4 * l + 1]!);
    if (cols[4 * l + 3]! > 0n) seed.set(`bid:${cols[4 * l + 2]}`, cols[4 * l + 3]!);
  }
  return { symbol: 'AAPL', events, msgOf, messages, boundaries: messages.map((m) => m.n), seed, seededThrough: 1 };
}

// ---- Databento MBO ------------------------------------------------------------------------------

export const MBO_DATASET = 'nautilus-trader';
const MBO_FILE = 'databento/mbo_catalog/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst';

export function mboData(): L3Data {
  const file = datasetFile(MBO_DATASET, MBO_FILE);
  const reader = new DbnReader(readFileSync(file), { file });
  const records = reader.all();
  const convert = new DbnToEvents(reader.metadata?.dataset ?? 'GLBX.MDP3', SymbolMap.fromMetadata(reader.metadata));
  const events: MarketEvent[] = [];
  const msgOf: number[] = [];
  records.forEach((r, i) =>
    convert.convert(
      r,
      (e) => {
        events.push(e);
        msgOf.push(i);
      },
      'mbo',
    ),
  );
  const LAST = 0x80;
  const boundaries: number[] = [];
  const messages: RawMsg[] = records.map((r, n) => {
    const action = r['action'] as string;
    if (((r['flags'] as number) & LAST) !== 0 && action !== 'T' && action !== 'F') boundaries.push(n);
    const side: BookSide | null = r['side'] === 'B' ? 'bid' : r['side'] === 'A' ? 'ask' : null;
    const base = { n, id: r['order_id'] as bigint, price: r['price'] as bigint, size: BigInt(r['size'] as number) };
    switch (action) {
      case 'A':
        return { ...base, side, kind: 'add', changesBook: true };
      case 'C':
        return { ...base, side, kind: 'cancel', changesBook: true };
      case 'M':
        return { ...base, side, kind: 'modify', changesBook: true };
      case 'F':
        return { ...base, side, kind: 'exec', changesBook: false };
      case 'T':
        // DBN's side of a trade is the aggressor's: the side hit is the other one.
        return { ...base, side: side === 'bid' ? 'ask' : side === 'ask' ? 'bid' : null, kind: 'trade', changesBook: false };
      case 'R':
        return { ...base, side, kind: 'clear', changesBook: true };
      default:
        return { ...base, side, kind: 'other', changesBook: false };
    }
  });
  return { symbol: reader.metadata?.symbols[0] ?? 'ESM4', events, msgOf, messages, boundaries, seed: new Map(), seededThrough: -1 };
}

// ---- the oracle ---------------------------------------------------------------------------------

export interface Placement {
  /** The order is placed right after this message (the book as it stands then). */
  readonly after: number;
  readonly side: OrderSide;
  readonly price: bigint;
  readonly size: bigint;
  /** Right after each of these messages, the order's size is cut by one (a replace that keeps its place): a probe of the queue. */
  readonly probes: readonly number[];
}

export interface Outcome {
  /** The size ahead at placement, then at each probe. */
  readonly ahead: bigint[];
  /** Fills: the message that filled, and the size. */
  readonly fills: [number, bigint][];
  /** Executions that price-time priority cannot explain (an order behind executed while size was ahead). */
  readonly anomalies: string[];
  /** The size of the seed's anonymous liquidity (LOBSTER: resting before the sample) ahead at placement. */
  readonly seededAhead: bigint;
  /** Messages where a real order arrived priced through the order with nothing ahead: it trades with the order, by its own size. */
  readonly crossedBy: number[];
}

const key = (side: BookSide, price: bigint): string => `${side}:${price}`;

/**
 * The truth, from the raw messages only: replays the order book by id (plus, for LOBSTER, the
 * seed's anonymous size per level), takes every order resting at the placement's price and side
 * as ahead, then walks forward. Orders ahead leave by their cancels, executions and (DBN)
 * modifies that change the price or raise the size; the order fills at the first execution at
 * its price of an order that is not ahead (one placed later, or hidden liquidity) once nothing
 * is ahead, by that execution's size; an execution at a worse price on its side (traded
 * through) fills all of it.
 */
export function oracle(data: L3Data, p: Placement): Outcome {
  const mySide: BookSide = p.side === 'buy' ? 'bid' : 'ask';
  const book = new Map<bigint, { side: BookSide; price: bigint; size: bigint }>();
  const anon = new Map(data.seed);
  const ahead = new Map<bigint, bigint>();
  let anonAhead = 0n;
  let placed = false;
  let remaining = p.size;
  const out = {
    ahead: [] as bigint[],
    fills: [] as [number, bigint][],
    anomalies: [] as string[],
    seededAhead: 0n,
    crossedBy: [] as number[],
  };
  const probes = new Set(p.probes);
  const total = (): bigint => {
    let t = anonAhead;
    for (const s of ahead.values()) t += s;
    return t;
  };
  const worse = (price: bigint): boolean => (p.side === 'buy' ? price < p.price : price > p.price);
  let lastTrade = -1;
  const fill = (m: RawMsg, size: bigint): void => {
    const s = size < remaining ? size : remaining;
    if (s <= 0n) return;
    remaining -= s;
    // A DBN fill (F) follows its trade (T), which is the event the replay has.
    out.fills.push([m.kind === 'exec' && !m.changesBook ? lastTrade : m.n, s]);
  };
  for (const m of data.messages) {
    if (m.kind === 'trade') lastTrade = m.n;
    // A real order priced through ours arrives (LOBSTER: the rest of an aggressive order that
    // went on to rest): with nothing ahead it trades with ours first, by its size.
    const through =
      (m.kind === 'add' || m.kind === 'modify') &&
      m.side !== null &&
      m.side !== mySide &&
      (p.side === 'buy' ? m.price <= p.price : m.price >= p.price);
    if (placed && remaining > 0n && through) {
      if (total() === 0n) {
        out.crossedBy.push(m.n);
        fill(m, m.size);
      } else {
        out.anomalies.push(`message ${m.n}: order ${m.id} arrived through the price with ${total()} ahead`);
      }
    }
    // Effects on the order (before the book moves on).
    if (placed && remaining > 0n && m.side === mySide) {
      const known = book.get(m.id);
      const isAhead =
        ahead.has(m.id) || (known === undefined && m.kind !== 'add' && m.price === p.price && anonAhead > 0n && data.seed.size > 0);
      if (m.kind === 'exec' || m.kind === 'hidden') {
        if (worse(m.price)) fill(m, remaining);
        else if (m.price === p.price && !(m.kind === 'exec' && isAhead)) {
          if (total() === 0n) fill(m, m.size);
          else if (m.kind === 'exec') out.anomalies.push(`message ${m.n}: order ${m.id} behind executed with ${total()} ahead`);
        }
      }
      if (m.price === p.price || ahead.has(m.id)) {
        if ((m.kind === 'cancel' || (m.kind === 'exec' && m.changesBook)) && isAhead) {
          if (ahead.has(m.id)) {
            const left = ahead.get(m.id)! - (m.size === 0n ? ahead.get(m.id)! : m.size);
            if (left > 0n) ahead.set(m.id, left);
            else ahead.delete(m.id);
          } else {
            anonAhead -= m.size < anonAhead ? m.size : anonAhead;
          }
        } else if (m.kind === 'modify' && ahead.has(m.id)) {
          const had = ahead.get(m.id)!;
          if (m.price !== p.price || m.size > had) ahead.delete(m.id);
          else if (m.size === 0n) ahead.delete(m.id);
          else ahead.set(m.id, m.size);
        }
      }
    }
    // The book.
    if (m.n <= data.seededThrough) {
      // Already in the seed.
    } else if (m.kind === 'clear') {
      book.clear();
      anon.clear();
    } else if (m.kind === 'add' && m.side !== null) {
      book.set(m.id, { side: m.side, price: m.price, size: m.size });
    } else if (m.kind === 'modify' && m.side !== null) {
      if (m.size === 0n) book.delete(m.id);
      else book.set(m.id, { side: m.side, price: m.price, size: m.size });
    } else if ((m.kind === 'cancel' || (m.kind === 'exec' && m.changesBook)) && m.side !== null) {
      const o = book.get(m.id);
      if (o !== undefined) {
        o.size -= m.size === 0n ? o.size : m.size;
        if (o.size <= 0n) book.delete(m.id);
      } else {
        const k = key(m.side, m.price);
        const have = anon.get(k) ?? 0n;
        if (have > 0n) anon.set(k, have - (m.size < have ? m.size : have));
      }
    }
    if (!placed && m.n === p.after) {
      placed = true;
      for (const [id, o] of book) if (o.side === mySide && o.price === p.price) ahead.set(id, o.size);
      anonAhead = anon.get(key(mySide, p.price)) ?? 0n;
      out.seededAhead = anonAhead;
      out.ahead.push(total());
    } else if (placed && probes.has(m.n) && remaining > 1n) {
      remaining -= 1n;
      out.ahead.push(total());
    }
  }
  return out;
}

// ---- the broker on the same data ------------------------------------------------------------------

/**
 * Replays the events through an engine with a backtest session (zero latency), places the order
 * right after message `after` (at the first event of the next message, before the engine applies
 * it) and probes after each probe message by cutting the size by one. Reports what the broker
 * said: queueAhead at placement and at each probe, and its fills by the message that caused them.
 */
export async function brokerOutcome(data: L3Data, p: Placement): Promise<Outcome & { statuses: string[]; level: bigint }> {
  const engine = new RealtimeEngine(data.events);
  const session = new BacktestSession(engine);
  const { broker } = session;
  let current = -1;
  let id = 0;
  const errors: string[] = [];
  engine.onError((e) => errors.push(e.message));
  let size = p.size;
  const out = {
    ahead: [] as bigint[],
    fills: [] as [number, bigint][],
    anomalies: [] as string[],
    seededAhead: 0n,
    crossedBy: [] as number[],
    statuses: [] as string[],
    level: -1n,
  };
  const next = new Map<number, number>();
  for (let i = 0; i < data.boundaries.length - 1; i++) next.set(data.boundaries[i]!, data.boundaries[i + 1]!);
  // The first event of the message after a boundary.
  const firstEventOf = new Map<number, number>();
  data.msgOf.forEach((m, i) => {
    if (!firstEventOf.has(m)) firstEventOf.set(m, i);
  });
  const actAt = (after: number): number | undefined => {
    // The first event after message `after`: the first event of any later message.
    for (let m = after + 1; m <= data.messages[data.messages.length - 1]!.n; m++) {
      const e = firstEventOf.get(m);
      if (e !== undefined) return e;
    }
    return undefined;
  };
  const placeAt = actAt(p.after);
  const probeAt = new Set(p.probes.map(actAt).filter((x): x is number => x !== undefined));
  let index = -1;
  engine.onEvent(() => {
    index++;
    current = data.msgOf[index]!;
    if (index === placeAt) {
      out.level = engine.book(data.symbol).sizeAt(p.side === 'buy' ? 'bid' : 'ask', p.price);
      const o = broker.submit({ symbol: data.symbol, side: p.side, price: p.price, size: p.size });
      id = o.id;
    } else if (probeAt.has(index) && id !== 0) {
      const o = broker.order(id)!;
      if (o.status === 'open' && o.size - o.filled > 1n) {
        size -= 1n;
        broker.replace(id, { size });
      }
    }
  });
  broker.onFill((f) => out.fills.push([current, f.size]));
  broker.onOrder((o) => {
    out.statuses.push(`${o.status}:${o.detail}`);
    if (o.status === 'open' && (o.detail === 'resting' || o.detail.startsWith('replaced (size down'))) out.ahead.push(o.queueAhead!);
  });
  await engine.run([data.symbol]);
  session.finish();
  if (errors.length > 0) throw new Error(`engine errors: ${errors.slice(0, 3).join('; ')}`);
  return out;
}

/** The best `depth` prices of each side after every message that left a valid book (from the engine, to choose placements). */
export async function topsByMessage(data: L3Data, depth = 3): Promise<Map<number, { bids: bigint[]; asks: bigint[] }>> {
  const tops = new Map<number, { bids: bigint[]; asks: bigint[] }>();
  const engine = new RealtimeEngine(data.events);
  let index = -1;
  engine.onEvent(() => {
    index++;
  });
  const keep = (b: { valid: boolean; top(n: number): { bids: { price: bigint }[]; asks: { price: bigint }[] } }): void => {
    if (!b.valid) return;
    const t = b.top(depth);
    tops.set(data.msgOf[index]!, { bids: t.bids.map((l) => l.price), asks: t.asks.map((l) => l.price) });
  };
  engine.onOrderUpdate((_u, b) => keep(b));
  engine.onBookUpdate((_u, b) => keep(b));
  await engine.run([data.symbol]);
  return tops;
}

/** The top after message `n` (the latest message at or before it that changed the book). */
export function topAt(tops: Map<number, { bids: bigint[]; asks: bigint[] }>, n: number): { bids: bigint[]; asks: bigint[] } {
  for (let m = n; m >= 0; m--) {
    const t = tops.get(m);
    if (t !== undefined) return t;
  }
  throw new Error(`no valid book at or before message ${n}`);
}
