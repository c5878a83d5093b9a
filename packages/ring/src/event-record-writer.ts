import { RingError, utf8Encoder } from '@mdcap/core';
import type { MarketEvent, Status } from '@mdcap/core';
import { SharedRingProducer } from './shared-ring.js';
import type { RecordViews, SharedRingProducerOptions } from './shared-ring.js';
import {
  ACTION_CODE,
  BOOK_SIDE_CODE,
  C_BAR,
  C_BOOK,
  C_END,
  C_LOST,
  C_NAME,
  C_ORDER,
  C_QUOTE,
  C_STATUS,
  C_TRADE,
  errorText,
  EVENT_RECORD_BYTES,
  KIND_CODE,
  MAX_NAMES,
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
  SIDE_CODE,
  U64_MAX,
} from './event-records.js';

/**
 * The writing side, on the producer's thread: `write(e)` per event, `flush()` when a burst
 * ends (the reader sees nothing before), `lost`/`end` for the connection. Under `block` a full
 * ring makes `write` wait; under `drop-newest` an event that does not fit is dropped whole and
 * the next one that fits is preceded by a `gap` status that counts the loss.
 */
export class EventRecordWriter {
  readonly producer: SharedRingProducer;
  private readonly v: RecordViews;
  private readonly names = new Map<string, number>();
  private readonly text = new Uint8Array(MAX_TEXT_BYTES + 4096);
  private readonly encoder = utf8Encoder();
  private readonly block: boolean;
  private droppedRun = 0;
  private droppedFirst: MarketEvent | null = null;

  constructor(buffer: SharedArrayBuffer, options: SharedRingProducerOptions = {}) {
    this.producer = new SharedRingProducer(buffer, options);
    if (this.producer.recordBytes !== EVENT_RECORD_BYTES) {
      throw new RingError(
        'MDCAP_ERR_RING_RECORD_SIZE',
        `event records: expected a shared ring of ${EVENT_RECORD_BYTES}-byte records, found ${this.producer.recordBytes}`,
      );
    }
    if (this.producer.overflow === 'drop-oldest') {
      throw new RingError(
        'MDCAP_ERR_RING_POLICY',
        'event records: expected a block or drop-newest ring, found drop-oldest (it overwrites single records, and an event may span several)',
      );
    }
    this.block = this.producer.overflow === 'block';
    this.v = this.producer.views;
  }

  /** Events dropped by the ring so far (`drop-newest`). */
  get dropped(): number {
    return this.producer.stats().drops;
  }

  write(e: MarketEvent): void {
    if (this.droppedRun > 0 && !this.writeLoss()) return this.drop(e);
    const venueId = this.nameId(e.venue, this.block);
    const symbolId = venueId === 0 ? 0 : this.nameId(e.symbol, this.block);
    if (symbolId === 0) return this.drop(e);
    let text = '';
    let big = false;
    switch (e.type) {
      case 'trade':
        text = e.tradeId ?? '';
        break;
      case 'order':
        // A numeric id that does not fit 64 unsigned bits crosses as decimal text.
        if (typeof e.orderId === 'string') text = e.orderId;
        else if (e.orderId < 0n || e.orderId > U64_MAX) text = e.orderId.toString();
        break;
      case 'status':
        big = (e.fromSeq !== null && e.fromSeq > U64_MAX) || (e.toSeq !== null && e.toSeq > U64_MAX);
        text = big ? `${e.fromSeq ?? ''} ${e.toSeq ?? ''}\n${e.detail}` : e.detail;
        break;
      case 'quote':
      case 'book':
      case 'bar':
        break; // no text
    }
    const bytes = text === '' ? 0 : this.encodeText(text, e.type === 'status');
    const records = 1 + Math.ceil(bytes / EVENT_RECORD_BYTES);
    if (!this.producer.reserve(records, this.block)) return this.drop(e);
    const o = this.producer.claim();
    this.encode(e, o, venueId, symbolId, bytes, big);
    this.producer.commit();
    this.writeText(bytes);
  }

  /** The connection dropped: the reader calls its handler's `lost` after the events before it. */
  lost(error: unknown): void {
    this.control(C_LOST, errorText(error));
  }

  /** The stream ended (with an error, if it failed). */
  end(error?: unknown): void {
    this.control(C_END, error === undefined ? '' : errorText(error));
  }

  /** Publishes what was written: call it when a burst (a frame) ends. */
  flush(): void {
    this.producer.flush();
  }

  private control(code: number, text: string): void {
    if (this.droppedRun > 0) this.writeLoss(true);
    const bytes = text === '' ? 0 : this.encodeText(text, true);
    this.producer.reserve(1 + Math.ceil(bytes / EVENT_RECORD_BYTES), true); // never dropped
    const o = this.producer.claim();
    const v = this.v;
    v.u8.fill(0, o, o + 16);
    v.u8[o] = code;
    v.u32[(o + 104) >> 2] = bytes;
    this.producer.commit();
    this.writeText(bytes);
    this.producer.flush();
  }

  private drop(e: MarketEvent): void {
    if (this.droppedRun++ === 0) this.droppedFirst = e;
  }

  /** The gap status for events dropped since the last one written; false if it did not fit either. */
  private writeLoss(wait = false): boolean {
    const first = this.droppedFirst!;
    const n = this.droppedRun;
    const venueId = this.nameId(first.venue, wait);
    const symbolId = venueId === 0 ? 0 : this.nameId('*', wait);
    if (symbolId === 0) return false;
    const detail = `${n} event${n === 1 ? '' : 's'} dropped by the shared ring (drop-newest, capacity ${this.producer.capacity})`;
    const bytes = this.encodeText(detail, true);
    if (!this.producer.reserve(1 + Math.ceil(bytes / EVENT_RECORD_BYTES), wait)) return false;
    this.droppedRun = 0;
    this.droppedFirst = null;
    const gap: Status = {
      type: 'status',
      venue: first.venue,
      symbol: '*',
      tsEvent: first.tsRecv,
      tsRecv: first.tsRecv,
      seq: null,
      kind: 'gap',
      fromSeq: null,
      toSeq: null,
      ok: null,
      detail,
    };
    const o = this.producer.claim();
    this.encode(gap, o, venueId, symbolId, bytes, false);
    this.producer.commit();
    this.writeText(bytes);
    return true;
  }

  /** The id of `name`, written as a name record the first time; 0 if that did not fit (and `wait` was false). */
  private nameId(name: string, wait: boolean): number {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    const id = this.names.size + 1;
    if (id > MAX_NAMES) {
      throw new RingError('MDCAP_ERR_RING_RECORD_SIZE', `event records: expected at most ${MAX_NAMES} venue and symbol names, found more`);
    }
    const bytes = this.encodeText(name, false);
    if (!this.producer.reserve(1 + Math.ceil(bytes / EVENT_RECORD_BYTES), wait)) return 0;
    this.names.set(name, id);
    const o = this.producer.claim();
    const v = this.v;
    v.u8.fill(0, o, o + 16);
    v.u8[o] = C_NAME;
    v.dv.setUint16(o + 6, id, true);
    v.u32[(o + 104) >> 2] = bytes;
    this.producer.commit();
    this.writeText(bytes);
    return id;
  }

  /** UTF-8 of `text` into the scratch buffer; returns its length. A too long detail is cut, and says so. */
  private encodeText(text: string, cut: boolean): number {
    const r = this.encoder.encodeInto(text, this.text.subarray(0, MAX_TEXT_BYTES));
    if (r.read === text.length) return r.written;
    if (!cut) {
      throw new RingError(
        'MDCAP_ERR_RING_RECORD_SIZE',
        `event records: expected a name or id of at most ${MAX_TEXT_BYTES} bytes, found ${text.length} characters`,
      );
    }
    const note = this.encoder.encodeInto(` … (${text.length - r.read} more characters cut)`, this.text.subarray(r.written));
    return r.written + note.written;
  }

  private writeText(bytes: number): void {
    const v = this.v;
    for (let at = 0; at < bytes; at += EVENT_RECORD_BYTES) {
      const o = this.producer.claim();
      const end = Math.min(bytes, at + EVENT_RECORD_BYTES);
      v.u8.set(this.text.subarray(at, end), o);
      this.producer.commit();
    }
  }

  private encode(e: MarketEvent, o: number, venueId: number, symbolId: number, textBytes: number, big: boolean): void {
    const { u8, u32, i64, u64, f64, dv } = this.v;
    const w = o >> 3;
    dv.setUint16(o + 4, venueId, true);
    dv.setUint16(o + 6, symbolId, true);
    i64[w + 2] = e.tsEvent;
    i64[w + 3] = e.tsRecv;
    let p = 0;
    if (e.seq !== null) {
      p |= P_SEQ;
      u64[w + 4] = e.seq;
    }
    let flags = 0;
    let en = 0;
    switch (e.type) {
      case 'trade':
        u8[o] = C_TRADE;
        en = SIDE_CODE.get(e.side)!;
        i64[w + 5] = e.price;
        i64[w + 6] = e.size;
        if (e.tradeId !== null) p |= P_TEXT;
        break;
      case 'quote':
        u8[o] = C_QUOTE;
        if (e.bidPrice !== null) {
          p |= P_BID;
          i64[w + 5] = e.bidPrice;
        }
        i64[w + 6] = e.bidSize;
        if (e.askPrice !== null) {
          p |= P_ASK;
          i64[w + 7] = e.askPrice;
        }
        i64[w + 8] = e.askSize;
        break;
      case 'book':
        u8[o] = C_BOOK;
        en = BOOK_SIDE_CODE.get(e.side)!;
        i64[w + 5] = e.price;
        i64[w + 6] = e.size;
        flags = e.flags;
        break;
      case 'order':
        u8[o] = C_ORDER;
        en = BOOK_SIDE_CODE.get(e.side)! | (ACTION_CODE.get(e.action)! << 1);
        i64[w + 5] = e.price;
        i64[w + 6] = e.size;
        if (typeof e.orderId === 'string') p |= P_TEXT;
        else if (e.orderId >= 0n && e.orderId <= U64_MAX) u64[w + 7] = e.orderId;
        else p |= P_BIG_RANGE;
        flags = e.flags;
        break;
      case 'bar':
        u8[o] = C_BAR;
        i64[w + 5] = e.start;
        i64[w + 6] = e.end;
        i64[w + 7] = e.open;
        i64[w + 8] = e.high;
        i64[w + 9] = e.low;
        i64[w + 10] = e.close;
        i64[w + 11] = e.volume;
        f64[w + 12] = e.trades;
        u32[(o + 108) >> 2] = e.interval;
        flags = e.flags;
        break;
      case 'status':
        u8[o] = C_STATUS;
        en = KIND_CODE.get(e.kind)!;
        if (!big) {
          if (e.fromSeq !== null) {
            p |= P_FROM;
            u64[w + 5] = e.fromSeq;
          }
          if (e.toSeq !== null) {
            p |= P_TO;
            u64[w + 6] = e.toSeq;
          }
        } else p |= P_BIG_RANGE;
        if (e.ok !== null) p |= P_OK_KNOWN | (e.ok ? P_OK : 0);
        break;
    }
    u8[o + 1] = en;
    if (e.type !== 'status') {
      u8[o + 2] = e.priceScale;
      u8[o + 3] = e.sizeScale;
    }
    u32[(o + 8) >> 2] = flags;
    u32[(o + 12) >> 2] = p;
    u32[(o + 104) >> 2] = textBytes;
  }
}
