import {
  ALL_SYMBOLS,
  BookFlags,
  createBar,
  createBookUpdate,
  createOrderUpdate,
  createQuote,
  createStatus,
  createTrade,
  VirtualClock,
} from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { CaptureWriter, releaseLock } from '@mdcap/capture';
import { simulatedEvents } from '@mdcap/test-utils';

export const T0 = 1_704_205_800_000_000_000n; // 2024-01-02T14:30:00Z
export const SEC = 1_000_000_000n;
const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/**
 * Every kind of event with the values that break naive encoders: 64-bit extremes, the largest
 * sequence number, null and string ids, empty quote sides, names that need escaping in a path,
 * nanoseconds past 2^53, a timestamp before 1970 and one in 2262.
 */
export function edgeEvents(): MarketEvent[] {
  const h = (k: bigint, venue = 'edge', symbol = 'BTC/USDT') => ({ venue, symbol, tsEvent: T0 + k * 7n - 3n, tsRecv: T0 + k * 1_000_003n });
  return [
    createStatus({ ...h(0n), symbol: ALL_SYMBOLS, kind: 'connected', detail: 'hello ✓' }),
    createTrade({ ...h(1n), seq: U64_MAX, price: I64_MAX, size: 1n, priceScale: 18, sizeScale: 0, side: 'buy', tradeId: 'T-1' }),
    createTrade({ ...h(2n), seq: 0n, price: I64_MIN, size: I64_MAX, priceScale: 0, sizeScale: 18, side: 'sell', tradeId: null }),
    createTrade({ ...h(3n, 'ven=ue/1', 'ÄÖ ü'), price: -5n, size: 0n, priceScale: 2, sizeScale: 8 }),
    createQuote({ ...h(4n), seq: 9n, bidPrice: null, bidSize: 0n, askPrice: 12345n, askSize: 7n, priceScale: 2, sizeScale: 0 }),
    createQuote({ ...h(5n), bidPrice: 100n, bidSize: 3n, askPrice: null, askSize: 0n, priceScale: 2, sizeScale: 0 }),
    createBookUpdate({
      ...h(6n),
      side: 'bid',
      price: 100n,
      size: 0n,
      priceScale: 2,
      sizeScale: 0,
      flags: BookFlags.Snapshot | BookFlags.SnapshotBegin,
    }),
    createBookUpdate({ ...h(7n), seq: 10n, side: 'ask', price: 101n, size: 5n, priceScale: 2, sizeScale: 0, flags: BookFlags.Last }),
    createOrderUpdate({ ...h(8n), action: 'add', orderId: U64_MAX, side: 'bid', price: 100n, size: 1n, priceScale: 2, sizeScale: 0 }),
    createOrderUpdate({
      ...h(9n),
      action: 'modify',
      orderId: 'a-b-c',
      side: 'ask',
      price: 101n,
      size: 2n,
      priceScale: 2,
      sizeScale: 0,
      flags: 8,
    }),
    createOrderUpdate({ ...h(10n), action: 'clear', orderId: 0n, side: 'bid', price: 0n, size: 0n, priceScale: 2, sizeScale: 0 }),
    createBar({
      ...h(11n),
      interval: 60,
      start: T0,
      end: T0 + 60n * SEC,
      open: 1n,
      high: 3n,
      low: -1n,
      close: 2n,
      volume: I64_MAX,
      trades: 4_294_967_295,
      priceScale: 2,
      sizeScale: 0,
      flags: 7,
    }),
    createStatus({ ...h(12n), seq: 11n, kind: 'gap', fromSeq: 12n, toSeq: U64_MAX, detail: '' }),
    createStatus({ ...h(13n), kind: 'checksum', ok: false, detail: 'crc' }),
    createStatus({ ...h(14n), kind: 'checksum', ok: true, detail: '' }),
    createStatus({ ...h(15n), kind: 'trading', detail: 'halted' }),
  ];
}

/** `seconds` of the simulated venue with gaps and resyncs (see test-utils). */
export function simEvents(seconds: number, seed = 3): Promise<MarketEvent[]> {
  return simulatedEvents(seconds, { seed });
}

export function clockAt(t: bigint = T0): VirtualClock {
  return new VirtualClock(t);
}

/**
 * A recorder abandoned as `kill -9` leaves it: `flushes` flushes of `perFlush` simulated events,
 * then `unflushed` more that never reach the disk; its lock names this process, which may take
 * it over. Returns the events that were flushed.
 */
export async function killedRecorder(root: string, flushes: number, perFlush: number, unflushed = 0): Promise<MarketEvent[]> {
  const events = await simEvents(Math.ceil(((flushes * perFlush + unflushed) / 500) * 2) + 10);
  const w = await CaptureWriter.open(root, {
    feed: 'demo',
    symbols: ['AAPL', 'MSFT', 'BTC-USD'],
    clock: clockAt(events[0]!.tsRecv),
    finalize: 'inline',
    fsync: false,
  });
  let k = 0;
  for (let b = 0; b < flushes; b++) {
    for (let i = 0; i < perFlush; i++) w.write(events[k++]!);
    w.flush();
  }
  for (let i = 0; i < unflushed; i++) w.write(events[k++]!);
  releaseLock(root);
  return events.slice(0, flushes * perFlush);
}
