import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { join } from 'node:path';
import { formatEventJson } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { decodeBatch, ProtoWriter } from '@mdcap/serve';
import type { QueuePolicy, StreamItem } from '@mdcap/serve';
import { mdcap, mdcapServer, recordEvents, simulatedEvents, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Acceptance of issue 12, backpressure: 50 subscribers replay one capture from `mdcap serve` at
 * speed max; 49 read everything, one never reads. The 49 all get the whole replay, byte for byte
 * what `mdcap replay CAP --speed max --json` prints, while the stalled one holds still; the
 * stalled one gets what its policy says (block: its replay waits, and once read it is complete;
 * drop-oldest: a gap status and `EventBatch.dropped`, received + dropped = all; disconnect:
 * RESOURCE_EXHAUSTED with MDCAP_ERR_SLOW_CONSUMER); the server's memory is reported and bounded,
 * and it still serves afterwards.
 *
 * The clients speak gRPC over `node:http2` themselves (a request frame, then DATA frames of
 * length-prefixed EventBatch messages, then trailers). The readers hash the encoded events as
 * they arrive, so 49 of them cost this process little and the server is what is measured; the
 * first one's stream is decoded as the Node client decodes it. The stalled subscriber reads
 * nothing at all: its HTTP/2 window (64 KiB) fills and flow control stops the server's writes,
 * as the server's `Stats` shows. (The Node client's own window is 4 MiB, more than this
 * capture's whole stream: it would take everything before it stalled.)
 */

const READERS = 49;
/** The stalled subscriber's queue: tiny, so that it fills on a modest capture. */
const STALLED = { queueBatches: 4, batchEvents: 16 } as const;
const POLICY_PB: Record<QueuePolicy, number> = { block: 0, 'drop-oldest': 1, disconnect: 2 };
const MiB = 1024 * 1024;

// ---- gRPC by hand ---------------------------------------------------------------------------

/** Protobuf fields of `buf`: number, wire type and value (a varint, or the bytes of a length-delimited field). */
function* fields(buf: Uint8Array): Generator<{ field: number; wire: number; int: bigint; bytes: Uint8Array }> {
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  const none = new Uint8Array(0);
  while (pos < buf.length) {
    const tag = Number(varint());
    const wire = tag & 7;
    if (wire === 0) yield { field: tag >>> 3, wire, int: varint(), bytes: none };
    else if (wire === 2) {
      const len = Number(varint());
      yield { field: tag >>> 3, wire, int: 0n, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unexpected wire type ${wire}`);
  }
}

/** A `SubscribeRequest` for a capture replay at speed max (encoded by hand: the readers' request). */
function subscribeBytes(capture: string, o: { policy?: QueuePolicy; queueBatches?: number; batchEvents?: number } = {}): Buffer {
  const w = new ProtoWriter(256);
  w.begin(2); // capture
  w.string(1, capture);
  w.string(2, 'max');
  w.end();
  w.uint32(7, POLICY_PB[o.policy ?? 'block']);
  w.uint32(8, o.queueBatches ?? 0);
  w.uint32(9, o.batchEvents ?? 0);
  return w.take();
}

interface CallResult {
  /** grpc-status and grpc-message of the trailers, and the MDCAP code they carry. */
  readonly status: string;
  readonly message: string;
  readonly mdcapCode: string;
  /** The response messages (kept only when asked). */
  readonly messages: Buffer[];
  /** sha256 of every `EventBatch.events` entry in order (independent of how events were batched). */
  readonly eventsHash: string;
  readonly events: number;
  readonly bytes: number;
}

/**
 * One gRPC call on its own HTTP/2 connection (as a separate client process would make it):
 * sends `request`, reads every response message to the end (`done`). A `paused` call reads
 * nothing until `resume()`: its HTTP/2 stream window (64 KiB, the protocol's default) fills,
 * and from then on the server cannot write to it.
 */
class GrpcCall {
  readonly done: Promise<CallResult>;
  /** Resolves when the server answered with its response headers (the call is under way). */
  readonly answered: Promise<void>;
  private readonly session: ClientHttp2Session;
  private readonly stream: ClientHttp2Stream;

  constructor(address: string, method: string, request: Uint8Array, o: { keep?: boolean; paused?: boolean } = {}) {
    // Readers get a wide window (as the Node client asks for) so that only the server sets their pace.
    const window = o.paused === true ? 65_535 : 4 * MiB;
    this.session = connect(`http://${address}`, { settings: { initialWindowSize: window } });
    if (window > 65_535) this.session.on('connect', () => this.session.setLocalWindowSize(window));
    const stream = this.session.request({
      ':method': 'POST',
      ':path': `/mdcap.v1.MarketData/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.stream = stream;
    if (o.paused === true) stream.pause();
    const frame = Buffer.alloc(5 + request.length);
    frame.writeUInt32BE(request.length, 1);
    frame.set(request, 5);
    stream.end(frame);
    const hash = createHash('sha256');
    const messages: Buffer[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let events = 0;
    let bytes = 0;
    let trailers: IncomingHttpHeaders = {};
    this.answered = new Promise((resolve) => stream.once('response', () => resolve()));
    this.done = new Promise((resolve, reject) => {
      this.session.on('error', reject);
      stream.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) trailers = headers; // trailers-only: an error at once
      });
      stream.on('trailers', (headers: IncomingHttpHeaders) => {
        trailers = headers;
      });
      stream.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 5) {
          const len = pending.readUInt32BE(1);
          if (pending.length < 5 + len) break;
          const msg = pending.subarray(5, 5 + len);
          pending = pending.subarray(5 + len);
          bytes += len;
          if (o.keep === true) messages.push(Buffer.from(msg));
          for (const f of fields(msg)) {
            if (f.field !== 1 || f.wire !== 2) continue;
            hash.update(f.bytes);
            events++;
          }
        }
      });
      stream.on('error', reject);
      stream.on('close', () => {
        this.session.close();
        resolve({
          status: String(trailers['grpc-status'] ?? 'none'),
          message: decodeURIComponent(String(trailers['grpc-message'] ?? '')),
          mdcapCode: String(trailers['mdcap-error-code'] ?? ''),
          messages,
          eventsHash: hash.digest('hex'),
          events,
          bytes,
        });
      });
    });
  }

  resume(): Promise<CallResult> {
    this.stream.resume();
    return this.done;
  }

  close(): void {
    this.session.destroy();
  }
}

/** A unary call or a whole stream, read to the end. */
function grpcCall(address: string, method: string, request: Uint8Array, keep: boolean): Promise<CallResult> {
  return new GrpcCall(address, method, request, { keep }).done;
}

interface SubscriberStats {
  readonly id: bigint;
  readonly source: string;
  readonly policy: number;
  readonly eventsSent: bigint;
  readonly batchesSent: bigint;
  readonly eventsDropped: bigint;
  readonly queuedBatches: number;
  readonly queuedEvents: bigint;
}

/** The server's `Stats`: its subscribers (mdcap.v1.StatsResponse, decoded by hand). */
async function stats(address: string): Promise<{ subscribers: SubscriberStats[]; rssBytes: bigint }> {
  const r = await grpcCall(address, 'Stats', new Uint8Array(0), true);
  expect(r.status, r.message).toBe('0');
  const subscribers: SubscriberStats[] = [];
  let rssBytes = 0n;
  for (const f of fields(r.messages[0] ?? new Uint8Array(0))) {
    if (f.field === 3) rssBytes = f.int;
    if (f.field !== 1) continue;
    const s = { id: 0n, source: '', policy: 0, eventsSent: 0n, batchesSent: 0n, eventsDropped: 0n, queuedBatches: 0, queuedEvents: 0n };
    for (const g of fields(f.bytes)) {
      if (g.field === 1) s.id = g.int;
      else if (g.field === 2) s.source = Buffer.from(g.bytes).toString('utf8');
      else if (g.field === 4) s.policy = Number(g.int);
      else if (g.field === 5) s.eventsSent = g.int;
      else if (g.field === 6) s.batchesSent = g.int;
      else if (g.field === 7) s.eventsDropped = g.int;
      else if (g.field === 8) s.queuedBatches = Number(g.int);
      else if (g.field === 9) s.queuedEvents = g.int;
    }
    subscribers.push(s);
  }
  return { subscribers, rssBytes };
}

/** The capture names `ListSources` gives. */
async function listCaptures(address: string): Promise<string[]> {
  const r = await grpcCall(address, 'ListSources', new Uint8Array(0), true);
  expect(r.status, r.message).toBe('0');
  const names: string[] = [];
  for (const f of fields(r.messages[0] ?? new Uint8Array(0))) {
    if (f.field !== 2) continue;
    for (const g of fields(f.bytes)) if (g.field === 1) names.push(Buffer.from(g.bytes).toString('utf8'));
  }
  return names;
}

/** VmHWM (peak) and VmRSS of a process, in bytes (Linux /proc). */
function memory(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

const lineOf = (item: StreamItem): string => formatEventJson(item as MarketEvent);
const QUEUE_FULL = 'subscriber queue full';

// ---- the test -------------------------------------------------------------------------------

const root = tempDir('serve-backpressure');
const servers: ChildProcess[] = [];
afterAll(() => {
  for (const c of servers) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

describe('mdcap serve: 50 subscribers of one capture, one of them never reads', () => {
  /** `mdcap replay CAP --speed max --json`, as lines; and the events hash one reader's stream must have. */
  let expected: string[];
  let expectedText: string;

  beforeAll(async () => {
    // 15 s of the simulated venue at 2,000 packets/s (some 57,000 events, gaps and resyncs
    // included), one file per kind.
    const events = await simulatedEvents(15, { packetsPerSecond: 2000 });
    await recordEvents(join(root, 'sim'), events);
    const r = mdcap(['replay', join(root, 'sim'), '--speed', 'max', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expectedText = r.stdout;
    expected = r.stdout.split('\n').slice(0, -1);
    expect(expected.length).toBeGreaterThan(40_000);
  });

  /**
   * Starts `mdcap serve --captures` in a child process (its memory is what is measured), the
   * stalled subscriber, then the 49 readers; checks the readers' streams; hands on to `then`
   * with the stalled subscriber still not read. Stops everything at the end, whatever happens.
   */
  async function scenario(
    policy: QueuePolicy,
    then: (ctx: {
      address: string;
      /** Reads the stalled subscriber to its end: its events and statuses, what `EventBatch.dropped` said, how it ended. */
      read: () => Promise<{ items: StreamItem[]; dropped: bigint; end: CallResult }>;
    }) => Promise<void>,
  ): Promise<void> {
    const serve = await mdcapServer(['serve', '--listen', '127.0.0.1:0', '--captures', root, '--json']);
    servers.push(serve.child);
    const pid = serve.child.pid!;
    const { address } = JSON.parse(serve.firstLine) as { address: string };
    const idle = memory(pid);
    const stalled = new GrpcCall(address, 'Subscribe', subscribeBytes('sim', { policy, ...STALLED }), { keep: true, paused: true });
    const readers: GrpcCall[] = [];
    try {
      await stalled.answered; // its replay is under way

      // The 49 readers at once, each to the end of the replay.
      for (let i = 0; i < READERS; i++) readers.push(new GrpcCall(address, 'Subscribe', subscribeBytes('sim'), { keep: i === 0 }));
      const got = await Promise.all(readers.map((r) => r.done));
      expect(got.filter((r) => r.status !== '0').map((r) => `${r.status} ${r.message}`)).toEqual([]);
      // Each got every event: the same encoded events in the same order as the first reader…
      expect(got.filter((r) => r.eventsHash !== got[0]!.eventsHash || r.events !== expected.length).length).toBe(0);
      // …whose stream, decoded as the Node client decodes it, is what `mdcap replay --json` prints.
      const decoded = got[0]!.messages.flatMap((m) => decodeBatch(m).items.map(lineOf));
      expect(decoded.length).toBe(expected.length);
      expect(decoded.map((l) => `${l}\n`).join('') === expectedText).toBe(true);
      const afterReaders = memory(pid);

      let read = false;
      await then({
        address,
        read: async () => {
          read = true;
          const end = await stalled.resume();
          const items: StreamItem[] = [];
          let dropped = 0n;
          for (const m of end.messages) {
            const b = decodeBatch(m, items);
            dropped += b.dropped;
          }
          return { items, dropped, end };
        },
      });
      expect(read, 'the scenario read the stalled subscriber in the end').toBe(true);

      // The server still serves: a new subscriber gets the whole replay, and ListSources answers.
      const again = await grpcCall(address, 'Subscribe', subscribeBytes('sim'), false);
      expect(again.status).toBe('0');
      expect(again.eventsHash).toBe(got[0]!.eventsHash);
      expect(await listCaptures(address)).toEqual(['sim']);

      // Memory. What a subscriber can make the server hold is bounded by construction: its queue
      // (queue_batches batches, plus the few a replay had on their way when told to wait; the Stats
      // checks show the stalled one's stays within that, and that it sends nothing while its
      // client does not read), what its HTTP/2 window lets through,
      // and its replay session's working set (the decoded read-ahead batches of each file of a
      // rotation group, the engine's books) — none of which grows with the length of the capture
      // or with how far behind its client is. So the peak is that of ~50 concurrent replay
      // sessions: about 10 MB each here (up to ~25 MB with files of 65,536 rows and more); 32 MiB
      // per subscriber is a generous bound that still catches a session or queue that keeps what
      // it streams on a capture a few times this size. On this one, the stalled client's whole
      // stream is only a few MB: what proves that the stalled subscriber holds no more than its
      // queue is the server's own accounting (Stats), checked in each variant.
      const end = memory(pid);
      const bound = idle.rss + 50 * 32 * MiB;
      console.log(
        `serve-backpressure [${policy}]: server RSS idle ${(idle.rss / MiB).toFixed(0)} MiB, after the 49 readers ${(afterReaders.rss / MiB).toFixed(0)} MiB, ` +
          `at the end ${(end.rss / MiB).toFixed(0)} MiB; peak (VmHWM) ${(end.hwm / MiB).toFixed(0)} MiB (bound ${(bound / MiB).toFixed(0)} MiB); ` +
          `a reader's stream: ${expected.length} events, ${(got[0]!.bytes / MiB).toFixed(1)} MiB`,
      );
      expect(end.hwm).toBeLessThan(bound);
    } finally {
      stalled.close();
      for (const r of readers) r.close();
      serve.child.kill('SIGTERM');
    }
  }

  /** The stalled subscriber as `Stats` lists it (none once its replay ended or it was cut). */
  async function stalledStats(address: string, policy: QueuePolicy): Promise<SubscriberStats | null> {
    const s = (await stats(address)).subscribers.filter((x) => x.policy === POLICY_PB[policy]);
    expect(s.length).toBeLessThanOrEqual(1);
    return s[0] ?? null;
  }

  const queueFull = (e: StreamItem): boolean => e.type === 'status' && e.kind === 'gap' && e.detail.startsWith(QUEUE_FULL);

  it('block: the stalled subscriber’s replay waits while the 49 finish; read later, it is complete', { timeout: 300_000 }, async () => {
    await scenario('block', async ({ address, read }) => {
      // Its replay is held: the 49 went through the whole capture, this one is far from the end,
      // its queue within its bound…
      const a = await stalledStats(address, 'block');
      expect(a).not.toBeNull();
      expect(a!.source).toBe('capture:sim');
      expect(Number(a!.eventsSent)).toBeLessThan(expected.length / 2);
      // A replay worker sends a batch only for one that left the queue: never more than queue_batches.
      expect(a!.queuedBatches).toBeLessThanOrEqual(STALLED.queueBatches);
      expect(a!.eventsDropped).toBe(0n);
      // …and stays held: a whole replay to another subscriber later, it has sent nothing more.
      const other = await grpcCall(address, 'Subscribe', subscribeBytes('sim'), false);
      expect(other.events).toBe(expected.length);
      expect(await stalledStats(address, 'block')).toEqual(a);
      console.log(
        `serve-backpressure [block]: the stalled subscriber held at ${a!.eventsSent} events sent, ${a!.queuedBatches} batches queued (queue_batches ${STALLED.queueBatches})`,
      );
      // Read now, it gets everything, identical to mdcap replay.
      const { items, dropped, end } = await read();
      expect(end.status).toBe('0');
      expect(dropped).toBe(0n);
      const lines = items.map(lineOf);
      expect(lines.length).toBe(expected.length);
      expect(lines.map((l) => `${l}\n`).join('') === expectedText).toBe(true);
    });
  });

  it(
    'drop-oldest: the stalled subscriber loses the oldest batches and is told so (a gap status, EventBatch.dropped)',
    { timeout: 300_000 },
    async () => {
      await scenario('drop-oldest', async ({ address, read }) => {
        // Its replay runs on at full speed and drops what its queue cannot hold (if Stats still
        // lists it: its replay may be over already, and then all that is left is its queue).
        const s = await stalledStats(address, 'drop-oldest');
        if (s !== null) {
          expect(s.queuedBatches).toBeLessThanOrEqual(STALLED.queueBatches);
          expect(Number(s.eventsSent)).toBeLessThan(expected.length / 2);
          expect(s.eventsDropped).toBeGreaterThan(0n);
        }
        // Its replay is over when what it sent, dropped and holds is the whole capture (it stays
        // listed until its client has what is queued).
        await waitFor(
          async () => {
            const x = await stalledStats(address, 'drop-oldest');
            return x !== null && Number(x.eventsSent) + Number(x.eventsDropped) + Number(x.queuedEvents) === expected.length;
          },
          {
            what: 'the end of the stalled drop-oldest subscriber’s replay',
            deadlineMs: 120_000,
            everyMs: 100,
          },
        );
        const { items, dropped, end } = await read();
        expect(end.status).toBe('0');
        const gaps = items.filter(queueFull);
        const told = gaps.map((e) => Number(/(\d+) events dropped/.exec((e as { detail: string }).detail)?.[1]));
        expect(gaps.length).toBeGreaterThan(0);
        expect(dropped).toBeGreaterThan(0n);
        expect(told.reduce((a, b) => a + b, 0)).toBe(Number(dropped));
        // What it received is the replay with runs left out, in order; received + dropped = all.
        const kept = items.filter((e) => !queueFull(e)).map(lineOf);
        expect(kept.length + Number(dropped)).toBe(expected.length);
        let j = 0;
        for (const line of kept) {
          while (j < expected.length && expected[j] !== line) j++;
          expect(j, `a received event out of replay order: ${line}`).toBeLessThan(expected.length);
          j++;
        }
        console.log(
          `serve-backpressure [drop-oldest]: the stalled subscriber received ${kept.length} events and ${gaps.length} gap statuses; ${dropped} dropped`,
        );
      });
    },
  );

  it('disconnect: the stalled subscriber is cut with RESOURCE_EXHAUSTED and MDCAP_ERR_SLOW_CONSUMER', { timeout: 300_000 }, async () => {
    await scenario('disconnect', async ({ address, read }) => {
      // Cut: it is no longer a subscriber…
      expect(await stalledStats(address, 'disconnect')).toBeNull();
      // …and reading now gives what had reached the client, then the status.
      const { items, dropped, end } = await read();
      expect(end.status).toBe('8'); // RESOURCE_EXHAUSTED
      expect(end.mdcapCode).toBe('MDCAP_ERR_SLOW_CONSUMER');
      expect(end.message).toMatch(/^MDCAP_ERR_SLOW_CONSUMER: policy disconnect: expected the subscriber to keep its queue below 4 batches/);
      expect(dropped).toBe(0n);
      const got = items.map(lineOf);
      expect(got.length).toBeGreaterThan(0);
      expect(got.length).toBeLessThan(expected.length);
      expect(got).toEqual(expected.slice(0, got.length)); // a prefix: nothing was dropped before the cut
    });
  });
});
