import { DbnError } from './errors.js';
import { encodeMetadata } from './metadata.js';
import type { DbnMetadata } from './metadata.js';
import { writeField } from './records.js';
import type { DbnRecord } from './records.js';
import { layoutOf } from './versions.js';

/**
 * Encodes records as DBN `version` (the layouts of that version; `length` is set from the
 * layout, reserved bytes are zero), with a trailing `ts_out` per record when `tsOut`.
 */
export function encodeRecords(records: Iterable<DbnRecord>, version: number, tsOut = false): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let index = 0;
  for (const r of records) {
    const rtype = r['rtype'];
    const layout = typeof rtype === 'number' ? layoutOf(rtype, version) : undefined;
    if (layout === undefined) {
      throw new DbnError('<encode>', total, index, `expected a record with a known rtype, found ${String(rtype)}`);
    }
    const size = layout.size + (tsOut ? 8 : 0);
    const bytes = new Uint8Array(size);
    const dv = new DataView(bytes.buffer);
    for (const f of layout.fields) writeField(dv, bytes, 0, f, r);
    bytes[0] = size / 4;
    if (tsOut) dv.setBigUint64(layout.size, (r['ts_out'] as bigint | undefined) ?? 0n, true);
    parts.push(bytes);
    total += size;
    index++;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A whole DBN stream: `metadata` (its version and ts_out apply to the records) then the records. */
export function encodeDbn(metadata: DbnMetadata, records: Iterable<DbnRecord>): Uint8Array {
  const head = encodeMetadata(metadata);
  const body = encodeRecords(records, metadata.version, metadata.tsOut);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}
