/**
 * Replay with books on real venue traffic (issue 16): peak RSS and speed. For Binance and
 * Coinbase, `mdcap emulate --speed max --loops L` replays the recorded datasets
 * (cryptofeed samples) while `mdcap record` captures them for a few seconds; then each case runs
 * in a process of its own (peak RSS = that process's VmHWM): a replay at max with books on and
 * the top 10 levels of the book read after every book message, into a reused `BookTopBuffer`
 * (`topInto`) and as new objects (`top(10)`, the baseline), beside the replay with books on and
 * nothing read. The top-10 case runs again with V8 compiling parquet-wasm on the thread that
 * decodes, as the mdcap CLI runs.
 * Usage: node dist/books-replay.js [seconds=15] [loops=200]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { datasetsRoot } from '@mdcap/emulators';
import { BookTopBuffer, RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { CLI_NODE_FLAGS, report, since } from './measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const MDCAP = resolve(here, '..', '..', '..', 'packages', 'cli', 'dist', 'main.js');
const VENUES: Readonly<Record<string, readonly string[]>> = {
  binance: ['NKNUSDT', 'BLZETH', 'LRCBTC', 'RUNEEUR'],
  coinbase: ['SKL-USD', 'SKL-BTC', 'BAND-GBP', 'NMR-EUR', 'BAND-BTC', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'SKL-GBP'],
};

function peakMiB(): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
}

async function childReplay(cap: string, mode: 'none' | 'into' | 'top'): Promise<void> {
  const provider = ReplayProvider.open(cap);
  const engine = new RealtimeEngine(provider, { books: true });
  engine.setBarInterval(60);
  const buffer = new BookTopBuffer();
  let n = 0;
  let levels = 0;
  engine.onEvent(() => n++);
  if (mode === 'into')
    engine.onBookUpdate((_u, book) => {
      book.topInto(10, buffer);
      levels += buffer.bids + buffer.asks;
    });
  if (mode === 'top')
    engine.onBookUpdate((_u, book) => {
      const t = book.top(10);
      levels += t.bids.length + t.asks.length;
    });
  const t0 = performance.now();
  await engine.run(provider.symbols);
  process.stdout.write(JSON.stringify({ n, seconds: since(t0), levels, peak: peakMiB() }));
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  await childReplay(args[1]!, args[2] as 'none' | 'into' | 'top');
  process.exit(0);
}

async function recordVenue(venue: string, cap: string, seconds: number, loops: number): Promise<void> {
  const emulator = spawn(process.execPath, [MDCAP, 'emulate', '--venue', venue, '--speed', 'max', '--loops', String(loops), '--json'], {
    env: { ...process.env, MDCAP_DATASETS: datasetsRoot() },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const line = await new Promise<string>((resolveLine, reject) => {
      createInterface({ input: emulator.stdout }).once('line', resolveLine);
      emulator.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
    });
    const { url, restUrl } = JSON.parse(line) as { url: string; restUrl?: string };
    const rec = spawnSync(
      process.execPath,
      [
        MDCAP,
        'record',
        '--feed',
        venue,
        '--url',
        url,
        ...(restUrl === undefined ? [] : ['--rest-url', restUrl]),
        '--symbols',
        VENUES[venue]!.join(','),
        '--out',
        cap,
        '--duration',
        `${seconds}s`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (rec.status !== 0) throw new Error(`record ${venue}: exited with ${rec.status}`);
  } finally {
    emulator.kill('SIGTERM');
  }
}

const seconds = Number(args[0] ?? 15);
const loops = Number(args[1] ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'mdcap-bench-books-'));
try {
  for (const venue of Object.keys(VENUES)) {
    const cap = join(dir, venue);
    await recordVenue(venue, cap, seconds, loops);
    for (const [mode, name, flags] of [
      ['none', `${venue}: replay with books on, nothing read (baseline)`],
      ['top', `${venue}: replay with books, top(10) read after every book message (new objects)`],
      ['into', `${venue}: replay with books, **topInto(10)** after every book message (a reused buffer)`],
      ['into', `${venue}: the same, with the mdcap CLI's V8 settings (parquet-wasm compiled on the thread that decodes)`, CLI_NODE_FLAGS],
    ] as [string, string, (readonly string[])?][]) {
      const r = spawnSync(process.execPath, [...(flags ?? []), fileURLToPath(import.meta.url), '--child', cap, mode], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`${name}: exited with ${r.status}`);
      const x = JSON.parse(r.stdout) as { n: number; seconds: number; levels: number; peak: number };
      report({
        bench: 'books',
        case: name,
        items: x.n,
        seconds: x.seconds,
        note: `peak RSS ${x.peak.toFixed(0)} MiB, ${x.levels} levels read`,
      });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
