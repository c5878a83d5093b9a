/**
 * Pacing: a capture of 10 minutes (about 1,000 trades a second, bursty) replayed at 10x, so 60 s
 * of wall time, through a RealtimeEngine. Measured: how late each event is dispatched against
 * its due wall time (p50, p99, max, from the provider's own samples) and the drift (the whole
 * run's wall time against the capture's span / 10). Baseline, in the same run: the naive
 * pacer, `await setTimeout(due − now)` before each event, over the same timestamps.
 * Usage: node dist/pacing.js [captureSeconds=600] [speed=10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaptureWriter } from '@mdcap/capture';
import { createTrade, VirtualClock } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { arg, report, seededRandom, since } from './measure.js';

const SPAN_S = arg(0, 600);
const SPEED = arg(1, 10);
const T0 = 1_704_205_800_000_000_000n;
const dir = mkdtempSync(join(tmpdir(), 'mdcap-bench-pacing-'));
const root = join(dir, 'cap');

// Bursts: 0–20 trades 0–5 µs apart, bursts about 10 ms apart (≈ 1,000 trades/s).
const rnd = seededRandom(0x2545f491);
const times: bigint[] = [];
for (let t = T0; t < T0 + BigInt(SPAN_S) * 1_000_000_000n; t += BigInt(1 + rnd(20_000_000))) {
  for (let k = rnd(21); k > 0; k--) times.push((t += BigInt(1 + rnd(5_000))));
}
{
  const clock = new VirtualClock(T0);
  const w = await CaptureWriter.open(root, { feed: 'bench', symbols: ['AAPL'], clock, fsync: false });
  let p = 18_500n;
  for (const t of times) {
    clock.advanceTo(t);
    p += BigInt(rnd(3) - 1);
    w.write(createTrade({ venue: 'bench', symbol: 'AAPL', tsEvent: t, tsRecv: t, price: p, size: 100n, priceScale: 2, sizeScale: 0 }));
  }
  await w.close(times[times.length - 1]! + 1n);
}

const ms = (ns: number): string => (ns >= 1_000_000 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(0)} µs`);
const span = Number(times[times.length - 1]! - times[0]!) / SPEED / 1e9;

{
  const provider = ReplayProvider.open(root, { speed: SPEED });
  const engine = new RealtimeEngine(provider, { books: false });
  let first = 0;
  let last = 0;
  engine.onTrade(() => {
    last = performance.now();
    if (first === 0) first = last;
  });
  const t0 = performance.now();
  await engine.run(['AAPL']);
  const seconds = since(t0);
  const p = provider.stats().pacing;
  const drift = (last - first) / 1000 - span;
  report({
    bench: 'pacing',
    case: `**replay at ${SPEED}x**, ${(span / 1).toFixed(0)} s, ${times.length} trades: lateness per event`,
    items: times.length,
    seconds,
    note: `p50 ${ms(p.p50)}, **p99 ${ms(p.p99)}**, max ${ms(p.max)}; drift ${(drift * 1000).toFixed(1)} ms over the run`,
  });
}
{
  // The naive pacer: sleep until each event is due.
  const late: number[] = [];
  const t0 = performance.now();
  const base = times[0]!;
  for (const t of times) {
    const due = t0 + Number(t - base) / SPEED / 1e6;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    late.push((performance.now() - due) * 1e6);
  }
  const seconds = since(t0);
  late.sort((a, b) => a - b);
  const q = (f: number): number => late[Math.min(late.length - 1, Math.floor(f * late.length))]!;
  report({
    bench: 'pacing',
    case: `baseline: \`await setTimeout(due − now)\` per event, same timestamps`,
    items: times.length,
    seconds,
    note: `p50 ${ms(q(0.5))}, p99 ${ms(q(0.99))}, max ${ms(late[late.length - 1]!)}; drift ${((seconds - span) * 1000).toFixed(1)} ms`,
  });
}
rmSync(dir, { recursive: true, force: true });
