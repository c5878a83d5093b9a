/**
 * The web viewer's cost (issue 17): a capture of the demo venue replayed at max through a
 * `RealtimeEngine` with 1 s and 60 s bars, three ways, each in a fresh process:
 *
 * - engine: the replay with no-op callbacks on bars, statuses, trades and book updates (the
 *   callbacks the viewer registers). Baseline of this bench.
 * - collector: the viewer's session (`ReplayViewSession`) played to the end with no page: what
 *   keeping bars as JSON, the last trades and the latest books costs the replay.
 * - server + page: a `ViewServer` on 127.0.0.1 with one page (a Node WebSocket client)
 *   subscribed to AAPL's 1 s bars for the whole replay: the flushes every 100 ms and their JSON.
 *
 * Printed per case: events/s, the ratio to the engine case of the same run, the process's peak
 * RSS and, for the page, the bytes and messages it received.
 * Usage: node dist/view.js [--seconds 10] [--rate 100000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualClock } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { feedDefinition, record } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { ReplayViewSession, ViewServer } from '@mdcap/view';
import WebSocket from 'ws';
import { report, since } from './measure.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(argv[i + 1]);
};
const INTERVALS = [1, 60];
type Mode = 'engine' | 'collector' | 'page';

function peakMiB(): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
}

async function child(cap: string, mode: Mode): Promise<void> {
  let events = 0;
  let bytes = 0;
  let messages = 0;
  const t0 = performance.now();
  if (mode === 'engine') {
    const provider = ReplayProvider.open(cap);
    const engine = new RealtimeEngine(provider);
    engine.setBarInterval(...INTERVALS);
    engine.onBar(() => {});
    engine.onStatus(() => {});
    engine.onTrade(() => {});
    engine.onBookUpdate(() => {});
    await engine.run(provider.symbols);
    for (const v of Object.values(engine.stats().events)) events += v;
  } else {
    const session = new ReplayViewSession({ dirs: [cap], intervals: INTERVALS });
    const server = mode === 'page' ? await ViewServer.start({ session }) : null;
    let ws: WebSocket | null = null;
    if (server !== null) {
      ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}ws`);
      ws.on('message', (d: Buffer) => {
        bytes += d.length;
        messages++;
      });
      await new Promise<void>((resolve) => ws!.once('open', () => resolve()));
      ws.send(JSON.stringify({ type: 'subscribe', venue: 'demo', symbol: 'AAPL', interval: 1 }));
    }
    session.play();
    while (session.state === 'playing') await new Promise((r) => setTimeout(r, 5));
    events = session.events();
    ws?.close();
    await (server ?? session).close();
  }
  process.stdout.write(JSON.stringify({ events, seconds: since(t0), peak: peakMiB(), bytes, messages }));
}

if (argv[0] === '--child') {
  await child(argv[1]!, argv[2] as Mode);
  process.exit(0);
}

const tmp = mkdtempSync(join(tmpdir(), 'mdcap-bench-view-'));
try {
  const cap = join(tmp, 'demo');
  const t0 = performance.now();
  const s = await record({
    feed: {
      feed: 'demo',
      symbols: feedDefinition('demo').defaultSymbols!,
      rate: opt('rate', 100_000),
      seed: 1,
      clock: new VirtualClock(1_704_205_800_000_000_000n),
    },
    out: cap,
    durationNs: BigInt(opt('seconds', 10)) * 1_000_000_000n,
  });
  process.stderr.write(`capture: ${s.events.toLocaleString('en-US')} events of the demo venue in ${since(t0).toFixed(1)} s\n`);
  const script = fileURLToPath(import.meta.url);
  let base = 0;
  for (const mode of ['engine', 'collector', 'page'] as const) {
    const r = spawnSync(process.execPath, [script, '--child', cap, mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`${mode}: ${r.stderr}`);
    const x = JSON.parse(r.stdout) as { events: number; seconds: number; peak: number; bytes: number; messages: number };
    const rate = x.events / x.seconds;
    if (mode === 'engine') base = rate;
    report({
      bench: 'view',
      case: { engine: 'replay at max, no-op callbacks', collector: 'replay + viewer session', page: 'replay + viewer server + 1 page' }[
        mode
      ],
      items: x.events,
      seconds: x.seconds,
      note: `${(rate / base).toFixed(2)}× the engine case; peak RSS ${x.peak.toFixed(0)} MiB${mode === 'page' ? `; page got ${(x.bytes / 2 ** 20).toFixed(1)} MiB in ${x.messages} messages` : ''}`,
    });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
