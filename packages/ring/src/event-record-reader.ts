import { AGGRESSOR_SIDES, BOOK_SIDES, ORDER_ACTIONS, RingError, STATUS_KINDS, utf8Decoder } from '@mdcap/core';
import type { Bar, BookUpdate, MarketEvent, OrderUpdate, Quote, Status, Trade } from '@mdcap/core';
import { makeViews, SharedRingConsumer } from './shared-ring.js';
import type { RecordViews } from './shared-ring.js';
import {
  C_BAR,
  C_BOOK,
  C_END,
  C_LOST,
  C_NAME,
  C_ORDER,
  C_QUOTE,
  C_STATUS,
  C_TRADE,
  errorFrom,
  EVENT_RECORD_BYTES,
  MAX_TEXT_BYTES,
  P_ASK,
  P_BID,
  P_BIG_RANGE,
  P_FROM,
  P_OK,
  P_OK_KNOWN,
  P_SEQ,
  P_TEXT,
  P_TO,
} from './event-records.js';
import type { EventRecordHandler } from './event-records.js';

/**
 * The reading side, on the consumer's thread. `read(handler, before)` hands over, in order,
 * every complete event (and control) stamped before `before` (all, with null); `stoppedAt`
 * then says whether it stopped at a later event, which means nothing older can follow.
 */
export class EventRecordReader {
  readonly consumer: SharedRingConsumer;
  private readonly names: string[] = [''];
  private readonly text: Uint8Array = new Uint8Array(MAX_TEXT_BYTES + 4096);
  private readonly decoder = utf8Decoder();
  /** The header of an event whose text records have not all arrived (or not been read) yet. */
  private readonly pending: RecordViews;
  private pendingCode = 0;
  private textWanted = 0;
  private textHave = 0;
  private handler: EventRecordHandler | null = null;
  private before: bigint | null = null;
  private stopped = false;
  private delivered = 0;
  private max = Infinity;
  private readonly step = (v: RecordViews, o: number): boolean => this.record(v, o);

  constructor(buffer: SharedArrayBuffer) {
    this.consumer = new SharedRingConsumer(buffer);
    if (this.consumer.recordBytes !== EVENT_RECORD_BYTES) {
      throw new RingError(
        'MDCAP_ERR_RING_RECORD_SIZE',
        `event records: expected a shared ring of ${EVENT_RECORD_BYTES}-byte records, found ${this.consumer.recordBytes}`,
      );
    }
    this.pending = makeViews(new ArrayBuffer(EVENT_RECORD_BYTES));
  }

  /** True after a `read` that stopped at an event stamped at or after its `before`. */
  get stoppedAt(): boolean {
    return this.stopped;
  }

  /**
   * Hands to `handler` the events and controls available now, in order, up to `max` of them,
   * stopping before the first event stamped at or after `before` (when given). Returns how
   * many it handed over.
   */
  read(handler: EventRecordHandler, before: bigint | null = null, max: number = Infinity): number {
    this.handler = handler;
    this.before = before;
    this.stopped = false;
    this.delivered = 0;
    this.max = max;
    try {
      while (this.consumer.pollWhile(this.step) > 0 && this.delivered < max && !this.stopped);
    } finally {
      this.handler = null;
    }
    return this.delivered;
  }

  /** Reads and discards everything available (after a disconnect). */
  discard(): void {
    const ignore: EventRecordHandler = { event: () => undefined, lost: () => undefined, end: () => undefined };
    while (this.read(ignore) > 0);
  }

  private record(v: RecordViews, o: number): boolean {
    if (this.textWanted > this.textHave) {
      const n = Math.min(EVENT_RECORD_BYTES, this.textWanted - this.textHave);
      this.text.set(v.u8.subarray(o, o + n), this.textHave);
      this.textHave += n;
      if (this.textHave === this.textWanted) this.complete();
      return true;
    }
    if (this.delivered >= this.max) return false;
    const code = v.u8[o]!;
    if (code <= C_STATUS && this.before !== null && v.i64[(o >> 3) + 3]! >= this.before) {
      this.stopped = true;
      return false;
    }
    const bytes = v.u32[(o + 104) >> 2]!;
    if (bytes === 0) {
      this.deliver(code, v, o, '');
      return true;
    }
    // Keep the header: its text follows in the next records.
    this.pending.u8.set(v.u8.subarray(o, o + EVENT_RECORD_BYTES));
    this.pendingCode = code;
    this.textWanted = bytes;
    this.textHave = 0;
    return true;
  }

  private complete(): void {
    const text = this.decoder.decode(this.text.subarray(0, this.textWanted));
    this.textWanted = 0;
    this.textHave = 0;
    this.deliver(this.pendingCode, this.pending, 0, text);
  }

  private deliver(code: number, v: RecordViews, o: number, text: string): void {
    const h = this.handler!;
    if (code === C_NAME) {
      this.names[v.dv.getUint16(o + 6, true)] = text;
      return;
    }
    this.delivered++;
    if (code === C_LOST) return h.lost(errorFrom(text));
    if (code === C_END) return text === '' ? h.end() : h.end(errorFrom(text));
    h.event(this.decode(code, v, o, text));
  }

  private decode(code: number, v: RecordViews, o: number, text: string): MarketEvent {
    const { u8, u32, i64, u64, f64, dv } = v;
    const w = o >> 3;
    const venue = this.names[dv.getUint16(o + 4, true)]!;
    const symbol = this.names[dv.getUint16(o + 6, true)]!;
    const tsEvent = i64[w + 2]!;
    const tsRecv = i64[w + 3]!;
    const p = u32[(o + 12) >> 2]!;
    const seq = (p & P_SEQ) !== 0 ? u64[w + 4]! : null;
    const en = u8[o + 1]!;
    const priceScale = u8[o + 2]!;
    const sizeScale = u8[o + 3]!;
    const flags = u32[(o + 8) >> 2]!;
    // Literals in the factories' property order: one hidden class per kind, as live.
    switch (code) {
      case C_TRADE: {
        const e: Trade = {
          type: 'trade',
          venue,
          symbol,
          tsEvent,
          tsRecv,
          seq,
          price: i64[w + 5]!,
          size: i64[w + 6]!,
          priceScale,
          sizeScale,
          side: AGGRESSOR_SIDES[en]!,
          tradeId: (p & P_TEXT) !== 0 ? text : null,
        };
        return e;
      }
      case C_QUOTE: {
        const e: Quote = {
          type: 'quote',
          venue,
          symbol,
          tsEvent,
          tsRecv,
          seq,
          bidPrice: (p & P_BID) !== 0 ? i64[w + 5]! : null,
          bidSize: i64[w + 6]!,
          askPrice: (p & P_ASK) !== 0 ? i64[w + 7]! : null,
          askSize: i64[w + 8]!,
          priceScale,
          sizeScale,
        };
        return e;
      }
      case C_BOOK: {
        const e: BookUpdate = {
          type: 'book',
          venue,
          symbol,
          tsEvent,
          tsRecv,
          seq,
          side: BOOK_SIDES[en]!,
          price: i64[w + 5]!,
          size: i64[w + 6]!,
          priceScale,
          sizeScale,
          flags,
        };
        return e;
      }
      case C_ORDER: {
        const e: OrderUpdate = {
          type: 'order',
          venue,
          symbol,
          tsEvent,
          tsRecv,
          seq,
          action: ORDER_ACTIONS[en >> 1]!,
          orderId: (p & P_TEXT) !== 0 ? text : (p & P_BIG_RANGE) !== 0 ? BigInt(text) : u64[w + 7]!,
          side: BOOK_SIDES[en & 1]!,
          price: i64[w + 5]!,
          size: i64[w + 6]!,
          priceScale,
          sizeScale,
          flags,
        };
        return e;
      }
      case C_BAR: {
        const e: Bar = {
          type: 'bar',
          venue,
          symbol,
          tsEvent,
          tsRecv,
          seq,
          interval: u32[(o + 108) >> 2]!,
          start: i64[w + 5]!,
          end: i64[w + 6]!,
          open: i64[w + 7]!,
          high: i64[w + 8]!,
          low: i64[w + 9]!,
          close: i64[w + 10]!,
          volume: i64[w + 11]!,
          trades: f64[w + 12]!,
          priceScale,
          sizeScale,
          flags,
        };
        return e;
      }
      case C_STATUS: {
        let fromSeq = (p & P_FROM) !== 0 ? u64[w + 5]! : null;
        let toSeq = (p & P_TO) !== 0 ? u64[w + 6]! : null;
        let detail = text;
        if ((p & P_BIG_RANGE) !== 0) {
          const nl = text.indexOf('\n');
          const [from, to] = text.slice(0, nl).split(' ') as [string, string];
          fromSeq = from === '' ? null : BigInt(from);
          toSeq = to === '' ? null : BigInt(to);
          detail = text.slice(nl + 1);
        }
        const e: Status = {
          type: 'status',
          venue,
          symbol,
          tsEvent,
          tsRecv,
          seq,
          kind: STATUS_KINDS[en]!,
          fromSeq,
          toSeq,
          ok: (p & P_OK_KNOWN) !== 0 ? (p & P_OK) !== 0 : null,
          detail,
        };
        return e;
      }
      default:
        throw new RingError('MDCAP_ERR_RING_BUFFER', `event records: expected a record code from 1 to 18, found ${code}`);
    }
  }
}
