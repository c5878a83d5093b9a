import { createBookUpdate, createOrderUpdate, createStatus, createTrade, MdcapError, SUBSCRIPTION_KINDS, VirtualClock } from '@mdcap/core';
import type {
  BookSide,
  BookUpdate,
  DataProvider,
  EventSink,
  MarketEvent,
  OrderAction,
  OrderUpdate,
  Status,
  StatusKind,
  SubscriptionKind,
  Trade,
} from '@mdcap/core';

/** 2024-01-02T14:30:00Z */
export const T0 = 1_704_205_800_000_000_000n;
export const SEC = 1_000_000_000n;
export const MS = 1_000_000n;

/**
 * A hand-driven provider for engine rules: the test pushes events and moves the virtual clock.
 * (Venue handlers are tested against emulators of the real protocols, not against this.)
 */
export class ManualProvider implements DataProvider {
  readonly venue = 'test';
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS;
  readonly clock: VirtualClock;
  sink: EventSink | null = null;
  readonly subscriptions: string[] = [];
  readonly connectTimes: bigint[] = [];
  /** Reject this many connect() calls (from the next one on). */
  failConnects = 0;
  /** Symbols subscribe() accepts (all when null). */
  known: readonly string[] | null = null;
  pauses = 0;
  resumes = 0;
  readies = 0;

  constructor(start: bigint = T0) {
    this.clock = new VirtualClock(start);
  }

  connect(sink: EventSink): Promise<void> {
    this.connectTimes.push(this.clock.now());
    if (this.failConnects > 0) {
      this.failConnects--;
      return Promise.reject(new Error('connection refused'));
    }
    this.sink = sink;
    return Promise.resolve();
  }

  subscribe(symbol: string, _kinds: readonly SubscriptionKind[]): Promise<void> {
    if (this.known !== null && !this.known.includes(symbol)) {
      return Promise.reject(
        new MdcapError('MDCAP_ERR_UNKNOWN_SYMBOL', `test: expected one of ${this.known.join(', ')}, found "${symbol}"`),
      );
    }
    this.subscriptions.push(symbol);
    return Promise.resolve();
  }

  ready(): void {
    this.readies++;
  }

  disconnect(): Promise<void> {
    this.sink = null;
    return Promise.resolve();
  }

  pause(): void {
    this.pauses++;
  }

  resume(): void {
    this.resumes++;
  }

  /** Delivers events (the engine moves the virtual clock to each tsRecv). */
  push(...events: MarketEvent[]): void {
    for (const e of events) this.sink!.push(e);
  }

  /** Drops the connection. */
  drop(reason = 'socket closed'): void {
    this.sink!.lost(new Error(reason));
  }
}

/** Settles pending promise chains (the engine's async reconnect steps). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}

/** Advances virtual time in steps, letting async work run between steps. */
export async function advance(clock: VirtualClock, to: bigint, step: bigint = SEC): Promise<void> {
  while (clock.now() < to) {
    const next = clock.now() + step < to ? clock.now() + step : to;
    clock.advanceTo(next);
    await flush();
  }
}

export function trade(symbol: string, ts: bigint, price: bigint, size: bigint, recv: bigint = ts, venue = 'test'): Trade {
  return createTrade({ venue, symbol, tsEvent: ts, tsRecv: recv, price, size, priceScale: 2, sizeScale: 0 });
}

export function level(symbol: string, ts: bigint, side: BookSide, price: bigint, size: bigint, flags = 0, venue = 'test'): BookUpdate {
  return createBookUpdate({ venue, symbol, tsEvent: ts, tsRecv: ts, side, price, size, priceScale: 2, sizeScale: 0, flags });
}

export function order(
  symbol: string,
  ts: bigint,
  action: OrderAction,
  orderId: bigint,
  side: BookSide,
  price: bigint,
  size: bigint,
  flags = 0,
): OrderUpdate {
  return createOrderUpdate({
    venue: 'test',
    symbol,
    tsEvent: ts,
    tsRecv: ts,
    action,
    orderId,
    side,
    price,
    size,
    priceScale: 2,
    sizeScale: 0,
    flags,
  });
}

export function status(
  symbol: string,
  ts: bigint,
  kind: StatusKind,
  extra: Partial<Pick<Status, 'fromSeq' | 'toSeq' | 'ok' | 'detail'>> = {},
): Status {
  return createStatus({ venue: 'test', symbol, tsEvent: ts, tsRecv: ts, kind, ...extra });
}
