/**
 * Capture and replay: N trades (100 symbols) recorded by `CaptureWriter` into Arrow segments
 * finalized to Parquet, then replayed at max speed through a `RealtimeEngine` into `onTrade`,
 * from the Parquet files and from unfinalized Arrow segments. Baseline, in the same run: the
 * naive way, the same events as JSON lines (`JSON.stringify`, 64-bit integers as strings)
 * written to one file, then read back, parsed and pushed into the same engine. Reads are
 * measured warm: each replay runs twice and the second run counts (the first pays for
 * compiling the Parquet decoder and the JIT). Replays have 60 s bars on. Issue 16's cases: the
 * decode floor on this thread and on the decode threads; Parquet decoded on the engine's thread
 * (the old way, a baseline) beside decoding ahead; `onTrade` beside `onTrades` (column
 * batches); unfinalized Arrow segments (one rotation group, nothing finalized); and the capture
 * decoded once into memory (`CaptureColumns`), then replayed.
 * Usage: node dist/capture.js [trades=2e6]
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureColumns, CaptureReader, CaptureWriter, releaseLock } from '@mdcap/capture';
import { createTrade, streamProvider, VirtualClock } from '@mdcap/core';
import type { DataProvider, MarketEvent, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import type { ReplayOptions } from '@mdcap/replay';
import { arg, report, seededRandom, since } from './measure.js';

const N = arg(0, 2_000_000);
const S = 100;
const T0 = 1_704_205_800_000_000_000n;
const names = Array.from({ length: S }, (_, i) => `SYM${i}`);
const dir = mkdtempSync(join(tmpdir(), 'mdcap-bench-capture-'));

/**
 * A market of trades as a feed delivers them: nanosecond receive times about 100 µs apart with
 * jitter, a venue latency of 0.1–1.5 ms, a ±1-tick random walk per symbol, sizes skewed to
 * small lots, per-symbol sequence numbers. Seeded: every run writes the same bytes.
 */
function market(): Trade[] {
  const rnd = seededRandom(0x9e3779b9);
  const prices = names.map((_, i) => 10_000n + BigInt(i) * 100n);
  const seqs = names.map(() => 0n);
  const out: Trade[] = new Array<Trade>(N);
  let t = T0;
  for (let i = 0; i < N; i++) {
    t += BigInt(50_000 + rnd(100_000));
    const s = rnd(S);
    prices[s]! += BigInt(rnd(3) - 1);
    const lot = rnd(100);
    out[i] = createTrade({
      venue: 'bench',
      symbol: names[s]!,
      tsEvent: t - BigInt(100_000 + rnd(1_400_000)),
      tsRecv: t,
      seq: ++seqs[s]!,
      price: prices[s]!,
      size: BigInt(lot < 60 ? 1 + rnd(10) : lot < 95 ? 10 * (1 + rnd(10)) : 100 * (1 + rnd(50))),
      priceScale: 2,
      sizeScale: 0,
      side: rnd(2) === 0 ? 'buy' : 'sell',
    });
  }
  return out;
}

/** The generated trades; dropped before the reads, so that 2 M live objects do not slow their GC. */
let events: Trade[] = market();

/** Bytes of the files under `root` whose path contains `part`. */
function bytesUnder(root: string, part: string): number {
  let total = 0;
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && path.includes(part)) total += statSync(path).size;
  }
  return total;
}

/** Records every event, advancing a virtual clock with them (flush timers fire every second of it). */
async function record(root: string, finalize: boolean, rotateNs = 60_000_000_000n): Promise<{ writeS: number; totalS: number }> {
  const clock = new VirtualClock(T0);
  const writer = await CaptureWriter.open(root, { feed: 'bench', symbols: names, clock, rotateNs });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const e = events[i]!;
    if ((i & 1023) === 0) clock.advanceTo(e.tsRecv);
    writer.write(e);
  }
  const writeS = since(t0);
  if (finalize) await writer.close(events[N - 1]!.tsRecv + 1n);
  else {
    writer.flush(); // a crash now: everything is in flushed Arrow segments, nothing finalized
    releaseLock(root);
  }
  return { writeS, totalS: since(t0) };
}

/**
 * How a replay is consumed: one `onTrade` callback (default; with `reuse`, the engine's
 * `reuseEvents`: one reused trade object), or one `onTrades` callback with `batch`; 60 s bars on
 * unless `bars: false`.
 */
interface Shape {
  batch?: boolean;
  bars?: boolean;
  reuse?: boolean;
}

/** Runs a provider through an engine, consumed as `o` says, twice; returns the second run's seconds and trades. */
async function warm(provider: () => DataProvider, o: Shape = {}): Promise<{ s: number; n: number }> {
  let result = { s: 0, n: 0 };
  for (let run = 0; run < 2; run++) {
    const engine = new RealtimeEngine(provider(), { books: false, reuseEvents: o.reuse === true });
    if (o.bars !== false) engine.setBarInterval(60);
    let n = 0;
    if (o.batch === true) engine.onTrades((b) => (n += b.end - b.start));
    else engine.onTrade(() => n++);
    const t0 = performance.now();
    await engine.run(names);
    result = { s: since(t0), n };
  }
  return result;
}

const replay = (root: string | CaptureColumns, options: ReplayOptions = {}, o: Shape = {}) =>
  warm(() => ReplayProvider.open(root, options), o);

function check(n: number, what: string): void {
  if (n !== N) throw new Error(`${what}: expected ${N} trades, found ${n}`);
}

// --- writes (the generated events in memory) ------------------------------------------------
const jsonl = join(dir, 'trades.jsonl');
{
  const t0 = performance.now();
  const fd = openSync(jsonl, 'w');
  let buf = '';
  for (let i = 0; i < N; i++) {
    buf += JSON.stringify(events[i], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf);
  fsyncSync(fd);
  closeSync(fd);
  const bytes = statSync(jsonl).size;
  report({
    bench: 'capture',
    case: 'baseline: the same trades as JSON lines, one file',
    items: N,
    seconds: since(t0),
    note: `${(bytes / N).toFixed(1)} bytes/trade`,
  });
}
const parquetRoot = join(dir, 'parquet');
{
  const { writeS, totalS } = await record(parquetRoot, true);
  const perTrade = bytesUnder(join(parquetRoot, 'trades'), '.parquet') / N;
  report({
    bench: 'capture',
    case: '**record**: `CaptureWriter.write` into Arrow segments (flushed every 1 s)',
    items: N,
    seconds: writeS,
  });
  report({
    bench: 'capture',
    case: '**record to Parquet**, end to end (write, then close: the last segments finalized, zstd)',
    items: N,
    seconds: totalS,
    note: `${perTrade.toFixed(1)} bytes/trade`,
  });
}
const segmentRoot = join(dir, 'segments');
await record(segmentRoot, false, 3_600_000_000_000n); // one rotation group: nothing finalized
events = [];

// --- reads -------------------------------------------------------------------------------------
{
  function* parsed(): Generator<MarketEvent> {
    const text = readFileSync(jsonl, 'utf8');
    let at = 0;
    for (;;) {
      const nl = text.indexOf('\n', at);
      if (nl < 0) return;
      const o = JSON.parse(text.slice(at, nl)) as Record<string, string>;
      at = nl + 1;
      yield createTrade({
        venue: o['venue']!,
        symbol: o['symbol']!,
        tsEvent: BigInt(o['tsEvent']!),
        tsRecv: BigInt(o['tsRecv']!),
        seq: BigInt(o['seq']!),
        price: BigInt(o['price']!),
        size: BigInt(o['size']!),
        priceScale: 2,
        sizeScale: 0,
        side: o['side'] as 'buy' | 'sell',
      });
    }
  }
  const { s, n } = await warm(() => streamProvider({ events: parsed }, { yieldEvery: 65_536 }));
  check(n, 'JSON lines');
  report({ bench: 'capture', case: 'baseline: replay the JSON lines (read, JSON.parse, build, same engine)', items: N, seconds: s });
}
async function decodeFloor(root: string, decodeAhead: boolean): Promise<number> {
  // The decode floor: the files → record batches → typed columns, no events built.
  const reader = CaptureReader.open(root);
  let seconds = 0;
  for (let run = 0; run < 2; run++) {
    const t0 = performance.now();
    let rows = 0;
    await Promise.all(
      reader.files().map(async (file) => {
        for await (const b of reader.batches(file, { decodeAhead })) rows += b.length;
      }),
    );
    seconds = since(t0);
    check(rows, 'decode');
  }
  return seconds;
}
const cases: [string, () => Promise<{ s: number; n: number } | number>][] = [
  ['decode only, on this thread: Parquet → typed columns (no events, no engine)', () => decodeFloor(parquetRoot, false)],
  ['decode only, on the decode threads: Parquet → typed columns handed over', () => decodeFloor(parquetRoot, true)],
  ['decode only: Arrow segments → typed columns', () => decodeFloor(segmentRoot, false)],
  [
    'baseline: replay from Parquet decoded on the engine thread (decodeAhead false) into onTrade, bars on',
    () => replay(parquetRoot, { decodeAhead: false }),
  ],
  ['**replay from Parquet** at max into `onTrade`, 60 s bars on', () => replay(parquetRoot)],
  ['replay from Parquet into `onTrade` with `reuseEvents` (one reused trade), bars on', () => replay(parquetRoot, {}, { reuse: true })],
  ['**replay from Parquet** into `onTrades` (column batches), bars on', () => replay(parquetRoot, {}, { batch: true })],
  ['replay from Parquet into `onTrades`, bars off', () => replay(parquetRoot, {}, { batch: true, bars: false })],
  ['**replay from Arrow segments** (unfinalized) into `onTrade`, bars on', () => replay(segmentRoot)],
  ['replay from Arrow segments into `onTrades`, bars on', () => replay(segmentRoot, {}, { batch: true })],
];
for (const [name, run] of cases) {
  const r = await run();
  if (typeof r === 'number') report({ bench: 'capture', case: name, items: N, seconds: r });
  else {
    check(r.n, name);
    report({ bench: 'capture', case: name, items: N, seconds: r.s });
  }
}
{
  // Decoded once into memory (CaptureColumns), then replayed: what a sweep's runs and a tuning loop pay.
  const t0 = performance.now();
  const columns = await CaptureColumns.load(parquetRoot);
  report({
    bench: 'capture',
    case: 'CaptureColumns.load (decode once into shared memory)',
    items: N,
    seconds: since(t0),
    note: `${(columns.bytes / 2 ** 20).toFixed(0)} MiB`,
  });
  for (const [name, o] of [
    ['**from memory** (CaptureColumns) into `onTrade`, bars on', {}],
    ['from memory into `onTrade` with `reuseEvents`, bars on', { reuse: true }],
    ['from memory into `onTrades`, bars on', { batch: true }],
    ['**from memory into `onTrades`**, bars off', { batch: true, bars: false }],
  ] as const) {
    const r = await replay(columns, {}, o);
    check(r.n, name);
    report({ bench: 'capture', case: name, items: N, seconds: r.s });
  }
}
if (process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
else process.stderr.write(`kept ${dir}\n`);
// The finalize workers of the abandoned segment writer are idle but referenced: leave now.
process.exit(0);
