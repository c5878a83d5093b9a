import { closeSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { chunkEnd, scanChunks } from './ipc.js';

/**
 * A segment file (`….arrows`) is what a recorder appends to between two rotations:
 *
 *     header (16 bytes): "MDCAPSEG", format version (u32 = 2), reserved (u32)
 *     chunk: one complete Arrow IPC stream (schema, dictionaries, one record batch, end marker)
 *     trailer (64 bytes): "MDCAPCK2", the chunk's length and CRC-32, its rows, first and last
 *                         recv_seq and ts_recv, then the CRC-32 of the trailer itself
 *     chunk, trailer, chunk, trailer, …
 *
 * One chunk and its trailer are written by one flush, in one write, so after a crash a segment
 * holds verified chunks, then at most a torn tail. Every chunk is checked against its CRC before
 * it is read, finalized or repaired: a damaged chunk is never decoded into wrong values. The
 * trailer's own CRC and its recv_seq range mean a damaged chunk still says which rows it held,
 * so repair can record exactly what was lost (docs/capture.md). Segments written by mdcap 0.1.0
 * (no header: bare IPC streams, no checksums) are still read.
 */

export const SEGMENT_MAGIC: Buffer = Buffer.from('MDCAPSEG', 'latin1');
export const SEGMENT_VERSION = 2;
export const SEGMENT_HEADER_BYTES = 16;
const TRAILER_MAGIC = Buffer.from('MDCAPCK2', 'latin1');
export const TRAILER_BYTES = 64;

/** What a chunk's trailer says about it. */
export interface ChunkTrailer {
  /** Bytes of the Arrow IPC stream before the trailer. */
  readonly ipcBytes: number;
  readonly crc: number;
  readonly rows: number;
  readonly firstRecvSeq: bigint;
  readonly lastRecvSeq: bigint;
  readonly firstTsRecv: bigint;
  readonly lastTsRecv: bigint;
}

/** The 16-byte header that starts every segment of this format. */
export function segmentHeader(): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(h, 0);
  h.writeUInt32LE(SEGMENT_VERSION, 8);
  return h;
}

/** The trailer that follows the IPC bytes of a chunk. */
export function chunkTrailer(ipc: Uint8Array, rows: number, recvSeq: readonly [bigint, bigint], tsRecv: readonly [bigint, bigint]): Buffer {
  const t = Buffer.alloc(TRAILER_BYTES);
  TRAILER_MAGIC.copy(t, 0);
  t.writeUInt32LE(ipc.byteLength, 8);
  t.writeUInt32LE(crc32(ipc), 12);
  t.writeUInt32LE(rows, 16);
  t.writeBigUInt64LE(recvSeq[0], 24);
  t.writeBigUInt64LE(recvSeq[1], 32);
  t.writeBigInt64LE(tsRecv[0], 40);
  t.writeBigInt64LE(tsRecv[1], 48);
  t.writeUInt32LE(crc32(t.subarray(0, TRAILER_BYTES - 4)), TRAILER_BYTES - 4);
  return t;
}

function isTrailerMagic(buf: Buffer, at: number): boolean {
  return buf.readUInt32LE(at) === TRAILER_MAGIC.readUInt32LE(0) && buf.readUInt32LE(at + 4) === TRAILER_MAGIC.readUInt32LE(4);
}

/** The trailer at `at`, or null if the bytes there are not an intact trailer. */
function readTrailer(buf: Buffer, at: number): ChunkTrailer | null {
  if (at + TRAILER_BYTES > buf.length) return null;
  if (buf.readUInt32LE(at + TRAILER_BYTES - 4) !== crc32(buf.subarray(at, at + TRAILER_BYTES - 4))) return null;
  return {
    ipcBytes: buf.readUInt32LE(at + 8),
    crc: buf.readUInt32LE(at + 12),
    rows: buf.readUInt32LE(at + 16),
    firstRecvSeq: buf.readBigUInt64LE(at + 24),
    lastRecvSeq: buf.readBigUInt64LE(at + 32),
    firstTsRecv: buf.readBigInt64LE(at + 40),
    lastTsRecv: buf.readBigInt64LE(at + 48),
  };
}

/**
 * A piece of a segment file, in file order:
 * - `chunk`: an IPC stream with an intact trailer; `ok` says whether its bytes match the CRC
 *   (a legacy chunk has no trailer and is `ok` unverified);
 * - `damaged`: bytes between two chunks that belong to no intact trailer (a chunk whose trailer
 *   was damaged, or foreign bytes);
 * - `tail`: bytes after the last chunk (a write that a crash tore, one still being written by a
 *   live recorder, or a last chunk whose trailer was damaged).
 */
export type SegmentPiece =
  | {
      readonly type: 'chunk';
      readonly start: number;
      /** End of the piece (after its trailer). */
      readonly end: number;
      readonly bytes: Uint8Array;
      /** Null for a legacy chunk (written before checksums). */
      readonly trailer: ChunkTrailer | null;
      readonly ok: boolean;
    }
  | { readonly type: 'damaged'; readonly start: number; readonly end: number }
  | { readonly type: 'tail'; readonly start: number; readonly end: number };

const BLOCK = 4 << 20;
/** Bytes read ahead for a chunk's framing to reach its end, at most (chunks are one flush each). */
const FAST_READ = 64 << 20;

/** How {@link segmentPieces} hands out a chunk's bytes. */
export interface PieceOptions {
  /**
   * Hand out each chunk's bytes as a view of one buffer that is reused while the file is read:
   * valid only until the next piece is asked for (no garbage per chunk; finalization uses it,
   * because buffers waiting for a garbage collector that a small JS heap seldom runs were most
   * of a recorder's peak memory). Default false: every chunk's bytes are its own.
   */
  readonly reuse?: boolean;
}

/**
 * The pieces of a segment file, read a block at a time (memory: about one chunk, whatever the
 * file's size; a legacy segment is read whole).
 */
export function* segmentPieces(path: string, options: PieceOptions = {}): Generator<SegmentPiece> {
  const fd = openSync(path, 'r');
  try {
    // buf is store[lo, hi): the bytes read and not yet handed out; store is reused and grows
    // (doubling) only when a chunk is larger than what it holds.
    let store = Buffer.allocUnsafe(2 * BLOCK);
    let lo = 0;
    let hi = 0;
    let base = 0; // file offset of store[lo]
    let eof = false;
    const more = (): void => {
      const kept = hi - lo;
      if (store.length - hi < BLOCK) {
        if (kept + BLOCK > store.length) {
          const bigger = Buffer.allocUnsafe(Math.max(2 * store.length, kept + BLOCK));
          store.copy(bigger, 0, lo, hi);
          store = bigger;
        } else store.copy(store, 0, lo, hi);
        lo = 0;
        hi = kept;
      }
      const n = readSync(fd, store, hi, BLOCK, base + kept);
      if (n === 0) eof = true;
      hi += n;
    };
    while (hi - lo < SEGMENT_HEADER_BYTES && !eof) more();
    // mdcap 0.1.0 wrote bare IPC streams (they start with the continuation marker); anything
    // else that lacks the magic is a segment of this format whose header was damaged.
    if (hi - lo >= 8 && !store.subarray(0, 8).equals(SEGMENT_MAGIC) && store.readUInt32LE(0) === 0xffffffff) {
      yield* legacyPieces(fd, Buffer.from(store.subarray(lo, hi)));
      return;
    }
    if (hi - lo < SEGMENT_HEADER_BYTES) {
      if (hi > lo) yield { type: 'tail', start: 0, end: hi - lo };
      return;
    }
    lo += SEGMENT_HEADER_BYTES;
    base = SEGMENT_HEADER_BYTES;
    let from = 0;
    for (;;) {
      const buf = store.subarray(lo, hi);
      let t: ChunkTrailer | null = null;
      let at = -1;
      if (from === 0) {
        // The chunk's own framing says where it ends; its trailer is read there. Anything else
        // (damage, a torn tail, foreign bytes) takes the search for a trailer below.
        const end = chunkEnd(buf);
        // (Damaged framing can claim any length: past FAST_READ, the search below decides.)
        if (end === 'short' && !eof && buf.length < FAST_READ) {
          more();
          continue;
        }
        if (typeof end === 'number' && end + TRAILER_BYTES <= buf.length && isTrailerMagic(buf, end)) {
          t = readTrailer(buf, end);
          if (t !== null && t.ipcBytes !== end) t = null;
          at = end;
        }
      }
      if (t === null) {
        at = buf.indexOf(TRAILER_MAGIC, from);
        if (at < 0 || at + TRAILER_BYTES > buf.length) {
          if (eof) break;
          from = at < 0 ? Math.max(0, buf.length - TRAILER_MAGIC.length + 1) : at;
          more();
          continue;
        }
        t = readTrailer(buf, at);
        if (t === null || t.ipcBytes > at) {
          from = at + 1; // not an intact trailer of a chunk that starts in this piece
          continue;
        }
      }
      const start = at - t.ipcBytes;
      if (start > 0) yield { type: 'damaged', start: base, end: base + start };
      const view = buf.subarray(start, at);
      const bytes = options.reuse === true ? view : Uint8Array.prototype.slice.call(view);
      yield { type: 'chunk', start: base + start, end: base + at + TRAILER_BYTES, bytes, trailer: t, ok: crc32(view) === t.crc };
      lo += at + TRAILER_BYTES;
      base += at + TRAILER_BYTES;
      from = 0;
    }
    if (hi > lo) yield { type: 'tail', start: base, end: base + (hi - lo) };
  } finally {
    closeSync(fd);
  }
}

/** A segment of mdcap 0.1.0: bare IPC streams, found by their framing, unverified. */
function* legacyPieces(fd: number, head: Buffer): Generator<SegmentPiece> {
  const parts = [head];
  let size = head.length;
  for (;;) {
    const block = Buffer.allocUnsafe(BLOCK);
    const n = readSync(fd, block, 0, BLOCK, size);
    if (n === 0) break;
    parts.push(block.subarray(0, n));
    size += n;
  }
  const all = Buffer.concat(parts);
  const scan = scanChunks(all);
  let start = 0;
  for (const end of scan.chunkEnds) {
    yield { type: 'chunk', start, end, bytes: all.subarray(start, end), trailer: null, ok: true };
    start = end;
  }
  if (scan.torn) yield { type: 'tail', start: scan.goodLength, end: all.length };
}

/** Where a piece is, for messages: `bytes 16..2048 (chunk 1)`. */
export function pieceWhere(p: SegmentPiece, index: number): string {
  return `bytes ${p.start}..${p.end} (${p.type === 'chunk' ? `chunk ${index + 1}` : p.type})`;
}

/** A damaged part of a segment, as `mdcap verify` reports it (repair cuts it and records the loss). */
export interface SegmentDamage {
  readonly where: string;
  readonly bytes: number;
  /** From the chunk's trailer, when it is intact. */
  readonly rows: number | null;
  readonly recvSeq: readonly [string, string] | null;
}

/** Every chunk of a segment that fails its CRC-32, and bytes that belong to no chunk (a torn tail is not damage). */
export function segmentDamage(path: string): SegmentDamage[] {
  const out: SegmentDamage[] = [];
  let index = 0;
  for (const p of segmentPieces(path)) {
    if (p.type === 'chunk' && p.ok) index++;
    if (p.type === 'tail' || (p.type === 'chunk' && p.ok)) continue;
    const t = p.type === 'chunk' ? p.trailer : null;
    out.push({
      where: pieceWhere(p, index),
      bytes: p.end - p.start,
      rows: t?.rows ?? null,
      recvSeq: t === null ? null : [t.firstRecvSeq.toString(), t.lastRecvSeq.toString()],
    });
    if (p.type === 'chunk') index++;
  }
  return out;
}
