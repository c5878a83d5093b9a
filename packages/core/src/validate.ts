import { MAX_SCALE } from './decimal.js';
import { EventError, describeValue } from './errors.js';
import { AGGRESSOR_SIDES, BOOK_SIDES, ORDER_ACTIONS, STATUS_KINDS, EVENT_TYPES } from './events.js';
import type { EventHeader, MarketEvent } from './events.js';

// Validation. Factories validate what they build; `validateEvent` checks events of unknown origin.

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const AGGRESSOR_SIDE_SET: ReadonlySet<unknown> = new Set(AGGRESSOR_SIDES);
const BOOK_SIDE_SET: ReadonlySet<unknown> = new Set(BOOK_SIDES);
const ORDER_ACTION_SET: ReadonlySet<unknown> = new Set(ORDER_ACTIONS);
const STATUS_KIND_SET: ReadonlySet<unknown> = new Set(STATUS_KINDS);

export function where(e: { readonly type?: unknown; readonly venue?: unknown; readonly symbol?: unknown }): string {
  const t = typeof e.type === 'string' ? e.type : 'event';
  const v = typeof e.venue === 'string' ? e.venue : '?';
  const s = typeof e.symbol === 'string' ? e.symbol : '?';
  return `${t} ${v}:${s}`;
}

function bad(e: object, field: string, expected: string, found: unknown): EventError {
  return new EventError('MDCAP_ERR_INVALID_EVENT', `${where(e)}: ${field}: expected ${expected}, found ${describeValue(found)}`, {
    details: { field, found: describeValue(found) },
  });
}

function checkTimestamp(e: Record<string, unknown>, field: string): void {
  const v = e[field];
  if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) {
    const hint = typeof v === 'number' ? ' (a number; nanosecond timestamps must be bigint, see msToNs/isoToNs)' : '';
    throw new EventError(
      'MDCAP_ERR_INVALID_TIMESTAMP',
      `${where(e)}: ${field}: expected bigint nanoseconds since the Unix epoch, found ${describeValue(v)}${hint}`,
      { details: { field } },
    );
  }
}

function checkHeader(e: Record<string, unknown>): void {
  if (typeof e['venue'] !== 'string' || e['venue'] === '') throw bad(e, 'venue', 'a non-empty string', e['venue']);
  if (typeof e['symbol'] !== 'string' || e['symbol'] === '') throw bad(e, 'symbol', 'a non-empty string', e['symbol']);
  checkTimestamp(e, 'tsEvent');
  checkTimestamp(e, 'tsRecv');
  const seq = e['seq'];
  if (seq !== null && (typeof seq !== 'bigint' || seq < 0n || seq > UINT64_MAX)) {
    throw bad(e, 'seq', 'null or a bigint from 0 to 2^64-1', seq);
  }
}

function checkScales(e: Record<string, unknown>): void {
  for (const f of ['priceScale', 'sizeScale']) {
    const s = e[f];
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > MAX_SCALE) {
      throw bad(e, f, `an integer from 0 to ${MAX_SCALE}`, s);
    }
  }
}

function checkPrice(e: Record<string, unknown>, field: string, nullable = false): void {
  const v = e[field];
  if (nullable && v === null) return;
  if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) {
    const hint = typeof v === 'number' ? ' (a number; parse venue prices with parseDecimal)' : '';
    throw bad(e, field, `a bigint mantissa${nullable ? ' or null' : ''}${hint}`, v);
  }
}

function checkSize(e: Record<string, unknown>, field: string): void {
  const v = e[field];
  if (typeof v !== 'bigint' || v > INT64_MAX) throw bad(e, field, 'a bigint mantissa', v);
  if (v < 0n) {
    throw new EventError('MDCAP_ERR_NEGATIVE_SIZE', `${where(e)}: ${field}: expected a size of 0 or more, found ${v}n`, {
      details: { field, found: `${v}` },
    });
  }
}

function checkIn(e: Record<string, unknown>, field: string, allowed: ReadonlySet<unknown>): void {
  if (!allowed.has(e[field])) throw bad(e, field, `one of ${[...allowed].join(', ')}`, e[field]);
}

function checkFlags(e: Record<string, unknown>): void {
  const f = e['flags'];
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f > 0xffff) throw bad(e, 'flags', 'an integer bit set', f);
}

/**
 * Checks that `value` is a well-formed {@link MarketEvent} and returns it typed.
 * @throws {EventError} naming the event, the field, what was expected and what was found.
 */
export function validateEvent(value: unknown): MarketEvent {
  if (typeof value !== 'object' || value === null) {
    throw new EventError('MDCAP_ERR_INVALID_EVENT', `expected an event object, found ${describeValue(value)}`);
  }
  const e = value as Record<string, unknown>;
  switch (e['type']) {
    case 'trade':
      checkHeader(e);
      checkPrice(e, 'price');
      checkSize(e, 'size');
      checkScales(e);
      checkIn(e, 'side', AGGRESSOR_SIDE_SET);
      if (e['tradeId'] !== null && typeof e['tradeId'] !== 'string') throw bad(e, 'tradeId', 'a string or null', e['tradeId']);
      break;
    case 'quote':
      checkHeader(e);
      checkPrice(e, 'bidPrice', true);
      checkSize(e, 'bidSize');
      checkPrice(e, 'askPrice', true);
      checkSize(e, 'askSize');
      checkScales(e);
      for (const side of ['bid', 'ask']) {
        if (e[`${side}Price`] === null && e[`${side}Size`] !== 0n) {
          throw bad(e, `${side}Size`, `0n for an empty side (${side}Price is null)`, e[`${side}Size`]);
        }
      }
      break;
    case 'book':
      checkHeader(e);
      checkIn(e, 'side', BOOK_SIDE_SET);
      checkPrice(e, 'price');
      checkSize(e, 'size');
      checkScales(e);
      checkFlags(e);
      break;
    case 'order': {
      checkHeader(e);
      checkIn(e, 'action', ORDER_ACTION_SET);
      const id = e['orderId'];
      if (typeof id !== 'bigint' && (typeof id !== 'string' || id === '')) throw bad(e, 'orderId', 'a bigint or a non-empty string', id);
      checkIn(e, 'side', BOOK_SIDE_SET);
      checkPrice(e, 'price');
      checkSize(e, 'size');
      checkScales(e);
      checkFlags(e);
      break;
    }
    case 'bar': {
      checkHeader(e);
      const iv = e['interval'];
      if (typeof iv !== 'number' || !Number.isInteger(iv) || iv <= 0) throw bad(e, 'interval', 'a positive integer of seconds', iv);
      checkTimestamp(e, 'start');
      checkTimestamp(e, 'end');
      for (const f of ['open', 'high', 'low', 'close']) checkPrice(e, f);
      checkSize(e, 'volume');
      const n = e['trades'];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw bad(e, 'trades', 'a count of 0 or more', n);
      checkScales(e);
      checkFlags(e);
      break;
    }
    case 'status':
      checkHeader(e);
      checkIn(e, 'kind', STATUS_KIND_SET);
      for (const f of ['fromSeq', 'toSeq']) {
        const v = e[f];
        if (v !== null && (typeof v !== 'bigint' || v < 0n)) throw bad(e, f, 'null or a bigint of 0 or more', v);
      }
      if (e['fromSeq'] !== null && e['toSeq'] !== null && (e['fromSeq'] as bigint) > (e['toSeq'] as bigint)) {
        throw bad(e, 'toSeq', `a sequence at or after fromSeq ${e['fromSeq'] as bigint}`, e['toSeq']);
      }
      if (e['ok'] !== null && typeof e['ok'] !== 'boolean') throw bad(e, 'ok', 'a boolean or null', e['ok']);
      if (typeof e['detail'] !== 'string') throw bad(e, 'detail', 'a string', e['detail']);
      break;
    default:
      throw bad(e, 'type', `one of ${EVENT_TYPES.join(', ')}`, e['type']);
  }
  return value as MarketEvent;
}

// ---------------------------------------------------------------------------------------------
// The fast check: the same rules as validateEvent, as one boolean expression per kind with
// plain property reads, so the engine can check every event on its hot path. When it says
// no, validateEvent says why.

// `BigInt.asIntN(64, v) === v` is the cheapest int64 range test V8 offers (it lowers to a truncation).
function isInt64(v: bigint): boolean {
  return typeof v === 'bigint' && BigInt.asIntN(64, v) === v;
}

function okHeader(e: EventHeader): boolean {
  const seq = e.seq;
  return (
    typeof e.venue === 'string' &&
    e.venue !== '' &&
    typeof e.symbol === 'string' &&
    e.symbol !== '' &&
    isInt64(e.tsEvent) &&
    isInt64(e.tsRecv) &&
    (seq === null || (typeof seq === 'bigint' && BigInt.asUintN(64, seq) === seq))
  );
}

function okScales(p: number, s: number): boolean {
  return typeof p === 'number' && typeof s === 'number' && p >>> 0 === p && p <= MAX_SCALE && s >>> 0 === s && s <= MAX_SCALE;
}

function okMantissa(v: bigint): boolean {
  return typeof v === 'bigint' && BigInt.asIntN(64, v) === v;
}

function okSize(v: bigint): boolean {
  return typeof v === 'bigint' && v >= 0n && BigInt.asIntN(64, v) === v;
}

function okFlags(f: number): boolean {
  return typeof f === 'number' && f >>> 0 === f && f <= 0xffff;
}

/** True if `e` is a well-formed event (exactly when {@link validateEvent} would not throw). */
export function isWellFormed(e: MarketEvent): boolean {
  if (typeof e !== 'object' || e === null) return false;
  switch (e.type) {
    case 'trade': {
      const side = e.side;
      return (
        okHeader(e) &&
        okMantissa(e.price) &&
        okSize(e.size) &&
        okScales(e.priceScale, e.sizeScale) &&
        (side === 'buy' || side === 'sell' || side === 'none') &&
        (e.tradeId === null || typeof e.tradeId === 'string')
      );
    }
    case 'quote':
      return (
        okHeader(e) &&
        (e.bidPrice === null ? e.bidSize === 0n : okMantissa(e.bidPrice)) &&
        okSize(e.bidSize) &&
        (e.askPrice === null ? e.askSize === 0n : okMantissa(e.askPrice)) &&
        okSize(e.askSize) &&
        okScales(e.priceScale, e.sizeScale)
      );
    case 'book':
      return (
        okHeader(e) &&
        (e.side === 'bid' || e.side === 'ask') &&
        okMantissa(e.price) &&
        okSize(e.size) &&
        okScales(e.priceScale, e.sizeScale) &&
        okFlags(e.flags)
      );
    case 'order': {
      const id = e.orderId;
      return (
        okHeader(e) &&
        ORDER_ACTION_SET.has(e.action) &&
        (typeof id === 'bigint' || (typeof id === 'string' && id !== '')) &&
        (e.side === 'bid' || e.side === 'ask') &&
        okMantissa(e.price) &&
        okSize(e.size) &&
        okScales(e.priceScale, e.sizeScale) &&
        okFlags(e.flags)
      );
    }
    case 'bar':
      return (
        okHeader(e) &&
        typeof e.interval === 'number' &&
        Number.isInteger(e.interval) &&
        e.interval > 0 &&
        isInt64(e.start) &&
        isInt64(e.end) &&
        okMantissa(e.open) &&
        okMantissa(e.high) &&
        okMantissa(e.low) &&
        okMantissa(e.close) &&
        okSize(e.volume) &&
        typeof e.trades === 'number' &&
        Number.isInteger(e.trades) &&
        e.trades >= 0 &&
        okScales(e.priceScale, e.sizeScale) &&
        okFlags(e.flags)
      );
    case 'status':
      return (
        okHeader(e) &&
        STATUS_KIND_SET.has(e.kind) &&
        (e.fromSeq === null || (typeof e.fromSeq === 'bigint' && e.fromSeq >= 0n)) &&
        (e.toSeq === null || (typeof e.toSeq === 'bigint' && e.toSeq >= 0n)) &&
        (e.fromSeq === null || e.toSeq === null || e.fromSeq <= e.toSeq) &&
        (e.ok === null || typeof e.ok === 'boolean') &&
        typeof e.detail === 'string'
      );
    default:
      return false;
  }
}
