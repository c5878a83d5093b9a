/**
 * End to end: `mdcap emulate --venue coinbase --speed max --loops L` in its own process sends
 * the recording L times over, one message per WebSocket frame, as fast as the socket takes it;
 * this process records it as `mdcap record` does (the Coinbase handler → ring → engine →
 * CaptureWriter, finalized to Parquet at the end). Measured: messages/s from the first frame to
 * the last, and the loss (must be 0). Baseline in the same run: a bare `ws` client that only
 * counts the frames of the same emulator run, the ceiling of the socket and the emulator.
 * Then the same with the handler on a worker thread (as `mdcap record` runs by default).
 * Usage: node dist/e2e.js [loops=30]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LiveClock } from '@mdcap/core';
import type { DataProvider, MarketEvent } from '@mdcap/core';
import { coinbaseFeed, WorkerFeed } from '@mdcap/feeds';
import { datasetsRoot, readRecording } from '@mdcap/emulators';
import { record } from '@mdcap/pipeline';
import WebSocket from 'ws';
import { arg, report } from './measure.js';

const LOOPS = arg(0, 30);
const here = dirname(fileURLToPath(import.meta.url));
const MDCAP = resolve(here, '..', '..', '..', 'packages', 'cli', 'dist', 'main.js');
const PRODUCTS = ['SKL-USD', 'SKL-BTC', 'BAND-GBP', 'NMR-EUR', 'BAND-BTC', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'SKL-GBP'];
const DATASETS = datasetsRoot();
// The recording's data messages (snapshots, l2updates, tickers, matches): what the emulator sends per loop.
const RECORDED = readRecording(join(DATASETS, 'cryptofeed', 'COINBASE.ws.28.0')).filter(
  (l) => l.kind === 'received' && /^\{"type":"(snapshot|l2update|ticker|match|last_match)"/.test(l.text),
).length;

async function emulator(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [MDCAP, 'emulate', '--venue', 'coinbase', '--speed', 'max', '--loops', String(LOOPS), '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) done((JSON.parse(out.slice(0, out.indexOf('\n'))) as { url: string }).url);
    });
    child.on('exit', (code) => fail(new Error(`mdcap emulate exited with ${code}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

const subscribe = JSON.stringify({ type: 'subscribe', product_ids: PRODUCTS, channels: ['heartbeat', 'level2', 'matches', 'ticker'] });
const expected = RECORDED * LOOPS;

{
  const e = await emulator();
  const ws = new WebSocket(e.url);
  let n = 0;
  let first = 0;
  let last = 0;
  await new Promise<void>((done) => {
    setTimeout(done, 120_000).unref();
    ws.on('open', () => ws.send(subscribe));
    ws.on('message', (data: Buffer) => {
      if (data.toString().startsWith('{"type":"subscriptions"')) return;
      if (n++ === 0) first = performance.now();
      last = performance.now();
      if (n === expected) done();
    });
  });
  ws.close();
  e.stop();
  report({
    bench: 'e2e',
    case: 'baseline: a bare ws client counting the frames',
    items: n,
    seconds: (last - first) / 1000,
    note: `${expected - n} lost`,
  });
}

/** Data events (books, quotes, trades) the engine saw in the main-thread run: the threaded run must see as many. */
let dataEvents = 0;

/**
 * A recorder as `mdcap record` runs one (the library's `record`: `provider` → ring → engine with
 * no books → CaptureWriter in a temp directory). `finish` waits for `all` (at most two minutes),
 * runs `beforeStop`, then stops the recording (the ring is delivered first), cleans up and stops
 * the emulator; it returns what `beforeStop` returned and the events written.
 */
function recorder(e: { stop: () => void }, provider: DataProvider, onEvent: (ev: MarketEvent) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'mdcap-bench-e2e-'));
  const stop = new AbortController();
  const recording = record({
    feed: provider,
    symbols: PRODUCTS,
    out: join(dir, 'cap'),
    signal: stop.signal,
    onStart: (engine) => {
      engine.onEvent(onEvent);
    },
  });
  return {
    async finish<T>(all: Promise<void>, beforeStop: () => T): Promise<{ result: T; written: number }> {
      await Promise.race([all, new Promise((r) => setTimeout(r, 120_000))]);
      const result = beforeStop();
      stop.abort();
      const summary = await recording;
      e.stop();
      rmSync(dir, { recursive: true, force: true });
      return { result, written: summary.events };
    },
  };
}

{
  // The handler on the main thread (`mdcap record --no-handler-thread`). Timed from the first frame to the last.
  const e = await emulator();
  const clock = new LiveClock();
  let n = 0;
  let first = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const feed = coinbaseFeed({
    url: e.url,
    clock,
    onFrame: (text) => {
      if (text.startsWith('{"type":"subscriptions"')) return;
      if (n++ === 0) first = performance.now();
      if (n === expected) done();
    },
  });
  const rec = recorder(e, feed, (ev) => {
    if (ev.type !== 'status') dataEvents++;
  });
  const { result: seconds, written } = await rec.finish(all, () => (performance.now() - first) / 1000);
  report({
    bench: 'e2e',
    case: 'coinbase emulator → handler → ring → engine → capture, all on the main thread (one message per frame)',
    items: n,
    seconds,
    note: `${expected - n} frames lost; ${written} events written; ${feed.stats.malformed} malformed`,
  });
}

{
  // As `mdcap record` runs by default: the handler on a worker thread, the shared ring, the engine
  // and the capture on the main thread. Timed from the first data event at the engine to the last.
  const e = await emulator();
  const clock = new LiveClock();
  const feed = new WorkerFeed('coinbase', { url: e.url, clock });
  let n = 0;
  let first = 0;
  let last = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const rec = recorder(e, feed, (ev) => {
    if (ev.type === 'status') return;
    if (n++ === 0) first = performance.now();
    last = performance.now();
    if (n === dataEvents) done();
  });
  const { result: seconds, written } = await rec.finish(all, () => (last - first) / 1000);
  report({
    bench: 'e2e',
    case: '**coinbase emulator → handler on a worker thread → shared ring → engine → capture** (one message per frame)',
    items: n === dataEvents ? expected : Math.round((expected * n) / dataEvents),
    seconds,
    note: `${dataEvents - n} data events missing of ${dataEvents}; ${written} events written; ${feed.stats.malformed} malformed; ring high water ${feed.ringStats().highWater}`,
  });
}
process.exit(0);
