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

export function scanChunks(bytes: Uint8Array): ChunkScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  const chunkEnds: number[] = [];
  let p = 0;
  let messagesInChunk = 0;
  for (;;) {
    if (p + 8 > n) break;
    let metaLength: number;
    let prefix: number;
    const first = view.getUint32(p, true);
    if (first === CONTINUATION) {
      metaLength = view.getInt32(p + 4, true);
      prefix = 8;
    } else {
      metaLength = view.getInt32(p, true); // pre-1.0 framing, no continuation marker
      prefix = 4;
    }
    if (metaLength === 0) {
      // End-of-stream marker: a chunk is complete if it had messages.
      p += prefix;
      if (messagesInChunk > 0) chunkEnds.push(p);
      messagesInChunk = 0;
      continue;
    }
    if (metaLength < 0 || p + prefix + metaLength > n) break;
    const body = flatbufferInt64(view, p + prefix, metaLength, BODY_LENGTH_FIELD);
    if (body === null || body < 0n) break;
    const end = p + prefix + metaLength + Number(body);
    if (end > n) break;
    p = end;
    messagesInChunk++;
  }
  const goodLength = chunkEnds.length === 0 ? 0 : chunkEnds[chunkEnds.length - 1]!;
  return { chunkEnds, goodLength, torn: goodLength < n };
}
