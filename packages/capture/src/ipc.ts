/**
 * A segment file is a sequence of complete Arrow IPC streams ("chunks"), one per flush: schema,
 * dictionary batches, one record batch, end-of-stream marker. Appending a chunk is one write, so
 * after a crash a segment holds complete chunks followed by at most one torn chunk.
 *
 * `scanChunks` walks the IPC message framing (continuation marker, metadata length, flatbuffer
 * metadata whose `bodyLength` says how many body bytes follow) without decoding any data, and
 * reports where each complete chunk ends, so a torn tail can be cut off exactly.
 */

const CONTINUATION = 0xffffffff;

export interface ChunkScan {
  /** Byte offsets where complete chunks end (the end of their end-of-stream marker). */
  readonly chunkEnds: number[];
  /** End of the last complete chunk: everything after it is torn. */
  readonly goodLength: number;
  /** True if there are bytes after the last complete chunk. */
  readonly torn: boolean;
}

/** Reads field `id` (an int64) of the root table of a flatbuffer, or 0 when absent. */
function flatbufferInt64(buf: DataView, start: number, length: number, id: number): bigint | null {
  if (length < 8) return null;
  const root = start + buf.getUint32(start, true);
  if (root + 4 > start + length) return null;
  const vtable = root - buf.getInt32(root, true);
  if (vtable < start || vtable + 4 > start + length) return null;
  const vtableSize = buf.getUint16(vtable, true);
  const slot = 4 + id * 2;
  if (slot + 2 > vtableSize) return 0n;
  const fieldOffset = buf.getUint16(vtable + slot, true);
  if (fieldOffset === 0) return 0n;
  const at = root + fieldOffset;
  if (at + 8 > start + length) return null;
  return buf.getBigInt64(at, true);
}

/** Field ids of the IPC `Message` table: version 0, header_type 1, header 2, bodyLength 3. */
const BODY_LENGTH_FIELD = 3;

/** Where the framing at `p` ends: a message, or an end-of-stream marker (`eos`). */
interface Step {
  end: number;
  eos: boolean;
}

/** Bytes end before the framing at `p` does. */
const SHORT = -1;
/** The bytes at `p` are not IPC framing. */
const BROKEN = -2;

/** One message (or end-of-stream marker) of the framing at `p`; `step.end` is SHORT or BROKEN where there is none. */
function frame(view: DataView, p: number, n: number, step: Step): void {
  step.eos = false;
  if (p + 8 > n) {
    step.end = SHORT;
    return;
  }
  let metaLength: number;
  let prefix: number;
  if (view.getUint32(p, true) === CONTINUATION) {
    metaLength = view.getInt32(p + 4, true);
    prefix = 8;
  } else {
    metaLength = view.getInt32(p, true); // pre-1.0 framing, no continuation marker
    prefix = 4;
  }
  if (metaLength === 0) {
    step.end = p + prefix;
    step.eos = true;
    return;
  }
  if (metaLength < 0) {
    step.end = BROKEN;
    return;
  }
  if (p + prefix + metaLength > n) {
    step.end = SHORT;
    return;
  }
  const body = flatbufferInt64(view, p + prefix, metaLength, BODY_LENGTH_FIELD);
  if (body === null || body < 0n) {
    step.end = BROKEN;
    return;
  }
  const end = p + prefix + metaLength + Number(body);
  step.end = end > n ? SHORT : end;
}

/**
 * The end of the complete chunk (an IPC stream up to its end-of-stream marker) that starts
 * `bytes`: `'short'` when the bytes stop before it does, null when they are not IPC framing.
 * What a segment reader uses to go straight to a chunk's trailer.
 */
export function chunkEnd(bytes: Uint8Array): number | 'short' | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  const step: Step = { end: 0, eos: false };
  let p = 0;
  let messages = 0;
  for (;;) {
    frame(view, p, n, step);
    if (step.end === SHORT) return 'short';
    if (step.end === BROKEN) return null;
    p = step.end;
    if (step.eos) return messages > 0 ? p : null;
    messages++;
  }
}

export function scanChunks(bytes: Uint8Array): ChunkScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  const chunkEnds: number[] = [];
  const step: Step = { end: 0, eos: false };
  let p = 0;
  let messagesInChunk = 0;
  for (;;) {
    frame(view, p, n, step);
    if (step.end < 0) break;
    p = step.end;
    if (step.eos) {
      // End-of-stream marker: a chunk is complete if it had messages.
      if (messagesInChunk > 0) chunkEnds.push(p);
      messagesInChunk = 0;
      continue;
    }
    messagesInChunk++;
  }
  const goodLength = chunkEnds.length === 0 ? 0 : chunkEnds[chunkEnds.length - 1]!;
  return { chunkEnds, goodLength, torn: goodLength < n };
}
