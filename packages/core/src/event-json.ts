import { where } from './validate.js';
import { formatDecimal } from './decimal.js';
import { EventError } from './errors.js';

import type { EventHeader, EventType, MarketEvent } from './events.js';

// The canonical JSON form (one object per event): what `mdcap replay --json` prints and what
// determinism tests hash. Prices and sizes are exact decimal strings at the event's scale;
// nanosecond timestamps and other 64-bit integers are decimal strings. Key order is fixed.

export type JsonEventValue = string | number | boolean | null;

function dec(m: bigint | null, scale: number): string | null {
  return m === null ? null : formatDecimal(m, scale);
}

function str(v: bigint | null): string | null {
  return v === null ? null : v.toString();
}

/** The canonical JSON object of an event (see above). */
export function eventToJson(e: MarketEvent): Record<string, JsonEventValue> {
  const head: Record<string, JsonEventValue> = {
    type: e.type,
    venue: e.venue,
    symbol: e.symbol,
    tsEvent: e.tsEvent.toString(),
    tsRecv: e.tsRecv.toString(),
    seq: str(e.seq),
  };
  switch (e.type) {
    case 'trade':
      return { ...head, price: dec(e.price, e.priceScale), size: dec(e.size, e.sizeScale), side: e.side, tradeId: e.tradeId };
    case 'quote':
      return {
        ...head,
        bidPrice: dec(e.bidPrice, e.priceScale),
        bidSize: dec(e.bidSize, e.sizeScale),
        askPrice: dec(e.askPrice, e.priceScale),
        askSize: dec(e.askSize, e.sizeScale),
      };
    case 'book':
      return { ...head, side: e.side, price: dec(e.price, e.priceScale), size: dec(e.size, e.sizeScale), flags: e.flags };
    case 'order':
      return {
        ...head,
        action: e.action,
        orderId: e.orderId.toString(),
        side: e.side,
        price: dec(e.price, e.priceScale),
        size: dec(e.size, e.sizeScale),
        flags: e.flags,
      };
    case 'bar':
      return {
        ...head,
        interval: e.interval,
        start: e.start.toString(),
        end: e.end.toString(),
        open: dec(e.open, e.priceScale),
        high: dec(e.high, e.priceScale),
        low: dec(e.low, e.priceScale),
        close: dec(e.close, e.priceScale),
        volume: dec(e.volume, e.sizeScale),
        trades: e.trades,
        flags: e.flags,
      };
    case 'status':
      return { ...head, kind: e.kind, fromSeq: str(e.fromSeq), toSeq: str(e.toSeq), ok: e.ok, detail: e.detail };
  }
}

/** One line of canonical JSON for an event, without a trailing newline. */
export function formatEventJson(e: MarketEvent): string {
  return JSON.stringify(eventToJson(e));
}

/** Throws unless the two scales are equal; used where mantissas of one instrument meet. */
export function checkSameScale(e: EventHeader & { readonly type: EventType }, field: string, expected: number, found: number): void {
  if (expected !== found) {
    throw new EventError(
      'MDCAP_ERR_SCALE_MISMATCH',
      `${where(e)}: ${field}: expected scale ${expected} as in earlier events of this instrument, found ${found}`,
      { details: { field, expected, found } },
    );
  }
}
