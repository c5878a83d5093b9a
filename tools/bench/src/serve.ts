/**
 * `mdcap serve` (issue 12): events/s from the gRPC server to clients in other processes, and
 * latency per stage at a steady live rate. Every case runs beside a baseline from the same run:
 * the same events, encoded by the same hand-written encoder into EventBatch messages of the
 * same size (1,024 events), written length-prefixed over a plain TCP socket on 127.0.0.1 to a
 * reader in another process that decodes them with the same decoder.
 *
 * - node: `mdcap serve --captures` (a child process) replays a capture of the demo venue at
 *   speed max to one `subscribeBatches()` client in another process, which decodes every event.
 *   Baseline: the raw socket into `decodeBatch`.
 * - python: the same replay to `mdcap_client.subscribe_batches` (clients/python, grpcio; the
 *   batches are parsed by protobuf's `EventBatch.FromString`). Baseline: Python reading the raw
 *   socket and parsing each frame with `EventBatch.FromString`.
 * - fanout: N Node clients (processes) at once, each its own replay of the first seconds of the
 *   capture. Baseline: one writer process sending the same bytes to N raw-socket readers.
 * - latency: `mdcap serve --feed demo --rate R` (live, wall clock) to one client; after a warm-up
 *   (`Stats` with reset_latency), p50/p99/p99.9/max per stage from the `Stats` RPC. Baseline: the
 *   same demo feed and engine in a process of its own, events encoded and written to a raw socket,
 *   the same stages timed the same way after the same warm-up.
 * - codec: the hand-written `writeEvent` / `decodeBatch` against ts-proto's generated
 *   `EventBatch.encode` / `EventBatch.decode` (+ conversion from and to mdcap events), on the
 *   same events in one process.
 *
 * The capture: the demo venue (`mdcap record --feed demo`'s market) on a virtual clock, RATE
 * packets/s for SECONDS of market time (≈1.9 events a packet: trades, quotes, book updates).
 * Beside node, python and fanout, the same pre-encoded bytes also go out from a bare grpc-js
 * server (Subscribe registered as `mdcap serve` registers it) to the same clients: gRPC's own
 * cost without the replay and the encoding. Each client process is started first and told to
 * go once every process is ready; times are from the first batch received to the last (the
 * call's setup is in the note), and CPU per event is the serving process's (from /proc) and the
 * clients' own over the run.
 * Prints one JSON line per case (tools/bench/src/main.ts) and a summary on stderr.
 * Usage: node dist/serve.js [--seconds 16] [--rate 100000] [--clients 10] [--fan-seconds 2]
 *   [--live-rate 52000] [--live-seconds 10] [--live-warmup 3]
 *   [--codec-events 1000000] [--only node,python,fanout,latency,codec] [--python /usr/bin/python3] [--captures DIR]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { VirtualClock } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { feedDefinition, openFeed, record } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { connection, decodeBatch, ProtoWriter, subscribeBatches, writeEvent } from '@mdcap/serve';
import type { StreamItem } from '@mdcap/serve';
import { report } from './measure.js';

const HERE = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(HERE), '..', '..', '..');
const MDCAP = join(ROOT, 'packages', 'cli', 'dist', 'main.js');
const PY_CLIENT = join(ROOT, 'clients', 'python');
const T0 = 1_704_205_800_000_000_000n; // 2024-01-02T14:30:00Z, the demo venue's default start
const CAPTURE = 'demo';
const BATCH = 1024; // the server's default batch_events
const SYMBOLS = feedDefinition('demo').defaultSymbols!;

// ---- arguments ------------------------------------------------------------------------------

const argv = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}
function num(name: string, fallback: number): number {
  const v = opt(name);
  return v === undefined ? fallback : Number(v);
}
/** Wall time in ms with sub-ms resolution, comparable between processes of one machine. */
const wallMs = (): number => performance.timeOrigin + performance.now();

// ---- child process plumbing -------------------------------------------------------------------

/** A child that prints one JSON line when ready, waits for `go` on stdin, then prints its result. */
interface Child<R> {
  readonly proc: ChildProcess;
  readonly ready: Record<string, unknown>;
  go(): void;
  readonly result: Promise<R>;
}

async function start<R>(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Child<R>> {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = createInterface({ input: proc.stdout });
  const it = lines[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, fail) =>
    proc.once('exit', (code, signal) => fail(new Error(`${cmd} ${args.join(' ')}: exited (${code ?? signal}) before answering`))),
  );
  exited.catch(() => {});
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await Promise.race([it.next(), exited]);
    if (r.done === true) throw new Error(`${cmd} ${args.join(' ')}: no output`);
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const ready = await next();
  const result = next() as Promise<R>;
  result.catch(() => {}); // a writer that is stopped never answers; awaiting it still throws
  return { proc, ready, go: () => proc.stdin.write('go\n'), result };
}

const role = (name: string, ...args: (string | number | bigint)[]): string[] => [HERE, '--role', name, ...args.map(String)];
const node = <R>(name: string, ...args: (string | number | bigint)[]): Promise<Child<R>> => start<R>(process.execPath, role(name, ...args));

/** In a child: say ready (with `info`), then wait for the parent's go. */
async function readyThenGo(info: Record<string, unknown> = {}): Promise<void> {
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
  await new Promise<void>((ok) => {
    process.stdin.once('data', () => ok());
  });
}

function answer(result: object): void {
  process.stdout.write(`${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n`);
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((ok) => p.once('exit', () => ok()));
  p.kill('SIGTERM');
  await gone;
}

interface Received {
  readonly events: number;
  readonly batches: number;
  readonly bytes?: number;
  /** Wall ms: the call or connection made, the first batch, the last. */
  readonly called: number;
  readonly first: number;
  readonly last: number;
  /** CPU seconds the reader's process used from go to the end (all its threads). */
  readonly cpu: number;
}

const perSecond = (r: Received): number => r.events / ((r.last - r.first) / 1000);
const cpuSince = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
/** CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
function cpuOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return NaN;
  }
}
/** µs of CPU per event. */
const usPer = (cpu: number, events: number): string => `${((cpu / events) * 1e6).toFixed(2)} µs`;

// ---- the same events through the engine, as the server's replay session dispatches them ----

/**
 * Replays a capture (speed max) through an engine configured as `mdcap serve`'s replay session,
 * calling `each` per event in the server's order; stops after `limit` events.
 */
async function replay(dir: string, to: bigint | undefined, each: (e: MarketEvent) => void, limit = Infinity): Promise<void> {
  const provider = ReplayProvider.open(dir, { speed: 'max', ...(to === undefined ? {} : { to }) });
  const engine = new RealtimeEngine(provider, { barGraceMs: 250, barTimestamp: 'tsEvent' });
  let n = 0;
  const one = (e: MarketEvent): void => {
    if (n++ < limit) each(e);
    else if (n === limit + 1) void engine.stop();
  };
  engine.onTrade(one);
  engine.onQuote(one);
  engine.onBookUpdate(one);
  engine.onOrderUpdate(one);
  engine.onStatus(one);
  await engine.run(SYMBOLS);
}

/** Length-prefixed frames (u32 BE + an EventBatch of up to BATCH events), encoded with writeEvent. */
async function encodeFrames(dir: string, to: bigint | undefined): Promise<{ frames: Buffer[]; events: number; bytes: number }> {
  const w = new ProtoWriter(1 << 20);
  const frames: Buffer[] = [];
  let n = 0;
  let inBatch = 0;
  let bytes = 0;
  const cut = (): void => {
    const f = Buffer.allocUnsafe(4 + w.pos);
    f.writeUInt32BE(w.pos, 0);
    f.set(w.buf.subarray(0, w.pos), 4);
    frames.push(f);
    bytes += w.pos;
    w.reset();
    inBatch = 0;
  };
  await replay(dir, to, (e) => {
    writeEvent(w, e);
    n++;
    if (++inBatch === BATCH) cut();
  });
  if (inBatch > 0) cut();
  return { frames, events: n, bytes };
}

/** Splits a byte stream into frames (u32 BE length + body). */
function frameReader(onFrame: (body: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer | null = null;
  return (chunk) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (buf.length - at >= 4) {
      const n = buf.readUInt32BE(at);
      if (buf.length - at - 4 < n) break;
      onFrame(buf.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    }
    pending = at < buf.length ? buf.subarray(at) : null;
  };
}

/** Writes frames with backpressure, then ends the socket. */
function pour(sock: Socket, frames: readonly Buffer[]): void {
  let i = 0;
  const pump = (): void => {
    while (i < frames.length) {
      if (!sock.write(frames[i++]!)) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  };
  pump();
}

// ---- roles (child processes) ------------------------------------------------------------------

/** Pre-encodes the capture (and its prefix up to `to`) and serves the frames to every connection: `A` all, `P` the prefix. */
async function rawWriter(dir: string, to: bigint): Promise<void> {
  let replayed = 0;
  const r0 = performance.now();
  await replay(dir, undefined, () => replayed++);
  const replaySeconds = (performance.now() - r0) / 1000;
  const t0 = performance.now();
  const all = await encodeFrames(dir, undefined);
  const encodeSeconds = (performance.now() - t0) / 1000;
  const prefix = await encodeFrames(dir, to);
  const server = createServer((sock) => {
    sock.setNoDelay(true);
    sock.once('data', (d) => pour(sock, d[0] === 0x50 ? prefix.frames : all.frames));
    sock.on('error', () => {});
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.address() as { port: number }).port;
  const grpcAddress = await preEncodedGrpc(
    all.frames.map((f) => f.subarray(4)),
    prefix.frames.map((f) => f.subarray(4)),
  );
  process.stdout.write(
    `${JSON.stringify({ ready: true, port, grpcAddress, replayed, replaySeconds, events: all.events, bytes: all.bytes, batches: all.frames.length, encodeSeconds, prefixEvents: prefix.events })}\n`,
  );
  // Runs until the parent stops it.
}

/**
 * The gRPC transport alone: a grpc-js server with MarketData.Subscribe (raw bytes, as
 * `mdcap serve` registers it, with its message size option) that streams the pre-encoded
 * batches (the prefix when the request has a `to`), so `subscribeBatches()` reads them as from
 * `mdcap serve`, without the replay, the engine and the encoding.
 */
async function preEncodedGrpc(all: readonly Buffer[], prefix: readonly Buffer[]): Promise<string> {
  const { SubscribeRequest } = await generated<{ SubscribeRequest: Codec<{ source?: { value: { to?: bigint | undefined } } }> }>(
    'market_data.js',
  );
  const identity = (b: Buffer): Buffer => b;
  const server = new grpc.Server({ 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  const definition: grpc.ServiceDefinition = {
    Subscribe: {
      path: '/mdcap.v1.MarketData/Subscribe',
      requestStream: false,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  server.addService(definition, {
    Subscribe: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const frames = SubscribeRequest.decode(call.request).source?.value.to === undefined ? all : prefix;
      let i = 0;
      const pump = (): void => {
        while (i < frames.length) {
          if (!call.write(frames[i++]!)) {
            call.once('drain', pump);
            return;
          }
        }
        call.end();
      };
      pump();
    },
  });
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err === null ? ok(p) : fail(err))),
  );
  return `127.0.0.1:${port}`;
}

/** Reads frames from the raw writer and decodes each with decodeBatch. */
async function rawReader(port: number, mode: string): Promise<void> {
  await readyThenGo();
  const c0 = process.cpuUsage();
  let events = 0;
  let batches = 0;
  let bytes = 0;
  let first = 0;
  const items: StreamItem[] = [];
  const called = wallMs();
  const sock = createConnection({ port, host: '127.0.0.1' });
  const onFrame = (body: Buffer): void => {
    items.length = 0;
    events += decodeBatch(body, items).items.length;
    batches++;
    bytes += body.length;
  };
  const read = frameReader(onFrame);
  await new Promise<void>((done, fail) => {
    sock.on('connect', () => sock.write(mode));
    sock.on('data', (chunk: Buffer) => {
      if (first === 0) first = wallMs();
      read(chunk);
    });
    sock.on('end', () => done());
    sock.on('error', fail);
  });
  answer({ events, batches, bytes, called, first, last: wallMs(), cpu: cpuSince(c0) } satisfies Received);
}

/** One gRPC subscription with the library's client, every batch decoded. */
async function grpcClient(address: string, to: string): Promise<void> {
  await readyThenGo();
  const c0 = process.cpuUsage();
  let events = 0;
  let batches = 0;
  let first = 0;
  const called = wallMs();
  for await (const batch of subscribeBatches(address, { capture: CAPTURE, speed: 'max', ...(to === '-' ? {} : { to: BigInt(to) }) })) {
    if (first === 0) first = wallMs();
    events += batch.length;
    batches++;
  }
  answer({ events, batches, called, first, last: wallMs(), cpu: cpuSince(c0) } satisfies Received);
}

/** A live subscription for `seconds`: how many events arrived, and how fast. */
/** Reads the live demo feed: `warmup` s (then the server's latency histograms are reset), then `seconds` s counted. */
async function liveClient(address: string, seconds: number, warmup: number): Promise<void> {
  await readyThenGo();
  let events = 0;
  let batches = 0;
  let first = 0;
  let last = 0;
  let dropped = 0;
  let reset: Promise<unknown> | null = null;
  const called = wallMs();
  const warmEnd = called + warmup * 1000;
  for await (const batch of subscribeBatches(address, { live: 'demo', onDropped: (d) => (dropped += Number(d)) })) {
    last = wallMs();
    if (last < warmEnd) continue;
    reset ??= callStats(address, true);
    if (first === 0) first = last;
    events += batch.length;
    batches++;
    if (last - first >= seconds * 1000) break;
  }
  await reset;
  answer({ events, batches, called, first, last, dropped });
}

/** Percentiles of samples (ns). */
function percentiles(v: Float64Array): { count: number; p50: number; p99: number; p999: number; max: number } {
  const s = v.slice().sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
  return { count: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[s.length - 1] ?? 0 };
}

/** Growable Float64Array. */
class Samples {
  v = new Float64Array(1 << 20);
  n = 0;
  push(x: number): void {
    if (this.n === this.v.length) {
      const next = new Float64Array(this.v.length * 2);
      next.set(this.v);
      this.v = next;
    }
    this.v[this.n++] = x;
  }
  view(): Float64Array {
    return this.v.subarray(0, this.n);
  }
}

/**
 * The latency baseline: the demo feed live at `rate` through an engine, each event encoded
 * (writeEvent) into a batch closed at BATCH events or at the end of the event loop's turn (as
 * `mdcap serve` batches), each batch written to a raw socket; the stages timed as the server
 * times them (dispatch → batch encoded, encoded → the socket's write callback).
 */
async function liveRawWriter(rate: number, seconds: number, warmup: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as { port: number }).port })}\n`);
  const sock = await new Promise<Socket>((ok) => server.once('connection', ok));
  sock.setNoDelay(true);
  await new Promise<void>((ok) => sock.once('data', () => ok()));
  const mono = (): number => performance.now() * 1e6;
  const toEncoded = new Samples();
  const toSocket = new Samples();
  const endToEnd = new Samples();
  const w = new ProtoWriter(1 << 20);
  const dispatchedAt = new Float64Array(BATCH);
  let inBatch = 0;
  let events = 0;
  let pending = false;
  let writable = true;
  const queue: Buffer[] = [];
  const flush = (): void => {
    pending = false;
    const n = inBatch;
    if (n === 0) return;
    const f = Buffer.allocUnsafe(4 + w.pos);
    f.writeUInt32BE(w.pos, 0);
    f.set(w.buf.subarray(0, w.pos), 4);
    w.reset();
    inBatch = 0;
    const encodedAt = mono();
    const starts = dispatchedAt.slice(0, n);
    const timed = encodedAt >= warmEnd; // after the warm-up, as the server's histograms are reset
    if (timed) for (let i = 0; i < n; i++) toEncoded.push(encodedAt - starts[i]!);
    const write = (): void => {
      writable = sock.write(f, () => {
        if (!timed) return;
        const now = mono();
        // Per event, as the server records this stage (one value counted for each event of the batch).
        for (let i = 0; i < n; i++) toSocket.push(now - encodedAt);
        for (let i = 0; i < n; i++) endToEnd.push(now - starts[i]!);
      });
    };
    if (writable) write();
    else queue.push(f); // not expected at this rate; counted below
  };
  sock.on('drain', () => {
    writable = true;
    while (writable && queue.length > 0) writable = sock.write(queue.shift()!);
  });
  const feed = openFeed({ feed: 'demo', symbols: SYMBOLS, rate, seed: 1 });
  const engine = new RealtimeEngine(feed.provider, { barGraceMs: 250 });
  const each = (e: MarketEvent): void => {
    writeEvent(w, e);
    dispatchedAt[inBatch++] = mono();
    events++;
    if (inBatch === BATCH) flush();
    else if (!pending) {
      pending = true;
      setImmediate(flush);
    }
  };
  engine.onTrade(each);
  engine.onQuote(each);
  engine.onBookUpdate(each);
  engine.onOrderUpdate(each);
  engine.onStatus(each);
  const warmEnd = mono() + warmup * 1e9;
  await engine.start(SYMBOLS);
  await new Promise((ok) => setTimeout(ok, warmup * 1000));
  const t0 = wallMs();
  const e0 = events;
  await new Promise((ok) => setTimeout(ok, seconds * 1000));
  await engine.stop();
  flush();
  const t1 = wallMs();
  await feed.close();
  await new Promise<void>((ok) => sock.end(() => ok()));
  server.close();
  answer({
    events: events - e0,
    seconds: (t1 - t0) / 1000,
    queuedWrites: queue.length,
    dispatch_to_encoded: percentiles(toEncoded.view()),
    encoded_to_socket: percentiles(toSocket.view()),
    dispatch_to_socket: percentiles(endToEnd.view()),
  });
}

async function liveRawReader(port: number): Promise<void> {
  await readyThenGo();
  let events = 0;
  let first = 0;
  const items: StreamItem[] = [];
  const sock = createConnection({ port, host: '127.0.0.1' });
  const read = frameReader((body) => {
    items.length = 0;
    events += decodeBatch(body, items).items.length;
  });
  const called = wallMs();
  await new Promise<void>((done, fail) => {
    sock.on('connect', () => sock.write('L'));
    sock.on('data', (chunk: Buffer) => {
      if (first === 0) first = wallMs();
      read(chunk);
    });
    sock.on('end', () => done());
    sock.on('error', fail);
  });
  answer({ events, called, first, last: wallMs() });
}

// ---- ts-proto's generated codec (packages/serve/src/gen) ----------------------------------------

// The generated code is not part of @mdcap/serve's public entry; the codec comparison needs it,
// so it is loaded from the package's build next to its entry (the shapes used are typed here).
interface PbHeader {
  venue: string;
  symbol: string;
  tsEvent: bigint;
  tsRecv: bigint;
  seq?: bigint | undefined;
}
interface PbScaled {
  header?: PbHeader | undefined;
  priceScale: number;
  sizeScale: number;
}
type PbCase =
  | { $case: 'trade'; value: PbScaled & { price: bigint; size: bigint; side: number; tradeId?: string | undefined } }
  | {
      $case: 'quote';
      value: PbScaled & { bidPrice?: bigint | undefined; bidSize: bigint; askPrice?: bigint | undefined; askSize: bigint };
    }
  | { $case: 'book'; value: PbScaled & { side: number; price: bigint; size: bigint; flags: number } }
  | {
      $case: 'order';
      value: PbScaled & {
        action: number;
        orderId: { $case: string; value: bigint | string } | undefined;
        side: number;
        price: bigint;
        size: bigint;
        flags: number;
      };
    }
  | {
      $case: 'bar';
      value: PbScaled & {
        interval: number;
        start: bigint;
        end: bigint;
        open: bigint;
        high: bigint;
        low: bigint;
        close: bigint;
        volume: bigint;
        trades: number;
        flags: number;
      };
    }
  | {
      $case: 'status';
      value: {
        header?: PbHeader | undefined;
        kind: string;
        fromSeq?: bigint | undefined;
        toSeq?: bigint | undefined;
        ok?: boolean | undefined;
        detail: string;
      };
    };
interface PbEvent {
  event: PbCase | undefined;
}
interface PbBatch {
  events: PbEvent[];
  dropped: bigint;
}
interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
}
interface StatsReply {
  latency: { stage: string; count: bigint; p50: bigint; p99: bigint; p999: bigint; max: bigint }[];
  subscribers: { eventsSent: bigint; eventsDropped: bigint }[];
  rssBytes: bigint;
}
interface StatsClient {
  stats(req: object, cb: (err: Error | null, res: StatsReply) => void): void;
  close(): void;
}

async function generated<T>(file: string): Promise<T> {
  return (await import(new URL(`./gen/mdcap/v1/${file}`, import.meta.resolve('@mdcap/serve')).href)) as T;
}

async function callStats(address: string, resetLatency = false): Promise<StatsReply> {
  const gen = await generated<{ MarketDataClient: new (a: string, c: unknown) => StatsClient }>('market_data.js');
  const client = new gen.MarketDataClient(address, connection({}).credentials);
  try {
    return await new Promise<StatsReply>((ok, fail) => client.stats({ resetLatency }, (err, res) => (err === null ? ok(res) : fail(err))));
  } finally {
    client.close();
  }
}

const SIDE_NO = { none: 0, buy: 1, sell: 2 } as const;
const SIDES = ['none', 'buy', 'sell'] as const;
const BOOK_SIDES = ['bid', 'ask'] as const;
const ACTION_NO = { add: 0, modify: 1, cancel: 2, fill: 3, clear: 4 } as const;
const ACTIONS = ['add', 'modify', 'cancel', 'fill', 'clear'] as const;

/** An mdcap event as the generated message (what a server built on generated code would do). */
function toPb(e: MarketEvent): PbEvent {
  const header: PbHeader = { venue: e.venue, symbol: e.symbol, tsEvent: e.tsEvent, tsRecv: e.tsRecv, seq: e.seq ?? undefined };
  switch (e.type) {
    case 'trade':
      return {
        event: {
          $case: 'trade',
          value: {
            header,
            price: e.price,
            size: e.size,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
            side: SIDE_NO[e.side],
            tradeId: e.tradeId ?? undefined,
          },
        },
      };
    case 'quote':
      return {
        event: {
          $case: 'quote',
          value: {
            header,
            bidPrice: e.bidPrice ?? undefined,
            bidSize: e.bidSize,
            askPrice: e.askPrice ?? undefined,
            askSize: e.askSize,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
          },
        },
      };
    case 'book':
      return {
        event: {
          $case: 'book',
          value: {
            header,
            side: e.side === 'ask' ? 1 : 0,
            price: e.price,
            size: e.size,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
            flags: e.flags,
          },
        },
      };
    case 'order':
      return {
        event: {
          $case: 'order',
          value: {
            header,
            action: ACTION_NO[e.action],
            orderId:
              typeof e.orderId === 'string' ? { $case: 'orderIdText', value: e.orderId } : { $case: 'orderIdNumber', value: e.orderId },
            side: e.side === 'ask' ? 1 : 0,
            price: e.price,
            size: e.size,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
            flags: e.flags,
          },
        },
      };
    case 'bar':
      return {
        event: {
          $case: 'bar',
          value: {
            header,
            interval: e.interval,
            start: e.start,
            end: e.end,
            open: e.open,
            high: e.high,
            low: e.low,
            close: e.close,
            volume: e.volume,
            trades: e.trades,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
            flags: e.flags,
          },
        },
      };
    case 'status':
      return {
        event: {
          $case: 'status',
          value: {
            header,
            kind: e.kind,
            fromSeq: e.fromSeq ?? undefined,
            toSeq: e.toSeq ?? undefined,
            ok: e.ok ?? undefined,
            detail: e.detail,
          },
        },
      };
  }
}

/** The generated message back to an mdcap event (what a client built on generated code would do). */
function fromPb(m: PbEvent): MarketEvent {
  const c = m.event!;
  const h = c.value.header!;
  switch (c.$case) {
    case 'trade': {
      const v = c.value;
      return {
        type: 'trade',
        venue: h.venue,
        symbol: h.symbol,
        tsEvent: h.tsEvent,
        tsRecv: h.tsRecv,
        seq: h.seq ?? null,
        price: v.price,
        size: v.size,
        priceScale: v.priceScale,
        sizeScale: v.sizeScale,
        side: SIDES[v.side]!,
        tradeId: v.tradeId ?? null,
      };
    }
    case 'quote': {
      const v = c.value;
      return {
        type: 'quote',
        venue: h.venue,
        symbol: h.symbol,
        tsEvent: h.tsEvent,
        tsRecv: h.tsRecv,
        seq: h.seq ?? null,
        bidPrice: v.bidPrice ?? null,
        bidSize: v.bidSize,
        askPrice: v.askPrice ?? null,
        askSize: v.askSize,
        priceScale: v.priceScale,
        sizeScale: v.sizeScale,
      };
    }
    case 'book': {
      const v = c.value;
      return {
        type: 'book',
        venue: h.venue,
        symbol: h.symbol,
        tsEvent: h.tsEvent,
        tsRecv: h.tsRecv,
        seq: h.seq ?? null,
        side: BOOK_SIDES[v.side]!,
        price: v.price,
        size: v.size,
        priceScale: v.priceScale,
        sizeScale: v.sizeScale,
        flags: v.flags,
      };
    }
    case 'order': {
      const v = c.value;
      return {
        type: 'order',
        venue: h.venue,
        symbol: h.symbol,
        tsEvent: h.tsEvent,
        tsRecv: h.tsRecv,
        seq: h.seq ?? null,
        action: ACTIONS[v.action]!,
        orderId: v.orderId!.value,
        side: BOOK_SIDES[v.side]!,
        price: v.price,
        size: v.size,
        priceScale: v.priceScale,
        sizeScale: v.sizeScale,
        flags: v.flags,
      };
    }
    case 'bar': {
      const v = c.value;
      return {
        type: 'bar',
        venue: h.venue,
        symbol: h.symbol,
        tsEvent: h.tsEvent,
        tsRecv: h.tsRecv,
        seq: h.seq ?? null,
        interval: v.interval,
        start: v.start,
        end: v.end,
        open: v.open,
        high: v.high,
        low: v.low,
        close: v.close,
        volume: v.volume,
        trades: v.trades,
        priceScale: v.priceScale,
        sizeScale: v.sizeScale,
        flags: v.flags,
      };
    }
    case 'status': {
      const v = c.value;
      return {
        type: 'status',
        venue: h.venue,
        symbol: h.symbol,
        tsEvent: h.tsEvent,
        tsRecv: h.tsRecv,
        seq: h.seq ?? null,
        kind: v.kind as Extract<MarketEvent, { type: 'status' }>['kind'],
        fromSeq: v.fromSeq ?? null,
        toSeq: v.toSeq ?? null,
        ok: v.ok ?? null,
        detail: v.detail,
      };
    }
  }
}

/** Runs `f` once to warm up, then `runs` times; the median seconds. */
function timed(runs: number, f: () => void): number {
  f();
  const s: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    s.push((performance.now() - t0) / 1000);
  }
  return s.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

async function codec(dir: string, count: number): Promise<void> {
  const { EventBatch } = await generated<{ EventBatch: Codec<PbBatch> }>('events.js');
  const events: MarketEvent[] = [];
  await replay(dir, undefined, (e) => events.push(e), count);
  const n = events.length;
  const batches: MarketEvent[][] = [];
  for (let i = 0; i < n; i += BATCH) batches.push(events.slice(i, i + BATCH));
  const RUNS = 3;
  const w = new ProtoWriter(1 << 20);
  let ours: Buffer[] = [];
  const encodeOurs = timed(RUNS, () => {
    ours = [];
    for (const b of batches) {
      w.reset();
      for (const e of b) writeEvent(w, e);
      ours.push(w.take());
    }
  });
  let theirs: Uint8Array[] = [];
  const encodeGenerated = timed(RUNS, () => {
    theirs = batches.map((b) => EventBatch.encode({ events: b.map(toPb), dropped: 0n }).finish());
  });
  const messages = batches.map((b) => ({ events: b.map(toPb), dropped: 0n }));
  const encodeGeneratedOnly = timed(RUNS, () => {
    for (const m of messages) EventBatch.encode(m).finish();
  });
  const same = ours.every((b, i) => Buffer.compare(b, Buffer.from(theirs[i]!)) === 0);
  let decoded = 0;
  const decodeOurs = timed(RUNS, () => {
    decoded = 0;
    for (const b of ours) decoded += decodeBatch(b).items.length;
  });
  let decodedGenerated = 0;
  const decodeGenerated = timed(RUNS, () => {
    decodedGenerated = 0;
    for (const b of ours) decodedGenerated += EventBatch.decode(b).events.map(fromPb).length;
  });
  const decodeGeneratedOnly = timed(RUNS, () => {
    for (const b of ours) EventBatch.decode(b);
  });
  const bytes = ours.reduce((s, b) => s + b.length, 0);
  answer({
    events: n,
    bytesPerEvent: bytes / n,
    sameBytes: same,
    decoded,
    decodedGenerated,
    encodeOurs,
    encodeGenerated,
    encodeGeneratedOnly,
    decodeOurs,
    decodeGenerated,
    decodeGeneratedOnly,
  });
}

// ---- the Python side ---------------------------------------------------------------------------

const PY_COMMON = `
import json, socket, sys, time
sys.path.insert(0, ${JSON.stringify(PY_CLIENT)})
def wall_ms():
    return time.time() * 1000.0
def ready_then_go():
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
`;

const PY_GRPC = `${PY_COMMON}
import mdcap_client
ready_then_go()
cpu0 = time.process_time()
events = batches = 0
first = 0.0
called = wall_ms()
for batch in mdcap_client.subscribe_batches(sys.argv[1], capture=${JSON.stringify(CAPTURE)}, speed="max"):
    if batches == 0:
        first = wall_ms()
    events += len(batch.events)
    batches += 1
print(json.dumps({"events": events, "batches": batches, "called": called, "first": first, "last": wall_ms(), "cpu": time.process_time() - cpu0}), flush=True)
`;

const PY_RAW = `${PY_COMMON}
from mdcap_client._proto.mdcap.v1.events_pb2 import EventBatch
ready_then_go()
cpu0 = time.process_time()
events = batches = nbytes = 0
called = wall_ms()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b"A")
f = s.makefile("rb", buffering=1 << 20)
first = 0.0
while True:
    head = f.read(4)
    if len(head) < 4:
        break
    if first == 0.0:
        first = wall_ms()
    n = int.from_bytes(head, "big")
    body = f.read(n)
    events += len(EventBatch.FromString(body).events)
    batches += 1
    nbytes += n
print(json.dumps({"events": events, "batches": batches, "bytes": nbytes, "called": called, "first": first, "last": wall_ms(), "cpu": time.process_time() - cpu0}), flush=True)
`;

function pythonReady(py: string): string | null {
  if (!existsSync(join(PY_CLIENT, 'mdcap_client', 'client.py'))) return 'clients/python/mdcap_client/client.py is missing';
  const r = spawnSync(
    py,
    ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(PY_CLIENT)}); import grpc, mdcap_client; mdcap_client.subscribe_batches`],
    {
      encoding: 'utf8',
    },
  );
  return r.status === 0
    ? null
    : `${py} cannot import grpc and mdcap_client: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`;
}

// ---- the parent --------------------------------------------------------------------------------

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`);
const us = (ns: number | bigint): string => `${(Number(ns) / 1000).toFixed(Number(ns) < 10_000 ? 1 : 0)} µs`;
const summary: string[] = [];
const began = performance.now();
function say(line: string): void {
  summary.push(line);
  process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(0)} s] ${line}\n`);
}

async function server(args: readonly string[]): Promise<{ proc: ChildProcess; address: string }> {
  const proc = spawn(process.execPath, [MDCAP, 'serve', '--listen', '127.0.0.1:0', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const it = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) throw new Error('mdcap serve printed nothing');
  return { proc, address: (JSON.parse(first.value) as { address: string }).address };
}

/** Starts `clients`, tells them all to go at once, waits for every result. */
async function race<R>(clients: Child<R>[]): Promise<R[]> {
  for (const c of clients) c.go();
  return Promise.all(clients.map((c) => c.result));
}

async function main(): Promise<void> {
  const seconds = num('seconds', 16);
  const rate = num('rate', 100_000);
  const nClients = num('clients', 10);
  const fanSeconds = num('fan-seconds', 2);
  const liveRate = num('live-rate', 52_000);
  const liveSeconds = num('live-seconds', 10);
  const liveWarmup = num('live-warmup', 3);
  const codecEvents = num('codec-events', 1_000_000);
  const only = new Set((opt('only') ?? 'node,python,fanout,latency,codec').split(','));
  const py = opt('python') ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const given = opt('captures');
  const tmp = mkdtempSync(join(tmpdir(), 'mdcap-bench-serve-'));
  const captures = given === undefined ? join(tmp, 'caps') : resolve(given);
  const dir = join(captures, CAPTURE);

  process.stderr.write(`serve bench: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}\n`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    const t0 = performance.now();
    const s = await record({
      feed: { feed: 'demo', symbols: SYMBOLS, rate, seed: 1, clock: new VirtualClock(T0) },
      out: dir,
      durationNs: BigInt(seconds) * 1_000_000_000n,
    });
    process.stderr.write(
      `capture: ${s.events.toLocaleString('en-US')} events of the demo venue in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  }
  const fanTo = T0 + BigInt(fanSeconds) * 1_000_000_000n;

  const needCapture = only.has('node') || only.has('python') || only.has('fanout');
  const srv = needCapture ? await server(['--captures', captures]) : null;
  const writer = needCapture ? await node<never>('raw-writer', dir, fanTo) : null;
  try {
    if (writer !== null && srv !== null) {
      const w = writer.ready as {
        port: number;
        grpcAddress: string;
        events: number;
        bytes: number;
        encodeSeconds: number;
        replayed: number;
        replaySeconds: number;
        prefixEvents: number;
      };
      check(w.replayed, w.events, 'replay alone');
      say(`replay alone (engine callbacks, no encoding): ${fmt(w.replayed / w.replaySeconds)}`);
      report({
        bench: 'serve',
        case: 'replay alone: the capture through the engine (books on) into callbacks that count, one process',
        items: w.replayed,
        seconds: w.replaySeconds,
      });
      say(
        `replay + encode in one process (no transport): ${fmt(w.events / w.encodeSeconds)} (${w.events.toLocaleString('en-US')} events, ${(w.bytes / w.events).toFixed(1)} B/event)`,
      );
      report({
        bench: 'serve',
        case: 'replay + writeEvent in one process, no transport (the floor under the server)',
        items: w.events,
        seconds: w.encodeSeconds,
        note: `${(w.bytes / w.events).toFixed(1)} bytes/event`,
      });

      /** `f` against a second server whose replays run on its main thread (`--replay-threads 0`); null when it has no such option. */
      const inlineReplays = async <T>(f: (address: string, pid: number | undefined) => Promise<T>): Promise<T | null> => {
        const help = spawnSync(process.execPath, [MDCAP, 'serve', '--help'], { encoding: 'utf8' }).stdout;
        if (!help.includes('--replay-threads')) return null;
        const inline = await server(['--captures', captures, '--replay-threads', '0']);
        try {
          return await f(inline.address, inline.proc.pid);
        } finally {
          await stop(inline.proc);
        }
      };

      /** One run: the clients told to go at once; the serving process's CPU seconds over the run. */
      interface Run {
        readonly rs: Received[];
        readonly serverCpu: number;
      }
      const run = async (pid: number | undefined, clients: Promise<Child<Received>>[], expected: number, what: string): Promise<Run> => {
        const started = await Promise.all(clients);
        const c0 = cpuOf(pid);
        const rs = await race(started);
        const serverCpu = cpuOf(pid) - c0;
        for (const r of rs) check(r.events, expected, what);
        return { rs, serverCpu };
      };
      const total = (x: Run): number => x.rs.reduce((n, r) => n + r.events, 0);
      /** Events over the span from the first batch any client received to the last. */
      const aggregate = (x: Run): number =>
        total(x) / ((Math.max(...x.rs.map((r) => r.last)) - Math.min(...x.rs.map((r) => r.first))) / 1000);
      const cpuNote = (x: Run): string =>
        `CPU per event: server ${usPer(x.serverCpu, total(x))}, client ${usPer(
          x.rs.reduce((n, r) => n + r.cpu, 0),
          total(x),
        )}`;
      const setup = (x: Run): string =>
        x.rs.length === 1 ? `; call to first batch ${(x.rs[0]!.first - x.rs[0]!.called).toFixed(0)} ms` : '';
      const row = (bench: string, name: string, x: Run, extra = ''): void => {
        report({ bench, case: name, items: total(x), seconds: total(x) / aggregate(x), note: `${cpuNote(x)}${setup(x)}${extra}` });
      };
      const line = (what: string, x: Run): string => `${what} ${fmt(aggregate(x))} (${cpuNote(x)})`;
      const pid = (c: { proc: ChildProcess }): number | undefined => c.proc.pid;

      if (only.has('node')) {
        const raw = await run(pid(writer), [node<Received>('raw-reader', w.port, 'A')], w.events, 'raw reader');
        const pre = await run(pid(writer), [node<Received>('grpc-client', w.grpcAddress, '-')], w.events, 'pre-encoded gRPC client');
        const served = await run(pid(srv), [node<Received>('grpc-client', srv.address, '-')], w.events, 'node client of mdcap serve');
        say(`node: ${line('mdcap serve', served)}; ${line('pre-encoded gRPC', pre)}; ${line('raw socket', raw)}`);
        row('serve', '**1 Node client**: `mdcap serve` replay at max → `subscribeBatches()`', served);
        row('serve', 'the same EventBatch bytes, pre-encoded, from a bare grpc-js server → `subscribeBatches()`', pre);
        row('serve', 'baseline: the same bytes over a raw TCP socket → `decodeBatch` (Node)', raw, `; ${(w.bytes / 1e6).toFixed(0)} MB`);
        // The same with the replay on the server's main thread (no worker pool).
        const one = await inlineReplays((address, p) =>
          run(p, [node<Received>('grpc-client', address, '-')], w.events, 'node client, --replay-threads 0'),
        );
        if (one !== null) {
          say(`node: ${line('mdcap serve --replay-threads 0', one)}`);
          row('serve', '1 Node client, `mdcap serve --replay-threads 0` (the replay on the main thread)', one);
        }
      }

      if (only.has('python')) {
        const why = pythonReady(py);
        if (why !== null) say(`python: skipped (${why})`);
        else {
          const pyDir = join(tmp, 'py');
          mkdirSync(pyDir, { recursive: true });
          writeFileSync(join(pyDir, 'grpc_client.py'), PY_GRPC);
          writeFileSync(join(pyDir, 'raw_reader.py'), PY_RAW);
          const python = (script: string, arg: string | number): Promise<Child<Received>> =>
            start<Received>(py, [join(pyDir, script), String(arg)]);
          const raw = await run(pid(writer), [python('raw_reader.py', w.port)], w.events, 'python raw reader');
          const pre = await run(pid(writer), [python('grpc_client.py', w.grpcAddress)], w.events, 'python client, pre-encoded');
          const served = await run(pid(srv), [python('grpc_client.py', srv.address)], w.events, 'python client of mdcap serve');
          say(`python: ${line('mdcap serve', served)}; ${line('pre-encoded gRPC', pre)}; ${line('raw socket', raw)}`);
          row('serve', '**1 Python client**: replay at max → `mdcap_client.subscribe_batches()` (grpcio, protobuf)', served);
          row('serve', 'the same bytes, pre-encoded, from a bare grpc-js server → `subscribe_batches()`', pre);
          row('serve', 'baseline: the same bytes over a raw TCP socket → `EventBatch.FromString` (Python)', raw);
        }
      }

      if (only.has('fanout')) {
        const many = (make: () => Promise<Child<Received>>): Promise<Child<Received>>[] => Array.from({ length: nClients }, make);
        const raw = await run(
          pid(writer),
          many(() => node<Received>('raw-reader', w.port, 'P')),
          w.prefixEvents,
          'fan-out raw reader',
        );
        const pre = await run(
          pid(writer),
          many(() => node<Received>('grpc-client', w.grpcAddress, fanTo)),
          w.prefixEvents,
          'fan-out client, pre-encoded',
        );
        const served = await run(
          pid(srv),
          many(() => node<Received>('grpc-client', srv.address, fanTo)),
          w.prefixEvents,
          'fan-out client of mdcap serve',
        );
        const spread = (x: Run): string => {
          const v = x.rs.map(perSecond).sort((p, q) => p - q);
          return `per client ${fmt(v[0]!)}–${fmt(v[v.length - 1]!)}, median ${fmt(v[Math.floor(v.length / 2)]!)}`;
        };
        say(
          `fanout ×${nClients}: ${line('mdcap serve', served)}, ${spread(served)}; ${line('pre-encoded gRPC', pre)}, ${spread(pre)}; ${line('raw', raw)}, ${spread(raw)}`,
        );
        const each = w.prefixEvents.toLocaleString('en-US');
        row(
          'serve',
          `**${nClients} Node clients at once**, aggregate (each its own replay of ${each} events)`,
          served,
          `; ${spread(served)}`,
        );
        row(
          'serve',
          `the same bytes, pre-encoded, from a bare grpc-js server → ${nClients} \`subscribeBatches()\` clients`,
          pre,
          `; ${spread(pre)}`,
        );
        row('serve', `baseline: one writer → ${nClients} raw TCP readers (\`decodeBatch\`)`, raw, `; ${spread(raw)}`);
        const inline = await inlineReplays((address, p) =>
          run(
            p,
            many(() => node<Received>('grpc-client', address, fanTo)),
            w.prefixEvents,
            'fan-out client, --replay-threads 0',
          ),
        );
        if (inline !== null) {
          say(`fanout ×${nClients}: ${line('mdcap serve --replay-threads 0', inline)}, ${spread(inline)}`);
          row(
            'serve',
            `${nClients} Node clients at once, \`mdcap serve --replay-threads 0\` (every replay on the main thread)`,
            inline,
            `; ${spread(inline)}`,
          );
        }
      }
    }
  } finally {
    if (writer !== null) await stop(writer.proc);
    if (srv !== null) await stop(srv.proc);
  }

  if (only.has('latency')) await latency(liveRate, liveSeconds, liveWarmup);

  if (only.has('codec')) {
    const c = await node<{
      events: number;
      bytesPerEvent: number;
      sameBytes: boolean;
      decoded: number;
      decodedGenerated: number;
      encodeOurs: number;
      encodeGenerated: number;
      encodeGeneratedOnly: number;
      decodeOurs: number;
      decodeGenerated: number;
      decodeGeneratedOnly: number;
    }>('codec', dir, codecEvents);
    const [r] = await race([c]);
    const n = r!.events;
    if (!r!.sameBytes) say('codec: WARNING: ts-proto and writeEvent produced different bytes');
    check(r!.decoded, n, 'decodeBatch');
    check(r!.decodedGenerated, n, 'EventBatch.decode');
    say(
      `codec (${n.toLocaleString('en-US')} events, same bytes: ${r!.sameBytes}): encode ours ${fmt(n / r!.encodeOurs)} vs ts-proto ${fmt(n / r!.encodeGenerated)} (${fmt(n / r!.encodeGeneratedOnly)} from prebuilt messages); decode ours ${fmt(n / r!.decodeOurs)} vs ts-proto ${fmt(n / r!.decodeGenerated)} (${fmt(n / r!.decodeGeneratedOnly)} without conversion)`,
    );
    const cases: [string, number][] = [
      ['**encode**: `writeEvent` (hand-written), mdcap events → EventBatch bytes', r!.encodeOurs],
      ['baseline: ts-proto `EventBatch.encode` + conversion from mdcap events', r!.encodeGenerated],
      ['ts-proto `EventBatch.encode` of prebuilt messages (no conversion)', r!.encodeGeneratedOnly],
      ['**decode**: `decodeBatch` (hand-written), bytes → mdcap events', r!.decodeOurs],
      ['baseline: ts-proto `EventBatch.decode` + conversion to mdcap events', r!.decodeGenerated],
      ['ts-proto `EventBatch.decode` alone (messages, no conversion)', r!.decodeGeneratedOnly],
    ];
    for (const [name, s] of cases)
      report({
        bench: 'serve-codec',
        case: name,
        items: n,
        seconds: s,
        note: `${r!.bytesPerEvent.toFixed(1)} B/event; identical bytes: ${r!.sameBytes}`,
      });
  }

  if (given === undefined) rmSync(tmp, { recursive: true, force: true });
}

async function latency(liveRate: number, liveSeconds: number, warmup: number): Promise<void> {
  // gRPC: mdcap serve runs the demo feed live; one client reads for warmup + liveSeconds
  // (resetting the server's histograms after the warm-up); then Stats.
  const srv = await server(['--feed', 'demo', '--rate', String(liveRate)]);
  let grpc: Received & { dropped: number };
  let stats: StatsReply;
  try {
    [grpc] = (await race([await node<Received & { dropped: number }>('live-client', srv.address, liveSeconds, warmup)])) as [
      Received & { dropped: number },
    ];
    stats = await callStats(srv.address);
  } finally {
    await stop(srv.proc);
  }
  // Baseline: the same feed, engine and encoder into a raw socket, in a process of its own.
  const writer = await node<{
    events: number;
    seconds: number;
    queuedWrites: number;
    dispatch_to_encoded: Pct;
    encoded_to_socket: Pct;
    dispatch_to_socket: Pct;
  }>('live-raw-writer', liveRate, liveSeconds, warmup);
  const reader = await node<Received>('live-raw-reader', (writer.ready as { port: number }).port);
  const [raw, base] = await Promise.all([race([reader]).then((r) => r[0]!), writer.result]);
  const rateG = perSecond(grpc);
  const rateR = base.events / base.seconds;
  const stage = (name: string): Pct => {
    const s = stats.latency.find((l) => l.stage === name)!;
    return { count: Number(s.count), p50: Number(s.p50), p99: Number(s.p99), p999: Number(s.p999), max: Number(s.max) };
  };
  const line = (p: Pct): string => `p50 ${us(p.p50)}, p99 ${us(p.p99)}, p99.9 ${us(p.p999)}, max ${us(p.max)}`;
  say(
    `latency (after ${warmup} s of warm-up): gRPC at ${fmt(rateG)} (${grpc.dropped} dropped), raw socket at ${fmt(rateR)} (${raw.events.toLocaleString('en-US')} read)`,
  );
  for (const name of ['venue_to_recv', 'recv_to_dispatch', 'dispatch_to_encoded', 'encoded_to_socket', 'dispatch_to_socket'] as const) {
    const p = stage(name);
    say(`  serve ${name}: ${line(p)} (${p.count.toLocaleString('en-US')})`);
    if (name !== 'venue_to_recv' && name !== 'recv_to_dispatch') {
      const b = base[name];
      say(`  raw   ${name}: ${line(b)}`);
      report({ bench: 'serve-latency', case: `gRPC ${name}`, items: grpc.events, seconds: (grpc.last - grpc.first) / 1000, note: line(p) });
      report({ bench: 'serve-latency', case: `baseline: raw socket ${name}`, items: base.events, seconds: base.seconds, note: line(b) });
    }
  }
}

interface Pct {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

function check(n: number, expected: number, what: string): void {
  if (n !== expected) throw new Error(`${what}: expected ${expected} events, received ${n}`);
}

// ---- entry -------------------------------------------------------------------------------------

const r = opt('role');
const pos = (i: number): string => {
  const at = argv.indexOf('--role');
  return argv[at + 2 + i]!;
};
switch (r) {
  case undefined:
    await main();
    process.stderr.write(`\n${summary.join('\n')}\n`);
    break;
  case 'raw-writer':
    await rawWriter(pos(0), BigInt(pos(1)));
    break;
  case 'raw-reader':
    await rawReader(Number(pos(0)), pos(1));
    process.exit(0);
    break;
  case 'grpc-client':
    await grpcClient(pos(0), pos(1));
    process.exit(0);
    break;
  case 'live-client':
    await liveClient(pos(0), Number(pos(1)), Number(pos(2)));
    process.exit(0);
    break;
  case 'live-raw-writer':
    await liveRawWriter(Number(pos(0)), Number(pos(1)), Number(pos(2)));
    process.exit(0);
    break;
  case 'live-raw-reader':
    await liveRawReader(Number(pos(0)));
    process.exit(0);
    break;
  case 'codec':
    await readyThenGo();
    await codec(pos(0), Number(pos(1)));
    process.exit(0);
    break;
  default:
    throw new Error(`unknown role ${r}`);
}
