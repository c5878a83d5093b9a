/**
 * DBN decoding: the ESM4 MBO records of NautilusTrader's sample (13,796 real records, DBN v1)
 * repeated to `copies` × that many, as one plain DBN v3 stream in memory. Cases:
 * - baseline: a bare read of the same bytes, walking the records by their length byte only;
 * - the cursor reading every MBO field (order id, price, size, action, side, flags, times,
 *   sequence) as numbers and bigints, no object per record;
 * - `records()`: one object per record with every field (the convenient form);
 * - import: 40 copies through DbnToEvents into a CaptureWriter, finalized to Parquet;
 * - zstd: the sample file itself (zstd, v1) decompressed (fzstd, pure JS) and read `copies` times.
 * Usage: node dist/dbn.js [copies=200]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureWriter } from '@mdcap/capture';
import { VirtualClock } from '@mdcap/core';
import { DbnReader, DbnToEvents, encodeDbn, SymbolMap } from '@mdcap/dbn';
import { datasetsRoot } from '@mdcap/emulators';
import { arg, report, since } from './measure.js';

const COPIES = arg(0, 200);
const DATASETS = datasetsRoot();
const FILE = join(
  DATASETS,
  'nautilus-trader',
  'databento',
  'mbo_catalog',
  'orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst',
);

const sample = new DbnReader(readFileSync(FILE), { file: FILE });
const records = sample.all();
const one = encodeDbn({ ...sample.metadata!, version: 3, symbolCstrLen: 71 }, records);
const head = one.length - records.length * 56;
const plain = new Uint8Array(head + (one.length - head) * COPIES);
plain.set(one.subarray(0, head));
for (let c = 0; c < COPIES; c++) plain.set(one.subarray(head), head + c * (one.length - head));
const total = records.length * COPIES;
const mb = (plain.length / 1e6).toFixed(0);

let sink = 0n;
let sinkN = 0;

// Each case runs twice; the second run counts (the first warms the JIT up).
function twice(f: () => void): number {
  f();
  const t0 = performance.now();
  f();
  return since(t0);
}

{
  const seconds = twice(() => {
    let at = head;
    let n = 0;
    while (at < plain.length) {
      sinkN += plain[at + 1]!;
      at += plain[at]! << 2;
      n++;
    }
    if (n !== total) throw new Error(`walked ${n} records, expected ${total}`);
  });
  report({ bench: 'dbn', case: 'baseline: walk the same bytes by record length', items: total, seconds, note: `${mb} MB plain` });
}

{
  const seconds = twice(() => {
    const c = new DbnReader(plain).cursor();
    let n = 0;
    while (c.next()) {
      sink ^= c.u64At(16) ^ c.tsEvent ^ c.u64At(40);
      sink += c.i64At(24);
      sinkN += c.u32At(32) + c.u8At(36) + c.u8At(37) + c.u8At(38) + c.u8At(39) + c.i32At(48) + c.u32At(52) + c.instrumentId;
      n++;
    }
    if (n !== total) throw new Error(`read ${n} records, expected ${total}`);
  });
  report({ bench: 'dbn', case: '**plain DBN, cursor, every MBO field**', items: total, seconds, note: `${mb} MB` });
}

{
  const seconds = twice(() => {
    let n = 0;
    for (const r of new DbnReader(plain).records()) {
      sinkN += r['size'] as number;
      n++;
    }
    if (n !== total) throw new Error(`decoded ${n} records, expected ${total}`);
  });
  report({ bench: 'dbn', case: 'plain DBN, records(): an object per record, every field', items: total, seconds });
}

{
  // The sample file as Databento ships it (zstd, DBN v1), decoded COPIES times over.
  const zst = readFileSync(FILE);
  const seconds = twice(() => {
    let n = 0;
    for (let k = 0; k < COPIES; k++) {
      const c = new DbnReader(zst).cursor();
      while (c.next()) {
        sink += c.i64At(24);
        n++;
      }
    }
    if (n !== total) throw new Error(`read ${n} records, expected ${total}`);
  });
  report({
    bench: 'dbn',
    case: 'zstd DBN v1 file: decompress (fzstd) + cursor, price per record',
    items: total,
    seconds,
    note: `the ${zst.length} B sample × ${COPIES}`,
  });
}

{
  // Import: the plain stream's first IMPORT_COPIES copies → events → CaptureWriter → Parquet (zstd), as `mdcap import dbn` does.
  const IMPORT_COPIES = Math.min(COPIES, 40);
  const part = plain.subarray(0, head + (one.length - head) * IMPORT_COPIES);
  const dir = mkdtempSync(join(tmpdir(), 'mdcap-bench-dbn-'));
  const reader = new DbnReader(part);
  const symbols = SymbolMap.fromMetadata(reader.metadata);
  const convert = new DbnToEvents(reader.metadata!.dataset, symbols);
  const t0 = performance.now();
  const writer = await CaptureWriter.open(join(dir, 'cap'), {
    feed: reader.metadata!.dataset,
    symbols: ['ESM4'],
    clock: new VirtualClock(0n),
    fsync: false,
  });
  let rows = 0;
  for (const r of reader.records()) {
    convert.convert(r, (e) => {
      writer.write(e);
      rows++;
    });
  }
  await writer.close();
  const seconds = since(t0);
  rmSync(dir, { recursive: true, force: true });
  report({
    bench: 'dbn',
    case: '**import**: plain DBN MBO → events → capture, finalized to Parquet',
    items: rows,
    seconds,
    note: `${records.length * IMPORT_COPIES} records, ${rows} rows (fills are not imported)`,
  });
}

if (sink === 42n && sinkN === 42) process.stdout.write('\n');
