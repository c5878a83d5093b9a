/**
 * Captures far bigger than memory (issue 16). Generates a capture of N trades (default 100 M)
 * of 100 symbols over four days (Hive layout: one folder a day, rotation groups of an hour, so
 * about a hundred groups of files), recorded by `CaptureWriter` as a recorder would. Then, each
 * in a process of its own (peak RSS is that process's VmHWM):
 * - replay at max into `onTrades` (column batches) with 60 s bars on, and into `onTrade`
 *   (an event per trade) with the same bars: events/s and peak RSS;
 * - seek to the middle: from the first event, `provider.seek(middle)` until the first event at
 *   or after it arrives; and a replay opened with `from: middle` until its first event;
 * - DuckDB over it: 1-minute bars of the whole capture (`CaptureAnalytics.bars`) beside the
 *   engine's bars of the replay (compared bar for bar), and a query filtered on an hour and one
 *   symbol beside the same count over everything (pushdown: the filtered one reads a sliver).
 * Usage: node dist/scale.js [trades=1e8] [--dir DIR] (DIR: keep the capture there, or reuse it)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureAnalytics } from '@mdcap/analytics';
import { CaptureWriter, readManifest } from '@mdcap/capture';
import { eventToJson, VirtualClock } from '@mdcap/core';
import type { Bar, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { report, seededRandom, since } from './measure.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const S = 100;
const names = Array.from({ length: S }, (_, i) => `SYM${i}`);
const T0 = 1_704_153_600_000_000_000n; // 2024-01-02T00:00:00Z
const HOUR = 3_600_000_000_000n;

function peakMiB(): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
}

function hashBars(bars: readonly Bar[]): string {
  const h = createHash('sha256');
  for (const b of bars) h.update(`${JSON.stringify(eventToJson(b))}\n`);
  return h.digest('hex');
}

/** Records N trades: ~3.5 ms apart on average (four days for 100 M), a ±1-tick walk per symbol. */
async function generate(root: string, n: number): Promise<void> {
  const rnd = seededRandom(0x2545f491);
  const prices = names.map((_, i) => 10_000n + BigInt(i) * 100n);
  const seqs = names.map(() => 0n);
  const clock = new VirtualClock(T0);
  const w = await CaptureWriter.open(root, { feed: 'scale', symbols: names, clock, rotateNs: HOUR, fsync: false });
  let t = T0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    t += BigInt(500_000 + rnd(6_000_000));
    const s = rnd(S);
    prices[s]! += BigInt(rnd(3) - 1);
    if ((i & 1023) === 0) clock.advanceTo(t);
    const trade: Trade = {
      type: 'trade',
      venue: 'scale',
      symbol: names[s]!,
      tsEvent: t - BigInt(100_000 + rnd(900_000)),
      tsRecv: t,
      seq: ++seqs[s]!,
      price: prices[s]!,
      size: BigInt(1 + rnd(50)),
      priceScale: 2,
      sizeScale: 0,
      side: rnd(2) === 0 ? 'buy' : 'sell',
      tradeId: null,
    };
    w.write(trade);
    if (i % 10_000_000 === 0 && i > 0) process.stderr.write(`generated ${i / 1e6} M (${(i / since(t0) / 1e3).toFixed(0)} k/s)\n`);
  }
  await w.close(t + 1n);
}

// ---- the child processes ------------------------------------------------------------------

async function childReplay(root: string, mode: 'batch' | 'event'): Promise<void> {
  const engine = new RealtimeEngine(ReplayProvider.open(root), { books: false });
  engine.setBarInterval(60);
  // Bars hashed as they come, not kept: the peak RSS is the replay's own.
  const h = createHash('sha256');
  let bars = 0;
  engine.onBar((b) => {
    bars++;
    h.update(`${JSON.stringify(eventToJson(b))}\n`);
  });
  let n = 0;
  if (mode === 'batch') engine.onTrades((b) => (n += b.end - b.start));
  else engine.onTrade(() => n++);
  const t0 = performance.now();
  await engine.run(names);
  const seconds = since(t0);
  process.stdout.write(JSON.stringify({ n, seconds, peak: peakMiB(), bars, hash: h.digest('hex') }));
}

async function childSeek(root: string): Promise<void> {
  const m = readManifest(root);
  const start = BigInt(m.sessions[0]!.start);
  const end = BigInt(m.sessions[m.sessions.length - 1]!.end!);
  const middle = start + (end - start) / 2n;
  // a replay opened at the middle
  const t1 = performance.now();
  const p2 = ReplayProvider.open(root, { from: middle });
  const e2 = new RealtimeEngine(p2, { books: false });
  let fromMs = 0;
  e2.onTrade(() => {
    if (fromMs === 0) {
      fromMs = performance.now() - t1;
      void e2.stop();
    }
  });
  await e2.run(names);
  // seek() from the first event
  const provider = ReplayProvider.open(root);
  const engine = new RealtimeEngine(provider, { books: false });
  let sought = 0;
  let t0 = 0;
  let seekMs = 0;
  engine.onTrade((t) => {
    if (sought === 0) {
      sought = 1;
      t0 = performance.now();
      provider.seek(middle);
    } else if (t.tsRecv >= middle) {
      seekMs = performance.now() - t0;
      void engine.stop();
    }
  });
  await engine.run(names);
  process.stdout.write(JSON.stringify({ seekMs, fromMs, peak: peakMiB() }));
}

async function childDuck(root: string): Promise<void> {
  const a = await CaptureAnalytics.open(root);
  try {
    let t0 = performance.now();
    const bars = await a.bars({ intervals: [60] });
    const barsS = since(t0);
    const m = readManifest(root);
    const start = BigInt(m.sessions[0]!.start);
    const end = BigInt(m.sessions[m.sessions.length - 1]!.end!);
    const from = start + (end - start) / 2n;
    t0 = performance.now();
    const all = await a.query('SELECT count(*) AS n FROM trades');
    const allS = since(t0);
    t0 = performance.now();
    const some = await a.query(
      `SELECT count(*) AS n FROM trades WHERE ts_recv >= make_timestamp_ns(${from}) AND ts_recv < make_timestamp_ns(${from + HOUR}) AND symbol = 'SYM7'`,
    );
    const someS = since(t0);
    process.stdout.write(
      JSON.stringify({
        bars: bars.length,
        hash: hashBars(bars),
        barsS,
        all: JSON.stringify(all[0]!['n']),
        allS,
        some: JSON.stringify(some[0]!['n']),
        someS,
        peak: peakMiB(),
      }),
    );
  } finally {
    a.close();
  }
}

function child<T>(what: string, root: string, extra: string[] = []): T {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', what, root, ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${what}: exited with ${r.status}`);
  return JSON.parse(r.stdout) as T;
}

const childAt = args.indexOf('--child');
if (childAt >= 0) {
  const what = args[childAt + 1]!;
  const root = args[childAt + 2]!;
  if (what === 'batch' || what === 'event') await childReplay(root, what);
  else if (what === 'seek') await childSeek(root);
  else if (what === 'duck') await childDuck(root);
  process.exit(0);
}

// ---- the run ------------------------------------------------------------------------------

const N = Number(args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--dir') ?? 100_000_000);
const kept = flag('--dir');
const root = kept ?? join(mkdtempSync(join(tmpdir(), 'mdcap-bench-scale-')), 'cap');
if (!existsSync(join(root, 'manifest.json'))) {
  const t0 = performance.now();
  await generate(root, N);
  report({
    bench: 'scale',
    case: `record ${N / 1e6} M trades (CaptureWriter, Parquet, 1 h rotation, 4 days)`,
    items: N,
    seconds: since(t0),
  });
}
let bytes = 0;
let files = 0;
for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
  if (e.isFile() && e.name.endsWith('.parquet')) {
    bytes += statSync(join(e.parentPath, e.name)).size;
    files++;
  }
}
const rows = readManifest(root).files.reduce((n, f) => n + f.rowGroups.reduce((k, rg) => k + rg.rows, 0), 0);
process.stderr.write(`capture ${root}: ${rows} rows, ${files} Parquet files, ${(bytes / 2 ** 30).toFixed(2)} GiB\n`);

const batch = child<{ n: number; seconds: number; peak: number; bars: number; hash: string }>('batch', root);
report({
  bench: 'scale',
  case: 'replay at max into onTrades (column batches), 60 s bars on',
  items: batch.n,
  seconds: batch.seconds,
  note: `peak RSS ${batch.peak.toFixed(0)} MiB, ${batch.bars} bars`,
});
const event = child<{ n: number; seconds: number; peak: number; bars: number; hash: string }>('event', root);
report({
  bench: 'scale',
  case: 'replay at max into onTrade (an event per trade), 60 s bars on',
  items: event.n,
  seconds: event.seconds,
  note: `peak RSS ${event.peak.toFixed(0)} MiB, bars ${event.hash === batch.hash ? 'identical to the batch run' : 'DIFFER from the batch run'}`,
});
const seek = child<{ seekMs: number; fromMs: number; peak: number }>('seek', root);
report({
  bench: 'scale',
  case: 'seek to the middle: seek() → first event there; open with from → first event',
  items: 1,
  seconds: seek.seekMs / 1000,
  note: `seek ${seek.seekMs.toFixed(0)} ms, from ${seek.fromMs.toFixed(0)} ms, peak RSS ${seek.peak.toFixed(0)} MiB`,
});
const duck = child<{ bars: number; hash: string; barsS: number; all: string; allS: number; some: string; someS: number; peak: number }>(
  'duck',
  root,
);
report({
  bench: 'scale',
  case: 'DuckDB 1-minute bars over the whole capture',
  items: rows,
  seconds: duck.barsS,
  note: `${duck.bars} bars, ${duck.hash === batch.hash ? 'identical to the engine' : 'DIFFER from the engine'}; peak RSS ${duck.peak.toFixed(0)} MiB`,
});
report({
  bench: 'scale',
  case: 'DuckDB count, one hour of one symbol (pushdown) beside the count of everything',
  items: rows,
  seconds: duck.someS,
  note: `${duck.some} rows in ${(duck.someS * 1000).toFixed(0)} ms; all ${duck.all} in ${(duck.allS * 1000).toFixed(0)} ms`,
});
if (kept === undefined) rmSync(join(root, '..'), { recursive: true, force: true });
