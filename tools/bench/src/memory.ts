/**
 * Memory bounds (issue 10): peak RSS, not speed.
 * - Replay into a slow reader: `mdcap replay CAP --speed max --json` of N trades, piped into a
 *   reader that does not read until the replay has stopped working (the pipe is full, or the
 *   replay buffered everything), then reads it all; beside the same replay into /dev/null
 *   (the baseline, in the same run).
 * - Finalization: a recorder's process writing one rotation group of R book updates and closing
 *   it (finalized on its worker thread), for a small and a large R.
 * Each case is a process of its own; its peak RSS is its VmHWM (/proc, Linux).
 * `--root DIR` measures the build of another checkout (the code before a change, say).
 * Usage: node dist/memory.js [trades=2e6] [--root DIR]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureWriter } from '@mdcap/capture';
import { createTrade, VirtualClock } from '@mdcap/core';

const args = process.argv.slice(2);
const at = args.indexOf('--root');
const root = resolve(at >= 0 ? args[at + 1]! : fileURLToPath(new URL('../../..', import.meta.url)));
const N = Number(args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--root') ?? 2_000_000);
const dir = mkdtempSync(join(tmpdir(), 'mdcap-bench-memory-'));
const T0 = 1_704_205_800_000_000_000n;
const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;

function peakKiB(pid: number): number | null {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return null;
  }
}

function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

async function tradesCapture(path: string): Promise<void> {
  const w = await CaptureWriter.open(path, {
    feed: 'demo',
    symbols: ['AAPL', 'MSFT'],
    clock: new VirtualClock(T0),
    finalize: 'inline',
    fsync: false,
  });
  for (let i = 0; i < N; i++) {
    const t = T0 + BigInt(i) * 1000n;
    const symbol = i & 1 ? 'AAPL' : 'MSFT';
    w.write(
      createTrade({
        venue: 'demo',
        symbol,
        tsEvent: t,
        tsRecv: t,
        seq: BigInt(i + 1),
        price: 10_000n + BigInt(i % 97),
        size: 1n,
        priceScale: 2,
        sizeScale: 0,
        side: 'buy',
        tradeId: String(i),
      }),
    );
  }
  await w.close(T0 + BigInt(N) * 1000n);
}

/** Peak RSS of a replay whose stdout goes to /dev/null, or into a pipe read only once the replay stalls. */
async function replayPeak(cap: string, slowReader: boolean): Promise<{ peak: number; lines: number }> {
  const child = spawn(
    process.execPath,
    [join(root, 'packages/cli/dist/main.js'), 'replay', cap, '--speed', 'max', '--json', '--print', 'trades'],
    {
      stdio: ['ignore', slowReader ? 'pipe' : 'ignore', 'inherit'],
    },
  );
  let peak = 0;
  let lines = 0;
  const done = new Promise<void>((ok) => child.on('exit', () => ok()));
  let exited = false;
  void done.then(() => (exited = true));
  if (slowReader) child.stdout!.pause();
  let last = -1;
  let still = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const p = peakKiB(child.pid!);
    if (p !== null) peak = Math.max(peak, p);
    if (exited) break;
    if (!slowReader) continue;
    const c = cpuTicks(child.pid!);
    still = c === last ? still + 1 : 0;
    last = c ?? -1;
    if (still >= 10) break; // a second without CPU time: waiting for its reader, or done producing
  }
  if (slowReader) {
    child.stdout!.on('data', (d: Buffer) => {
      for (const b of d) if (b === 10) lines++;
      const p = peakKiB(child.pid!);
      if (p !== null) peak = Math.max(peak, p);
    });
    child.stdout!.resume();
  }
  await done;
  return { peak, lines };
}

const WRITER = `
const [lib, root, n] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const { CaptureWriter } = await import(lib + '/packages/capture/dist/index.js');
const { createBookUpdate, VirtualClock } = await import(lib + '/packages/core/dist/index.js');
const T0 = 1_704_205_800_000_000_000n;
const w = await CaptureWriter.open(root, { feed: 'demo', symbols: ['AAPL', 'MSFT'], clock: new VirtualClock(T0), fsync: false, rotateNs: 3_600_000_000_000n, rotateRows: 1e9 });
for (let i = 0; i < n; i++) {
  const t = T0 + BigInt(i) * 1000n;
  w.write(createBookUpdate({ venue: 'demo', symbol: i & 1 ? 'AAPL' : 'MSFT', tsEvent: t, tsRecv: t, seq: BigInt(i + 1), side: i % 3 ? 'bid' : 'ask', price: 10000n + BigInt(i % 97), size: BigInt(i % 13), priceScale: 2, sizeScale: 0 }));
}
await w.close(T0 + BigInt(n) * 1000n);
console.log(process.resourceUsage().maxRSS);
`;

function finalizePeak(rows: number): number {
  const script = join(dir, 'writer.mjs');
  writeFileSync(script, WRITER);
  const r = spawnSync(process.execPath, [script, root, join(dir, `group-${rows}`), String(rows)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

const cap = join(dir, 'cap');
await tradesCapture(cap);
const toNull = await replayPeak(cap, false);
const piped = await replayPeak(cap, true);
const small = finalizePeak(500_000);
const large = finalizePeak(4_000_000);
rmSync(dir, { recursive: true, force: true });
console.log(
  `Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; code of ${root}\n`,
);
console.log('| case | peak RSS | baseline (same run) | ratio |');
console.log('| --- | --- | --- | --- |');
console.log(
  `| replay --json of ${N.toLocaleString('en-US')} trades into a reader that sleeps (${piped.lines.toLocaleString('en-US')} lines read) | ${mib(piped.peak)} | ${mib(toNull.peak)} (into /dev/null) | ${(piped.peak / toNull.peak).toFixed(2)} |`,
);
console.log(
  `| finalize a rotation group of 4,000,000 book updates | ${mib(large)} | ${mib(small)} (500,000) | ${(large / small).toFixed(2)} |`,
);
