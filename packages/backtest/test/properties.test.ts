import { createHash } from 'node:crypto';
import type { BookSide, Fill, MarketEvent, OrderSide, OrderState, PositionState } from '@mdcap/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BacktestOptions, BacktestSession } from '../src/index.js';
import { MS, SYMBOL, T0, US, at, level, runEvents, snapshot, trade } from './helpers.js';

/**
 * Invariants of the simulated venue (issue 15), as fast-check properties over random but valid
 * L2 streams (a snapshot, then level changes and trades at the book's own prices) and random
 * strategies (market, limit GTC/IOC/FOK, post-only, cancel, replace at random times) with random
 * constant latencies and fees:
 * - the position is the signed sum of the fills (and each fill's `position` the running sum);
 * - cash + position × mark = realized + unrealized − fees, after every fill and at the end, and
 *   the summary's money agrees with the positions';
 * - no taker fill at a price or size the book did not offer at the moment of the match, never
 *   past the limit; maker fills at the order's own limit price; post-only orders never take;
 * - filled ≤ size for every order and every update, final statuses consistent with the fills
 *   (FOK all or nothing, IOC and market never left open);
 * - determinism: the same inputs twice give the same fills and order updates (hash).
 */

// ---- generated inputs ---------------------------------------------------------------------------

/** Bids live on 99.90–99.96 and asks on 100.00–100.06, so the replayed book never crosses. */
const BID_PRICES = [9990n, 9991n, 9992n, 9993n, 9994n, 9995n, 9996n];
const ASK_PRICES = [10000n, 10001n, 10002n, 10003n, 10004n, 10005n, 10006n];

type Op =
  | { readonly kind: 'level'; readonly side: BookSide; readonly i: number; readonly size: bigint }
  | { readonly kind: 'trade'; readonly aggressor: OrderSide; readonly frac: number; readonly bookIt: boolean };

type Action =
  | { readonly kind: 'market'; readonly step: number; readonly side: OrderSide; readonly size: bigint }
  | {
      readonly kind: 'limit';
      readonly step: number;
      readonly side: OrderSide;
      readonly price: bigint;
      readonly size: bigint;
      readonly tif: 'gtc' | 'ioc' | 'fok';
      readonly postOnly: boolean;
    }
  | { readonly kind: 'cancel'; readonly step: number; readonly target: number }
  | {
      readonly kind: 'replace';
      readonly step: number;
      readonly target: number;
      readonly price: bigint | null;
      readonly size: bigint | null;
    };

interface Scenario {
  readonly bids: [bigint, bigint][];
  readonly asks: [bigint, bigint][];
  readonly ops: Op[];
  readonly actions: Action[];
  readonly latency: { readonly entry: bigint; readonly ack: bigint; readonly feed: bigint };
  readonly fees: boolean;
  readonly maxPosition: bigint | null;
}

const size = fc.bigInt({ min: 1n, max: 20n });
const levels = (prices: bigint[]): fc.Arbitrary<[bigint, bigint][]> =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: prices.length - 1 }), { minLength: 1, maxLength: 4 })
    .chain((is) => fc.tuple(...is.map((i) => size.map((s): [bigint, bigint] => [prices[i]!, s]))));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('level' as const),
    side: fc.constantFrom<BookSide>('bid', 'ask'),
    i: fc.integer({ min: 0, max: 6 }),
    size: fc.bigInt({ min: 0n, max: 20n }),
  }),
  fc.record({
    kind: fc.constant('trade' as const),
    aggressor: fc.constantFrom<OrderSide>('buy', 'sell'),
    frac: fc.integer({ min: 1, max: 100 }),
    bookIt: fc.boolean(),
  }),
);
const STEPS = 20;
const step = fc.integer({ min: 0, max: STEPS - 1 });
const side = fc.constantFrom<OrderSide>('buy', 'sell');
/** Limit prices over both sides' ranges and a little beyond: marketable, resting, inside the spread. */
const limitPrice = fc.integer({ min: 9988, max: 10008 }).map(BigInt);
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('market' as const), step, side, size }),
  fc.record({
    kind: fc.constant('limit' as const),
    step,
    side,
    price: limitPrice,
    size,
    tif: fc.constantFrom<'gtc' | 'ioc' | 'fok'>('gtc', 'gtc', 'ioc', 'fok'),
    postOnly: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('cancel' as const), step, target: fc.nat(20) }),
  fc.record({ kind: fc.constant('replace' as const), step, target: fc.nat(20), price: fc.option(limitPrice), size: fc.option(size) }),
);
const latency = fc.constantFrom(0n, 0n, 500n * US, MS, 3n * MS);
const scenario: fc.Arbitrary<Scenario> = fc.record({
  bids: levels(BID_PRICES),
  asks: levels(ASK_PRICES),
  ops: fc.array(op, { minLength: STEPS, maxLength: STEPS }),
  actions: fc.array(action, { minLength: 1, maxLength: 12 }),
  latency: fc.record({ entry: latency, ack: latency, feed: latency }),
  fees: fc.boolean(),
  maxPosition: fc.option(fc.bigInt({ min: 5n, max: 40n }), { freq: 3 }),
});

/** The stream: the snapshot at T0, then step i at T0 + (i + 1) ms (a trade is at a price the book shows, and is optionally booked). */
function eventsOf(s: Scenario): MarketEvent[] {
  const book: Record<BookSide, Map<bigint, bigint>> = { bid: new Map(s.bids), ask: new Map(s.asks) };
  const out: MarketEvent[] = [...snapshot(T0, s.bids, s.asks)];
  s.ops.forEach((o, i) => {
    const t = T0 + BigInt(i + 1) * MS;
    if (o.kind === 'level') {
      const price = (o.side === 'bid' ? BID_PRICES : ASK_PRICES)[o.i]!;
      if (o.size === 0n && !book[o.side].has(price)) return;
      if (o.size === 0n) book[o.side].delete(price);
      else book[o.side].set(price, o.size);
      out.push(level(t, o.side, price, o.size));
      return;
    }
    const hit: BookSide = o.aggressor === 'buy' ? 'ask' : 'bid';
    const prices = [...book[hit].keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const best = hit === 'ask' ? prices[0] : prices[prices.length - 1];
    if (best === undefined) return;
    const have = book[hit].get(best)!;
    const q = (have * BigInt(o.frac) + 99n) / 100n;
    out.push(trade(t, best, q, o.aggressor));
    if (o.bookIt) {
      const left = have - q;
      if (left === 0n) book[hit].delete(best);
      else book[hit].set(best, left);
      out.push(level(t, hit, best, left));
    }
  });
  return out;
}

// ---- one run, with what the checks need --------------------------------------------------------

interface Run {
  readonly session: BacktestSession;
  readonly fills: Fill[];
  readonly updates: OrderState[];
  /** After every fill: the position then. */
  readonly afterFill: PositionState[];
  /** The book after each event: [clock time, bids, asks] (levels as price → size). */
  readonly books: [bigint, Map<bigint, bigint>, Map<bigint, bigint>][];
  /** Every price each order was given (submit, then replaces), by order id. */
  readonly prices: Map<number, Set<bigint | null>>;
  readonly requests: Map<number, Action & { kind: 'market' | 'limit' }>;
  readonly options: BacktestOptions;
}

async function runScenario(s: Scenario): Promise<Run> {
  const options: BacktestOptions = {
    latency: s.latency,
    ...(s.fees ? { fees: { maker: '-0.0001', taker: '0.0003' } } : {}),
    ...(s.maxPosition !== null ? { maxPosition: { '*': s.maxPosition } } : {}),
  };
  const fills: Fill[] = [];
  const updates: OrderState[] = [];
  const afterFill: PositionState[] = [];
  const books: Run['books'] = [];
  const prices = new Map<number, Set<bigint | null>>();
  const requests = new Map<number, Action & { kind: 'market' | 'limit' }>();
  const session = await runEvents(
    eventsOf(s),
    (session, engine) => {
      const broker = session.broker;
      broker.onFill((f) => {
        fills.push(f);
        afterFill.push(broker.position(SYMBOL));
      });
      broker.onOrder((o) => updates.push(o));
      engine.onBookUpdate((u, b) => {
        const t = b.top(50);
        books.push([u.tsRecv, new Map(t.bids.map((l) => [l.price, l.size])), new Map(t.asks.map((l) => [l.price, l.size]))]);
      });
      const ids: number[] = [];
      for (const a of s.actions) {
        at(engine, T0 + BigInt(a.step + 1) * MS, () => {
          if (a.kind === 'market' || a.kind === 'limit') {
            const o =
              a.kind === 'market'
                ? broker.submit({ symbol: SYMBOL, side: a.side, size: a.size })
                : broker.submit({ symbol: SYMBOL, side: a.side, price: a.price, size: a.size, tif: a.tif, postOnly: a.postOnly });
            ids.push(o.id);
            requests.set(o.id, a);
            prices.set(o.id, new Set([a.kind === 'limit' ? a.price : null]));
          } else if (ids.length > 0) {
            const id = ids[a.target % ids.length]!;
            if (a.kind === 'cancel') broker.cancel(id);
            else if (a.price !== null || a.size !== null) {
              broker.replace(id, { ...(a.price !== null ? { price: a.price } : {}), ...(a.size !== null ? { size: a.size } : {}) });
              if (a.price !== null) prices.get(id)!.add(a.price);
            }
          }
        });
      }
    },
    options,
  );
  return { session, fills, updates, afterFill, books, prices, requests, options };
}

const json = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
const hash = (r: Run): string =>
  createHash('sha256').update(json(r.fills)).update(json(r.updates)).update(json(r.session.summary())).digest('hex');

/** cash + size × mark = realized + unrealized − fees (all at money scale: the mark is at moneyScale − sizeScale). */
function moneyHolds(p: PositionState): void {
  expect(p.pnl).toBe(p.realized + p.unrealized - p.fees);
  if (p.mark === null) {
    expect(p.unrealized).toBe(0n);
    if (p.size === 0n) expect(p.cash).toBe(p.realized - p.fees);
    return;
  }
  expect(p.cash + p.size * p.mark).toBe(p.realized + p.unrealized - p.fees);
}

const PARAMS = {
  numRuns: Number(process.env['PROPS_RUNS'] ?? 100),
  seed: Number(process.env['PROPS_SEED'] ?? 15),
  endOnFailure: true,
} as const;

describe('simulated venue: properties', () => {
  it('position = signed sum of fills; cash + position × mark = realized + unrealized − fees; the summary agrees', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const r = await runScenario(s);
        let pos = 0n;
        let cash = 0n;
        let fees = 0n;
        r.fills.forEach((f, i) => {
          pos += f.side === 'buy' ? f.size : -f.size;
          expect(f.position, `fill ${f.fillId}`).toBe(pos);
          expect(r.afterFill[i]!.size).toBe(pos);
          moneyHolds(r.afterFill[i]!);
          // Cash moves by the notional at money scale (price scale 2 + 1 + size scale 0 + fee digits) and the fee.
          const up = 10n ** BigInt(f.moneyScale - 2);
          cash += (f.side === 'buy' ? -1n : 1n) * f.price * f.size * up - f.fee;
          fees += f.fee;
        });
        const summary = r.session.summary();
        expect(summary.fills).toBe(r.fills.length);
        expect(summary.makerFills + summary.takerFills).toBe(r.fills.length);
        if (r.fills.length === 0) return;
        const p = r.session.broker.position(SYMBOL);
        expect(p.size).toBe(pos);
        expect(p.cash).toBe(cash);
        expect(p.fees).toBe(fees);
        moneyHolds(p);
        const total = r.session.broker.pnl();
        expect(total.pnl).toBe(p.pnl);
        expect(summary.pnl * 10n ** BigInt(p.moneyScale)).toBe(p.pnl * 10n ** BigInt(summary.moneyScale));
        expect(summary.fees * 10n ** BigInt(p.moneyScale)).toBe(p.fees * 10n ** BigInt(summary.moneyScale));
        expect(summary.positions.map((x) => x.size)).toEqual([pos]);
      }),
      PARAMS,
    );
  });

  it('taker fills only at prices and sizes the book offered at the match, within the limit; maker fills at the order’s own price; post-only never takes', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const r = await runScenario(s);
        for (const f of r.fills) {
          const req = r.requests.get(f.orderId)!;
          if (f.liquidity === 'taker') {
            if (req.kind === 'limit') expect(req.postOnly, `fill ${f.fillId}: a post-only order took liquidity`).toBe(false);
            // The venue matches at venue time + the feed latency on the engine's clock: the book then is the one after every event before that time.
            const m = f.tsVenue + s.latency.feed;
            let book: [bigint, Map<bigint, bigint>, Map<bigint, bigint>] | undefined;
            for (const b of r.books) if (b[0] < m) book = b;
            expect(book, `fill ${f.fillId}: no book before ${m}`).toBeDefined();
            const offered = (f.side === 'buy' ? book![2] : book![1]).get(f.price);
            expect(offered, `fill ${f.fillId} at ${f.price}: not a level of the book at ${m - T0} ns`).toBeDefined();
            expect(f.size <= offered!, `fill ${f.fillId}: ${f.size} at ${f.price}, the level had ${offered}`).toBe(true);
            if (req.kind === 'limit') {
              const limits = [...r.prices.get(f.orderId)!].filter((x): x is bigint => x !== null);
              expect(
                limits.some((l) => (f.side === 'buy' ? f.price <= l : f.price >= l)),
                `fill ${f.fillId} at ${f.price} past every limit of the order (${limits.join(', ')})`,
              ).toBe(true);
            }
          } else {
            expect(req.kind).toBe('limit');
            expect(r.prices.get(f.orderId)!.has(f.price), `maker fill ${f.fillId} at ${f.price}, not a price of the order`).toBe(true);
          }
        }
      }),
      PARAMS,
    );
  });

  it('filled ≤ size on every update; final statuses agree with the fills', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const r = await runScenario(s);
        for (const o of r.updates) expect(o.filled <= o.size, `order ${o.id}: filled ${o.filled} of ${o.size}`).toBe(true);
        const filledBy = new Map<number, bigint>();
        for (const f of r.fills) filledBy.set(f.orderId, (filledBy.get(f.orderId) ?? 0n) + f.size);
        for (const [id, req] of r.requests) {
          const o = r.session.broker.order(id)!;
          const filled = filledBy.get(id) ?? 0n;
          expect(o.filled, `order ${id}`).toBe(filled);
          expect(filled <= o.size, `order ${id}: filled ${filled} of ${o.size}`).toBe(true);
          if (o.status === 'filled') expect(filled).toBe(o.size);
          if (o.status === 'cancelled' || o.status === 'open')
            expect(filled < o.size, `order ${id} is ${o.status} with all filled`).toBe(true);
          if (o.status === 'rejected') expect(filled).toBe(0n);
          if (req.kind === 'market' || req.tif !== 'gtc')
            expect(o.status, `order ${id} (${req.kind} ${req.kind === 'limit' ? req.tif : ''})`).not.toBe('open');
          if (req.kind === 'limit' && req.tif === 'fok')
            expect(filled === 0n || filled === o.size, `FOK order ${id}: filled ${filled} of ${o.size}`).toBe(true);
        }
        // Open orders are those not final.
        const open = r.session.broker.openOrders().map((o) => o.id);
        expect(open).toEqual([...r.requests.keys()].filter((id) => ['open', 'pending'].includes(r.session.broker.order(id)!.status)));
      }),
      PARAMS,
    );
  });

  it('the generated scenarios exercise what the properties speak of (coverage of a fixed sample)', async () => {
    const seen = new Map<string, number>();
    const count = (k: string): void => {
      seen.set(k, (seen.get(k) ?? 0) + 1);
    };
    for (const s of fc.sample(scenario, { seed: PARAMS.seed, numRuns: 100 })) {
      const r = await runScenario(s);
      for (const f of r.fills) count(`${f.liquidity}${f.size < r.session.broker.order(f.orderId)!.size ? ' partial' : ''}`);
      if (r.fills.some((f) => f.liquidity === 'maker') && s.latency.feed > 0n) count('maker with feed latency');
      if (r.fills.some((f) => f.liquidity === 'taker') && s.latency.entry > 0n) count('taker with entry latency');
      if (r.fills.length > 0 && s.fees) count('fees');
      for (const o of r.updates) {
        if (o.reject !== null) count(`reject ${o.reject}`);
        if (o.status === 'cancelled') count(`cancelled ${o.tif}`);
        if (o.detail.startsWith('replaced')) count('replaced');
      }
      const p = r.fills.length > 0 ? r.session.broker.position(SYMBOL) : null;
      if (p !== null && p.realized !== 0n) count('realized');
      if (p !== null && p.size !== 0n) count('open position');
    }
    for (const k of [
      'maker',
      'taker',
      'taker partial',
      'maker with feed latency',
      'taker with entry latency',
      'fees',
      'reject post-only-would-cross',
      'reject position-limit',
      'cancelled gtc',
      'cancelled ioc',
      'cancelled fok',
      'replaced',
      'realized',
      'open position',
    ]) {
      expect(seen.get(k) ?? 0, `${k} in ${json([...seen])}`).toBeGreaterThan(0);
    }
  });

  it('determinism: the same inputs twice give the same fills and updates (hash)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const a = await runScenario(s);
        const b = await runScenario(s);
        expect(hash(b)).toBe(hash(a));
      }),
      { ...PARAMS, numRuns: 50 },
    );
  });
});
