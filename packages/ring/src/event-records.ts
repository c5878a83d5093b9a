import { AGGRESSOR_SIDES, BOOK_SIDES, MdcapError, ORDER_ACTIONS, STATUS_KINDS } from '@mdcap/core';
import type { MarketEvent, MdcapErrorCode } from '@mdcap/core';

/**
 * Market events as fixed-size binary records in a shared ring, so a feed handler on a worker
 * thread can hand its events to the engine on the main thread without structured cloning.
 *
 * One event is one 128-byte record, followed by as many 128-byte text records as its text
 * needs (a trade id, a string order id, a status detail; UTF-8). Venue and symbol names are
 * numbered: the first time the writer meets a name it writes a name record, and the reader
 * keeps the table. Control records carry the end of a connection (`lost`) or of the stream
 * (`end`) in order with the events before them.
 *
 * Record layout (byte offsets; integers little-endian as the host's typed arrays):
 *
 *   0  u8  code (1 trade, 2 quote, 3 book, 4 order, 5 bar, 6 status, 16 name, 17 lost, 18 end)
 *   1  u8  enum: aggressor side, book side | action << 1, or status kind
 *   2  u8  priceScale      3  u8 sizeScale
 *   4  u16 venue name id   6  u16 symbol name id (name records: the id being defined)
 *   8  u32 flags          12  u32 presence bits (seq, bid, ask, fromSeq, toSeq, ok, tradeId, string order id, big range)
 *  16  i64 tsEvent        24  i64 tsRecv      32  u64 seq
 *  40  eight 64-bit value slots (prices, sizes, times, order id, bar counts as f64)
 * 104  u32 text length in bytes (the text records that follow hold it)
 *
 * A status whose `fromSeq`/`toSeq` do not fit 64 bits carries them as decimal text before its
 * detail, so every value the event model allows crosses exactly.
 */
export const EVENT_RECORD_BYTES = 128;

export const C_TRADE: number = 1;
export const C_QUOTE: number = 2;
export const C_BOOK: number = 3;
export const C_ORDER: number = 4;
export const C_BAR: number = 5;
export const C_STATUS: number = 6;
export const C_NAME: number = 16;
export const C_LOST: number = 17;
export const C_END: number = 18;

export const P_SEQ: number = 1;
export const P_BID: number = 2;
export const P_ASK: number = 4;
export const P_FROM: number = 8;
export const P_TO: number = 16;
export const P_OK_KNOWN: number = 32;
export const P_OK: number = 64;
export const P_TEXT: number = 128; // trade id present / string order id
export const P_BIG_RANGE: number = 256; // a status range or numeric order id beyond 64 bits, as decimal text

export const SIDE_CODE: ReadonlyMap<string, number> = new Map(AGGRESSOR_SIDES.map((s, i) => [s, i]));
export const BOOK_SIDE_CODE: ReadonlyMap<string, number> = new Map(BOOK_SIDES.map((s, i) => [s, i]));
export const ACTION_CODE: ReadonlyMap<string, number> = new Map(ORDER_ACTIONS.map((s, i) => [s, i]));
export const KIND_CODE: ReadonlyMap<string, number> = new Map(STATUS_KINDS.map((s, i) => [s, i]));
export const U64_MAX: bigint = 2n ** 64n - 1n;
export const MAX_NAMES: number = 65_535;
/** Longest text an event may carry across (a status detail is cut, with a note, beyond it). */
export const MAX_TEXT_BYTES: number = 60_000;

/** What the reader hands over, in order. */
export interface EventRecordHandler {
  event(e: MarketEvent): void;
  /** The producer's connection dropped (`sink.lost`). */
  lost(error: Error): void;
  /** The producer's stream ended (`sink.end`), with the error it ended on. */
  end(error?: Error): void;
}

/** An error as plain data that crosses threads: its `MDCAP_ERR_*` code (if any) and message. */
export interface WireError {
  readonly code: string | null;
  readonly message: string;
}

export function errorToWire(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : null, message: e.message };
}

/** The error again: an MdcapError with its code, or a plain Error. */
export function errorFromWire(w: WireError): Error {
  return w.code !== null && w.code.startsWith('MDCAP_ERR_') ? new MdcapError(w.code as MdcapErrorCode, w.message) : new Error(w.message);
}

export function errorText(error: unknown): string {
  return JSON.stringify(errorToWire(error));
}

export function errorFrom(text: string): Error {
  try {
    return errorFromWire(JSON.parse(text) as WireError);
  } catch {
    return new Error(text);
  }
}
