/**
 * Capture and replay: N trades (100 symbols) recorded by `CaptureWriter` into Arrow segments
 * finalized to Parquet, then replayed at max speed through a `RealtimeEngine` into `onTrade`,
 * from the Parquet files and from unfinalized Arrow segments. Baseline, in the same run: the
 * naive way, the same events as JSON lines (`JSON.stringify`, 64-bit integers as strings)
 * written to one file, then read back, parsed and pushed into the same engine. Reads are
 * measured warm: each replay runs twice and the second run counts (the first pays for
 * compiling the Parquet decoder and the JIT).
 * Usage: node dist/capture.js [trades=2e6]
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureReader, CaptureWriter, releaseLock } from '@mdcap/capture';
import { createTrade, streamProvider, VirtualClock } from '@mdcap/core';
import type { DataProvider, MarketEvent, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
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
async function record(root: string, finalize: boolean): Promise<{ writeS: number; totalS: number }> {
  const clock = new VirtualClock(T0);
  const writer = await CaptureWriter.open(root, { feed: 'bench', symbols: names, clock, rotateNs: 60_000_000_000n });
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

/** Runs a provider through an engine into one onTrade callback, twice; returns the second run's seconds and trades. */
async function warm(provider: () => DataProvider): Promise<{ s: number; n: number }> {
  let result = { s: 0, n: 0 };
  for (let run = 0; run < 2; run++) {
    const engine = new RealtimeEngine(provider(), { books: false });
    let n = 0;
    engine.onTrade(() => n++);
    const t0 = performance.now();
    await engine.run(names);
    result = { s: since(t0), n };
  }
  return result;
}

const replay = (root: string): Promise<{ s: number; n: number }> => warm(() => ReplayProvider.open(root));

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
await record(segmentRoot, false);
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
{
  // The decode floor: Parquet → record batches → typed columns, no events built.
  const reader = CaptureReader.open(parquetRoot);
  let seconds = 0;
  for (let run = 0; run < 2; run++) {
    const t0 = performance.now();
    let rows = 0;
    for (const file of reader.files()) for await (const b of reader.batches(file)) rows += b.tsRecv.length;
    seconds = since(t0);
    check(rows, 'decode');
  }
  report({ bench: 'capture', case: 'decode only: Parquet → typed columns (no events, no engine)', items: N, seconds });
}
{
  const { s, n } = await replay(parquetRoot);
  check(n, 'replay');
  report({ bench: 'capture', case: '**replay from Parquet** at max into `onTrade`', items: N, seconds: s });
}
{
  const { s, n } = await replay(segmentRoot);
  check(n, 'replay of segments');
  report({ bench: 'capture', case: '**replay from Arrow segments** (unfinalized) at max into `onTrade`', items: N, seconds: s });
}
if (process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
else process.stderr.write(`kept ${dir}\n`);
// The finalize workers of the abandoned segment writer are idle but referenced: leave now.
process.exit(0);
