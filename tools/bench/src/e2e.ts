/**
 * End to end, recording at full speed: `mdcap emulate --venue V --speed max --loops L` in its own
 * process sends the venue's recording L times over (each loop renumbered to continue the last),
 * one message per WebSocket frame, as fast as the socket takes it; a recorder records it as
 * `mdcap record` does (handler → ring → engine → CaptureWriter, finalized to Parquet at the end).
 * Measured per venue (coinbase, binance), each against a fresh emulator:
 * - baseline: a bare `ws` client that subscribes as the handler does and only counts the frames
 *   (the ceiling of the socket and the emulator);
 * - the handler on the main thread (`mdcap record --no-handler-thread`), timed from the first
 *   frame to the last; its data events are what the next case must see;
 * - as `mdcap record` runs by default, in a process of its own (with the CLI's V8 settings): the handler on a worker thread,
 *   the shared ring, the engine and the capture on the main thread; timed from the first data
 *   event at the engine to the last, with the loss (must be 0) and the process's peak RSS.
 * `--rotate-s S` rotates the threaded recorder's capture every S seconds (default 1), so that
 * finalization runs beside the recording, as in a long recording: the peak RSS is what a
 * recorder reaches at this rate, not only at its end.
 * Usage: node dist/e2e.js [messages=300000] [--venue coinbase|binance|both] [--rotate-s 1]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LiveClock } from '@mdcap/core';
import type { DataProvider, MarketEvent } from '@mdcap/core';
import { binanceFeed, coinbaseFeed, WorkerFeed } from '@mdcap/feeds';
import type { WsFeed } from '@mdcap/feeds';
import { datasetsRoot, readRecording } from '@mdcap/emulators';
import { record } from '@mdcap/pipeline';
import WebSocket from 'ws';
import { CLI_NODE_FLAGS, report } from './measure.js';

type Venue = 'coinbase' | 'binance';
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const MESSAGES = Number(argv.find((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--')) ?? 300_000);
const here = dirname(fileURLToPath(import.meta.url));
const MDCAP = resolve(here, '..', '..', '..', 'packages', 'cli', 'dist', 'main.js');
const DATASETS = datasetsRoot();
const ROTATE_NS = BigInt(Math.round(Number(flag('--rotate-s') ?? 1) * 1e9));

interface VenueSetup {
  readonly symbols: readonly string[];
  /** The recording's data messages on the subscribed channels: what the emulator sends per loop. */
  readonly perLoop: number;
  /** What a bare client sends to get the same frames as the handler. */
  readonly subscribe: string;
  /** Frames that are not data (subscription acknowledgements). */
  readonly control: (text: string) => boolean;
  readonly feed: (url: string, restUrl: string, clock: LiveClock, onFrame?: (text: string) => void) => WsFeed;
}

function setup(venue: Venue): VenueSetup {
  if (venue === 'coinbase') {
    const symbols = ['SKL-USD', 'SKL-BTC', 'BAND-GBP', 'NMR-EUR', 'BAND-BTC', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'SKL-GBP'];
    return {
      symbols,
      perLoop: readRecording(join(DATASETS, 'cryptofeed', 'COINBASE.ws.28.0')).filter(
        (l) => l.kind === 'received' && /^\{"type":"(snapshot|l2update|ticker|match|last_match)"/.test(l.text),
      ).length,
      subscribe: JSON.stringify({ type: 'subscribe', product_ids: symbols, channels: ['heartbeat', 'level2', 'matches', 'ticker'] }),
      control: (t) => t.startsWith('{"type":"subscriptions"'),
      feed: (url, _rest, clock, onFrame) => coinbaseFeed({ url, clock, ...(onFrame && { onFrame }) }),
    };
  }
  const symbols = ['NKNUSDT', 'BLZETH', 'LRCBTC', 'RUNEEUR'];
  const streams = symbols.flatMap((s) => [
    `${s.toLowerCase()}@depth@100ms`,
    `${s.toLowerCase()}@bookTicker`,
    `${s.toLowerCase()}@aggTrade`,
  ]);
  return {
    symbols,
    perLoop: readRecording(join(DATASETS, 'cryptofeed', 'BINANCE.ws.1.0')).filter(
      (l) => l.kind === 'received' && streams.some((s) => l.text.startsWith(`{"stream":"${s}"`)),
    ).length,
    subscribe: JSON.stringify({ method: 'SUBSCRIBE', params: streams, id: 1 }),
    control: (t) => t.startsWith('{"result"'),
    feed: (url, restUrl, clock, onFrame) => binanceFeed({ url, restUrl, clock, ...(onFrame && { onFrame }) }),
  };
}

async function emulator(venue: Venue, loops: number): Promise<{ url: string; restUrl: string; stop: () => void }> {
  const child = spawn(process.execPath, [MDCAP, 'emulate', '--venue', venue, '--speed', 'max', '--loops', String(loops), '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise<{ url: string; restUrl?: string }>((done, fail) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) done(JSON.parse(out.slice(0, out.indexOf('\n'))) as { url: string; restUrl?: string });
    });
    child.on('exit', (code) => fail(new Error(`mdcap emulate exited with ${code}`)));
  });
  return { url: first.url, restUrl: first.restUrl ?? '', stop: () => child.kill('SIGTERM') };
}

/**
 * A recorder as `mdcap record` runs one (the library's `record`: `provider` → ring → engine with
 * no books → CaptureWriter in a temp directory). `finish` waits for `all` (at most two minutes),
 * runs `beforeStop`, then stops the recording (the ring is delivered first), cleans up and stops
 * the emulator; it returns what `beforeStop` returned and the events written.
 */
function recorder(
  symbols: readonly string[],
  e: { stop: () => void },
  provider: DataProvider,
  onEvent: (ev: MarketEvent) => void,
  rotateNs?: bigint,
) {
  const dir = mkdtempSync(join(tmpdir(), 'mdcap-bench-e2e-'));
  const stop = new AbortController();
  const recording = record({
    feed: provider,
    symbols,
    out: join(dir, 'cap'),
    ...(rotateNs !== undefined && { rotateNs }),
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

interface Threaded {
  readonly seen: number;
  readonly seconds: number;
  readonly written: number;
  readonly malformed: number;
  readonly highWater: number;
  readonly peakRssBytes: number;
}

/** As `mdcap record` runs by default (this process is a child of its own, for its peak RSS). */
async function threaded(venue: Venue, loops: number, dataEvents: number): Promise<Threaded> {
  const v = setup(venue);
  const e = await emulator(venue, loops);
  const feed = new WorkerFeed(venue, { url: e.url, ...(e.restUrl !== '' && { restUrl: e.restUrl }), clock: new LiveClock() });
  let n = 0;
  let first = 0;
  let last = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const rec = recorder(
    v.symbols,
    e,
    feed,
    (ev) => {
      if (ev.type === 'status') return;
      if (n++ === 0) first = performance.now();
      last = performance.now();
      if (n === dataEvents) done();
    },
    ROTATE_NS,
  );
  const { result, written } = await rec.finish(all, () => ({ seen: n, seconds: (last - first) / 1000 }));
  return {
    ...result,
    written,
    malformed: feed.stats.malformed,
    highWater: feed.ringStats().highWater,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

async function bench(venue: Venue): Promise<void> {
  const v = setup(venue);
  const loops = Math.max(1, Math.ceil(MESSAGES / v.perLoop));
  const expected = v.perLoop * loops;
  {
    const e = await emulator(venue, loops);
    const ws = new WebSocket(e.url);
    let n = 0;
    let first = 0;
    let last = 0;
    await new Promise<void>((done) => {
      setTimeout(done, 120_000).unref();
      ws.on('open', () => ws.send(v.subscribe));
      ws.on('message', (data: Buffer) => {
        if (v.control(data.toString('latin1', 0, 24))) return;
        if (n++ === 0) first = performance.now();
        last = performance.now();
        if (n === expected) done();
      });
    });
    ws.close();
    e.stop();
    report({
      bench: 'e2e',
      case: `${venue} baseline: a bare ws client counting the frames`,
      items: n,
      seconds: (last - first) / 1000,
      note: `${expected - n} lost`,
    });
  }
  // The handler on the main thread (`mdcap record --no-handler-thread`). Timed from the first frame to the last.
  let dataEvents = 0;
  {
    const e = await emulator(venue, loops);
    let n = 0;
    let first = 0;
    let done: () => void = () => {};
    const all = new Promise<void>((r) => (done = r));
    const feed = v.feed(e.url, e.restUrl, new LiveClock(), (text) => {
      if (v.control(text)) return;
      if (n++ === 0) first = performance.now();
      if (n === expected) done();
    });
    const rec = recorder(v.symbols, e, feed, (ev) => {
      if (ev.type !== 'status') dataEvents++;
    });
    const { result: seconds, written } = await rec.finish(all, () => (performance.now() - first) / 1000);
    report({
      bench: 'e2e',
      case: `${venue} emulator → handler → ring → engine → capture, all on the main thread (one message per frame)`,
      items: n,
      seconds,
      note: `${expected - n} frames lost; ${written} events written; ${feed.stats.malformed} malformed`,
    });
  }
  const args = ['--child', venue, '--loops', String(loops), '--events', String(dataEvents), '--rotate-s', String(Number(ROTATE_NS) / 1e9)];
  const child = spawn(process.execPath, [...CLI_NODE_FLAGS, fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.on('exit', r));
  const t = JSON.parse(out) as Threaded;
  report({
    bench: 'e2e',
    case: `**${venue} emulator → handler on a worker thread → shared ring → engine → capture** (one message per frame)`,
    items: t.seen === dataEvents ? expected : Math.round((expected * t.seen) / dataEvents),
    seconds: t.seconds,
    note: `${dataEvents - t.seen} data events missing of ${dataEvents}; ${t.written} events written; ${t.malformed} malformed; ring high water ${t.highWater}; recorder peak RSS ${(t.peakRssBytes / 2 ** 20).toFixed(0)} MiB (rotating every ${Number(ROTATE_NS) / 1e9} s)`,
  });
}

const child = flag('--child') as Venue | undefined;
if (child !== undefined) {
  process.stdout.write(JSON.stringify(await threaded(child, Number(flag('--loops')), Number(flag('--events')))));
} else {
  const which = flag('--venue') ?? 'both';
  for (const venue of ['coinbase', 'binance'] as const) if (which === 'both' || which === venue) await bench(venue);
}
process.exit(0);
