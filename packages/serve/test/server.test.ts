import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { formatEventJson } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { MarketDataServer, subscribe, subscribeBatches } from '@mdcap/serve';
import type { StreamItem, SubscribeOptions } from '@mdcap/serve';
import { recordEvents, simulatedEvents, tempDir, waitFor } from '@mdcap/test-utils';
import { service as healthService } from 'grpc-health-check';
import { SimProvider } from '@mdcap/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketDataClient } from '../src/gen/mdcap/v1/market_data.js';
import type { CaptureDescription, ListSourcesResponse, StatsResponse } from '../src/gen/mdcap/v1/market_data.js';
import { rawMethod } from '../src/raw-method.js';

/**
 * The server in-process: bad requests and what they answer, auth, TLS, health, reflection,
 * metrics and stats, instruments, a live demo feed. Parity with `mdcap replay` is
 * test/integration/serve-parity.test.ts; fan-out and backpressure have their own files.
 */

let root: string;
let events: MarketEvent[];
let server: MarketDataServer;

beforeAll(async () => {
  root = tempDir('serve');
  events = await simulatedEvents(10, { faults: { gapEvery: 150 } });
  await recordEvents(join(root, 'sim'), events, { instruments: new SimProvider({ seed: 3 }).instruments() });
  server = await MarketDataServer.start({
    listen: '127.0.0.1:0',
    captures: root,
    metrics: '127.0.0.1:0',
    feeds: [{ feed: 'demo', symbols: ['AAPL', 'MSFT'], rate: 500, bars: [1] }],
  });
});

afterAll(async () => {
  await server?.close();
});

async function collect(address: string, o: SubscribeOptions): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for await (const e of subscribe(address, o)) out.push(e);
  return out;
}

async function failure(address: string, o: SubscribeOptions): Promise<{ code: string; grpc: unknown; message: string; received: number }> {
  let received = 0;
  try {
    for await (const _ of subscribe(address, o)) received++;
  } catch (e) {
    const err = e as { code: string; details: { grpcCode: unknown }; message: string };
    return { code: err.code, grpc: err.details.grpcCode, message: err.message, received };
  }
  throw new Error(`expected ${JSON.stringify(o)} to fail, it streamed ${received} items`);
}

const lines = (items: readonly StreamItem[]): string[] => items.map((e) => formatEventJson(e as MarketEvent));

describe('mdcap serve: requests it cannot serve get a status code and the MDCAP code; the server stays up', () => {
  const cases: [string, SubscribeOptions, string, grpc.status][] = [
    ['an unknown capture', { capture: 'nope' }, 'MDCAP_ERR_SOURCE_NOT_FOUND', grpc.status.NOT_FOUND],
    ['a path instead of a capture name', { capture: '../sim' }, 'MDCAP_ERR_BAD_REQUEST', grpc.status.INVALID_ARGUMENT],
    ['an unknown live feed', { live: 'kraken' }, 'MDCAP_ERR_SOURCE_NOT_FOUND', grpc.status.NOT_FOUND],
    ['an unknown symbol', { capture: 'sim', symbols: ['AAPL', 'TSLA'] }, 'MDCAP_ERR_UNKNOWN_SYMBOL', grpc.status.NOT_FOUND],
    ['an unknown live symbol', { live: 'demo', symbols: ['BTC-USD'] }, 'MDCAP_ERR_UNKNOWN_SYMBOL', grpc.status.NOT_FOUND],
    ['a bad speed', { capture: 'sim', speed: 'fast' }, 'MDCAP_ERR_INVALID_OPTION', grpc.status.INVALID_ARGUMENT],
    ['a negative speed', { capture: 'sim', speed: '-2x' }, 'MDCAP_ERR_INVALID_OPTION', grpc.status.INVALID_ARGUMENT],
    ['a bar interval of 0', { capture: 'sim', bars: [0] }, 'MDCAP_ERR_BAR_INTERVAL', grpc.status.INVALID_ARGUMENT],
    ['kind BAR without intervals', { capture: 'sim', kinds: ['trade', 'bar'] }, 'MDCAP_ERR_BAD_REQUEST', grpc.status.INVALID_ARGUMENT],
    ['bars a live feed does not build', { live: 'demo', bars: [60] }, 'MDCAP_ERR_BAD_REQUEST', grpc.status.INVALID_ARGUMENT],
    ['a reversed range', { capture: 'sim', from: 2n, to: 1n }, 'MDCAP_ERR_REPLAY_RANGE', grpc.status.INVALID_ARGUMENT],
    ['no source', {}, 'MDCAP_ERR_BAD_REQUEST', grpc.status.INVALID_ARGUMENT],
    ['snapshots without a depth', { capture: 'sim', kinds: ['snapshot'] }, 'MDCAP_ERR_BAD_REQUEST', grpc.status.INVALID_ARGUMENT],
    ['a queue too large', { capture: 'sim', queueBatches: 1e6 }, 'MDCAP_ERR_BAD_REQUEST', grpc.status.INVALID_ARGUMENT],
  ];
  for (const [what, o, code, status] of cases) {
    it(`${what}: ${grpc.status[status]} with ${code}, nothing streamed`, async () => {
      const f = await failure(server.address, o);
      expect(f).toMatchObject({ code, grpc: status, received: 0 });
      expect(f.message).toMatch(/expected .+, found /);
    });
  }

  it('bytes that are not a SubscribeRequest: INVALID_ARGUMENT with MDCAP_ERR_BAD_REQUEST in the trailers and the rich status', async () => {
    const Raw = grpc.makeGenericClientConstructor({ Subscribe: rawMethod('/mdcap.v1.MarketData/Subscribe', false, true) }, 'raw');
    const client = new Raw(server.address, grpc.credentials.createInsecure());
    const call = (client as unknown as { Subscribe(b: Buffer): grpc.ClientReadableStream<Buffer> }).Subscribe(
      Buffer.from([0x0a, 0xff, 0xff]),
    );
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    client.close();
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get('mdcap-error-code')).toEqual(['MDCAP_ERR_BAD_REQUEST']);
    expect(err.details).toMatch(/^MDCAP_ERR_BAD_REQUEST: expected a mdcap\.v1\.SubscribeRequest/);
    const rich = err.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(rich.includes('type.googleapis.com/google.rpc.ErrorInfo')).toBe(true);
    expect(rich.includes('MDCAP_ERR_BAD_REQUEST')).toBe(true);
  });

  it('a client that leaves mid-stream ends its session; the next one is served in full', async () => {
    let seen = 0;
    for await (const batch of subscribeBatches(server.address, { capture: 'sim', speed: '1x', batchEvents: 16 })) {
      seen += batch.length;
      if (seen >= 32) break;
    }
    await waitFor(() => server.stats().subscribers === 0, { what: 'the left subscription to be cleaned up' });
    const all = await collect(server.address, { capture: 'sim' });
    expect(lines(all)).toEqual(events.map(formatEventJson));
  });
});

describe('mdcap serve: what a subscription can ask for', () => {
  it('kinds, symbols and a time range select from the same stream', async () => {
    const from = events[Math.floor(events.length / 3)]!.tsRecv;
    const to = events[Math.floor((2 * events.length) / 3)]!.tsRecv;
    const got = await collect(server.address, { capture: 'sim', kinds: ['trade', 'status'], symbols: ['AAPL'], from, to });
    const want = events.filter(
      (e) => (e.type === 'trade' || e.type === 'status') && (e.symbol === 'AAPL' || e.symbol === '*') && e.tsRecv >= from && e.tsRecv < to,
    );
    expect(want.some((e) => e.type === 'status')).toBe(true);
    // A replay that starts inside the capture says so first, as `mdcap replay --from` does.
    expect(got[0]).toMatchObject({ type: 'status', kind: 'gap', symbol: '*', detail: expect.stringMatching(/^replay starts at /) });
    expect(lines(got.slice(1))).toEqual(want.map(formatEventJson));
  });

  it("kind instrument sends each symbol's definition first", async () => {
    const got = await collect(server.address, { capture: 'sim', kinds: ['instrument', 'trade'], symbols: ['MSFT'] });
    expect(got[0]).toMatchObject({ type: 'instrument', instrument: { symbol: 'MSFT' } });
    expect(got.filter((e) => e.type === 'instrument')).toHaveLength(1);
    expect(got.slice(1).every((e) => e.type === 'trade' && e.symbol === 'MSFT')).toBe(true);
  });

  it('a live feed: events as they come, bars of the intervals it builds, health SERVING', async () => {
    const got: StreamItem[] = [];
    for await (const e of subscribe(server.address, { live: 'demo', bars: [1], symbols: ['AAPL'] })) {
      got.push(e);
      if (got.filter((x) => x.type === 'bar').length >= 2) break;
    }
    expect(got.filter((e) => e.type === 'trade').length).toBeGreaterThan(0);
    expect(got.every((e) => e.type === 'instrument' || e.symbol === 'AAPL' || e.symbol === '*')).toBe(true);
  });
});

describe('mdcap serve: operations', () => {
  it('the standard health service answers SERVING, without a token', async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const client = new Health(server.address, grpc.credentials.createInsecure()) as unknown as {
      check(req: { service: string }, cb: (e: Error | null, r: { status: string | number }) => void): void;
      close(): void;
    };
    const r = await new Promise<{ status: string | number }>((resolve, reject) =>
      client.check({ service: 'mdcap.v1.MarketData' }, (e, res) => (e === null ? resolve(res) : reject(e))),
    );
    client.close();
    expect(r.status === 'SERVING' || r.status === 1).toBe(true);
  });

  it('server reflection lists mdcap.v1.MarketData (what grpcurl asks first)', async () => {
    const Reflection = grpc.makeGenericClientConstructor(
      { Info: rawMethod('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', true, true) },
      'Reflection',
    );
    const client = new Reflection(server.address, grpc.credentials.createInsecure());
    const call = (client as unknown as { Info(): grpc.ClientDuplexStream<Buffer, Buffer> }).Info();
    // ServerReflectionRequest { list_services = 7: "" }
    const reply = new Promise<Buffer>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write(Buffer.from([0x3a, 0x00]));
    const bytes = await reply;
    call.end();
    client.close();
    expect(bytes.includes('mdcap.v1.MarketData')).toBe(true);
  });

  it('Stats, /metrics, ListSources and DescribeCapture describe what was served', async () => {
    await collect(server.address, { capture: 'sim' });
    const client = new MarketDataClient(server.address, grpc.credentials.createInsecure());
    const stats = await new Promise<StatsResponse>((resolve, reject) =>
      client.stats({ resetLatency: false }, (e, r) => (e === null ? resolve(r) : reject(e))),
    );
    const byStage = new Map(stats.latency.map((l) => [l.stage, l]));
    expect(byStage.get('dispatch_to_encoded')!.count).toBeGreaterThan(0n);
    expect(byStage.get('encoded_to_socket')!.count).toBeGreaterThan(0n);
    expect(byStage.get('recv_to_dispatch')!.count).toBeGreaterThan(0n); // the live demo feed
    // dispatch → socket per event, also for replays on a worker (their dispatch times travel with the batch)
    expect(byStage.get('dispatch_to_socket')!.count).toBe(byStage.get('encoded_to_socket')!.count);
    expect(byStage.get('dispatch_to_socket')!.p99).toBeGreaterThanOrEqual(byStage.get('encoded_to_socket')!.p50);
    expect(stats.rssBytes).toBeGreaterThan(0n);
    // reset_latency: answered with the totals, then the histograms start afresh (counters stay)
    const reset = await new Promise<StatsResponse>((resolve, reject) =>
      client.stats({ resetLatency: true }, (e, r) => (e === null ? resolve(r) : reject(e))),
    );
    expect(reset.latency.find((l) => l.stage === 'dispatch_to_encoded')!.count).toBeGreaterThanOrEqual(
      byStage.get('dispatch_to_encoded')!.count,
    );
    const after = await new Promise<StatsResponse>((resolve, reject) =>
      client.stats({ resetLatency: false }, (e, r) => (e === null ? resolve(r) : reject(e))),
    );
    const afterBy = new Map(after.latency.map((l) => [l.stage, l]));
    expect(afterBy.get('dispatch_to_encoded')!.count).toBe(0n);
    expect(afterBy.get('dispatch_to_socket')!.count).toBe(0n);
    expect(afterBy.get('recv_to_dispatch')!.count).toBeLessThan(reset.latency.find((l) => l.stage === 'recv_to_dispatch')!.count);
    const text = await (await fetch(`http://${server.metricsAddress!}/metrics`)).text();
    expect(text).toMatch(/^mdcap_serve_stage_latency_seconds\{stage="dispatch_to_encoded",quantile="0\.99"\} [0-9.e-]+$/m);
    expect(Number(/^mdcap_serve_events_sent_total (\d+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(events.length);
    const sources = await new Promise<ListSourcesResponse>((resolve, reject) =>
      client.listSources({}, (e, r) => (e === null ? resolve(r) : reject(e))),
    );
    expect(sources.captures.map((c) => c.capture)).toEqual(['sim']);
    expect(sources.live).toMatchObject([{ feed: 'demo', symbols: ['AAPL', 'MSFT'] }]);
    const d = await new Promise<CaptureDescription>((resolve, reject) =>
      client.describeCapture({ capture: 'sim' }, (e, r) => (e === null ? resolve(r) : reject(e))),
    );
    expect(d.rows).toBe(BigInt(events.length));
    expect(d.gaps.length).toBeGreaterThan(0);
    expect(d.instruments.map((i) => i.symbol).sort()).toEqual([...d.symbols].sort());
    const missing = await new Promise<grpc.ServiceError>((resolve) => client.describeCapture({ capture: 'nope' }, (e) => resolve(e!)));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    client.close();
  });
});

describe('mdcap serve: a token and TLS', () => {
  let secure: MarketDataServer;
  let cert: Buffer;
  beforeAll(async () => {
    const dir = tempDir('tls');
    execFileSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    const { readFileSync } = await import('node:fs');
    cert = readFileSync(join(dir, 'cert.pem'));
    secure = await MarketDataServer.start({
      listen: '127.0.0.1:0',
      captures: root,
      token: 's3cret',
      tls: { cert, key: readFileSync(join(dir, 'key.pem')) },
    });
  });
  afterAll(async () => {
    await secure?.close();
  });

  it('without the token: UNAUTHENTICATED and nothing streamed; a wrong token likewise', async () => {
    expect(await failure(secure.address, { capture: 'sim', tlsRoot: cert })).toMatchObject({
      code: 'MDCAP_ERR_UNAUTHENTICATED',
      grpc: grpc.status.UNAUTHENTICATED,
      received: 0,
    });
    expect(await failure(secure.address, { capture: 'sim', tlsRoot: cert, token: 'guess' })).toMatchObject({
      code: 'MDCAP_ERR_UNAUTHENTICATED',
      received: 0,
    });
  });

  it('with the token, over TLS: the whole capture', async () => {
    const got = await collect(secure.address, { capture: 'sim', tlsRoot: cert, token: 's3cret' });
    expect(lines(got)).toEqual(events.map(formatEventJson));
  });

  it('a plaintext client cannot talk to the TLS server', async () => {
    const f = await failure(secure.address, { capture: 'sim', token: 's3cret' });
    expect(f.grpc).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('mdcap serve: stopping', () => {
  it('a replay cut by the server stopping ends with UNAVAILABLE and MDCAP_ERR_SHUTDOWN, never as if it were complete', async () => {
    const s = await MarketDataServer.start({ listen: '127.0.0.1:0', captures: root });
    const seen: StreamItem[] = [];
    const outcome = (async () => {
      try {
        for await (const e of subscribe(s.address, { capture: 'sim', speed: '1x', batchEvents: 8 })) seen.push(e);
        return null;
      } catch (e) {
        return e as { code: string; details: { grpcCode: unknown } };
      }
    })();
    await waitFor(() => seen.length > 0, { what: 'the replay to stream' });
    await s.close();
    const err = await outcome;
    expect(err).toMatchObject({ code: 'MDCAP_ERR_SHUTDOWN', details: { grpcCode: grpc.status.UNAVAILABLE } });
    expect(seen.length).toBeLessThan(events.length);
    expect(lines(seen)).toEqual(events.slice(0, seen.length).map(formatEventJson));
  });
});
