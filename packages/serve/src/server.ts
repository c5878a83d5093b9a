import { timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { readManifest } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { ConfigError, MdcapError } from '@mdcap/core';
import type { Clock, Instrument } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { openFeed } from '@mdcap/pipeline';
import type { FeedSpec, OpenedFeed } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { Fanout } from './fanout.js';
import { ReplayPool } from './pool.js';
import { rawMethod } from './raw-method.js';
import { ReplaySession } from './session.js';
import type { ReplaySpec } from './session.js';
import type { Selection } from './fanout.js';
import { FILE_DESCRIPTOR_SET } from './gen/descriptor.js';
import {
  CaptureDescription,
  DescribeCaptureRequest,
  ListSourcesResponse,
  QueuePolicy as PbPolicy,
  StatsRequest,
  StatsResponse,
} from './gen/mdcap/v1/market_data.js';
import type { Instrument as PbInstrument } from './gen/mdcap/v1/events.js';
import { LatencyStages, monotonicNs, prometheusText } from './metrics.js';
import type { Monotonic, ServerCounters, StageSummary } from './metrics.js';
import { checkSymbols, decodeSubscribeRequest, planReplay, planStream } from './request.js';
import type { StreamPlan } from './request.js';
import { toServiceError } from './status.js';
import { recordDispatch, Subscriber } from './subscriber.js';
import type { QueuePolicy, SendTotals } from './subscriber.js';
import { serveTrade } from './trade.js';

/** A live feed the server runs once and fans out to every subscriber. */
export interface LiveFeedOptions extends FeedSpec {
  /** Bar intervals (s) the feed's engine builds; subscribers choose among them. */
  readonly bars?: readonly number[];
  readonly barGraceMs?: number;
}

export interface ServeOptions {
  /** `host:port` (port 0: any free one). Default `127.0.0.1:50051`. */
  readonly listen?: string;
  /** A directory whose subdirectories are captures, each replayable by name. */
  readonly captures?: string;
  readonly feeds?: readonly LiveFeedOptions[];
  /** Every call but health checks and reflection must carry `authorization: Bearer <token>`. */
  readonly token?: string;
  /** PEM key and certificate chain: serve TLS instead of plaintext. */
  readonly tls?: { readonly key: Buffer | string; readonly cert: Buffer | string };
  /** `host:port` of a Prometheus `GET /metrics` endpoint. */
  readonly metrics?: string;
  /**
   * Worker threads that run capture replays (each subscriber's ReplayProvider, engine and
   * encoder), leaving the main thread to write to sockets and run live feeds. Default: one per
   * core but one, at least one; 0 runs replays on the main thread.
   */
  readonly replayThreads?: number;
  /**
   * `Trade` calls running at once (each has a worker thread of its own); one more is refused
   * with RESOURCE_EXHAUSTED (MDCAP_ERR_BUSY) before it starts anything. Default 16.
   */
  readonly maxTrades?: number;
  /** Monotonic ns for the latency stages (tests inject one). */
  readonly monotonic?: Monotonic;
  /** Errors of the live feeds' engines (a reconnect that failed, a malformed message): the CLI prints them. */
  readonly onError?: (error: MdcapError) => void;
}

interface LiveHub {
  readonly name: string;
  readonly feed: OpenedFeed;
  readonly engine: RealtimeEngine;
  readonly fanout: Fanout;
  readonly symbols: readonly string[];
  readonly bars: ReadonlySet<number>;
}

interface Active {
  readonly id: number;
  readonly sub: Subscriber;
  /** Stops the subscription's own source (a replay's engine) when the server closes. */
  readonly stop: (() => void) | null;
  /** Ends the call with an error status. */
  readonly fail: (error: unknown) => void;
  readonly source: string;
  readonly peer: string;
  readonly policy: QueuePolicy;
}

const POLICY_PB: Record<QueuePolicy, PbPolicy> = {
  block: PbPolicy.QUEUE_POLICY_BLOCK,
  'drop-oldest': PbPolicy.QUEUE_POLICY_DROP_OLDEST,
  disconnect: PbPolicy.QUEUE_POLICY_DISCONNECT,
};

/** The service with raw bytes in and out: requests are decoded (and refused) by the handlers. */
const SERVICE: grpc.ServiceDefinition = {
  Subscribe: { ...rawMethod('/mdcap.v1.MarketData/Subscribe', false, true), originalName: 'subscribe' },
  ListSources: rawMethod('/mdcap.v1.MarketData/ListSources', false, false),
  DescribeCapture: rawMethod('/mdcap.v1.MarketData/DescribeCapture', false, false),
  Stats: rawMethod('/mdcap.v1.MarketData/Stats', false, false),
  Trade: { ...rawMethod('/mdcap.v1.MarketData/Trade', true, true), originalName: 'trade' },
};

function parseAddress(flag: string, text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d+)$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `${flag}: expected host:port such as 127.0.0.1:50051 (port 0: any free one), found ${JSON.stringify(text)}`,
    );
  }
  return { host: m[1]!, port };
}

/**
 * `mdcap serve` as a library: a gRPC server streaming live feeds (run once, fanned out) and
 * captures (a replay session per subscriber) in the contract of proto/mdcap/v1. See docs/serve.md.
 *
 * ```ts
 * await using server = await MarketDataServer.start({ captures: 'caps', listen: '127.0.0.1:0' });
 * for await (const e of subscribe(server.address, { capture: 'demo' })) console.log(e);
 * ```
 */
export class MarketDataServer {
  private readonly grpcServer = new grpc.Server({ 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  private readonly hubs = new Map<string, LiveHub>();
  private readonly active = new Map<number, Active>();
  /** Running Trade calls: each ends with the error given. */
  private readonly trades = new Set<(error: MdcapError) => void>();
  private readonly maxTrades: number;
  private readonly stages = new LatencyStages();
  private readonly mono: Monotonic;
  private readonly token: Buffer | null;
  private readonly pool: ReplayPool | null;
  private metricsServer: HttpServer | null = null;
  private nextId = 1;
  private counters = { subscriptionsTotal: 0, disconnectedSlow: 0, rejected: 0 };
  private readonly totals: SendTotals = { eventsSent: 0, batchesSent: 0, eventsDropped: 0 };
  private closing: Promise<void> | null = null;
  /** `host:port` the server listens on (the port resolved when 0 was asked). */
  address = '';
  /** `host:port` of `GET /metrics`, or null. */
  metricsAddress: string | null = null;

  private constructor(private readonly options: ServeOptions) {
    this.mono = options.monotonic ?? monotonicNs;
    this.token = options.token === undefined ? null : Buffer.from(options.token);
    const threads = options.replayThreads ?? Math.max(1, availableParallelism() - 1);
    if (!Number.isInteger(threads) || threads < 0 || threads > 256) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `replayThreads: expected a whole number from 0 to 256, found ${String(threads)}`);
    }
    this.pool = threads === 0 ? null : new ReplayPool(threads);
    this.maxTrades = options.maxTrades ?? 16;
    if (!Number.isInteger(this.maxTrades) || this.maxTrades < 0 || this.maxTrades > 4096) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `maxTrades: expected a whole number from 0 to 4096, found ${String(options.maxTrades)}`,
      );
    }
  }

  static async start(options: ServeOptions = {}): Promise<MarketDataServer> {
    const s = new MarketDataServer(options);
    try {
      await s.open();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  private async open(): Promise<void> {
    const o = this.options;
    if (o.captures !== undefined && !(existsSync(o.captures) && statSync(o.captures).isDirectory())) {
      throw new MdcapError(
        'MDCAP_ERR_CAPTURE_NOT_FOUND',
        `--captures: expected a directory of captures, found ${JSON.stringify(o.captures)}, which is not one`,
      );
    }
    const listen = parseAddress('--listen', o.listen ?? '127.0.0.1:50051');
    const metrics = o.metrics === undefined ? null : parseAddress('--metrics', o.metrics);
    for (const spec of o.feeds ?? []) await this.startFeed(spec);

    this.grpcServer.addService(SERVICE, {
      Subscribe: (call: grpc.ServerWritableStream<Buffer, Buffer>) => this.subscribe(call),
      ListSources: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        this.unary(call, cb, () => Buffer.from(ListSourcesResponse.encode(this.listSources()).finish())),
      DescribeCapture: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        this.unary(call, cb, () =>
          Buffer.from(
            CaptureDescription.encode(
              this.describe(decodeRequest(DescribeCaptureRequest, 'DescribeCaptureRequest', call.request).capture),
            ).finish(),
          ),
        ),
      Stats: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        this.unary(call, cb, () => {
          const req = decodeRequest(StatsRequest, 'StatsRequest', call.request);
          const answer = Buffer.from(StatsResponse.encode(this.statsResponse()).finish());
          if (req.resetLatency) this.stages.reset();
          return answer;
        }),
      Trade: (call: grpc.ServerDuplexStream<Buffer, Buffer>) =>
        serveTrade(call, {
          authorize: (metadata) => this.authorize(metadata),
          capture: (name) => this.capture(name),
          reject: (error) => this.reject(error),
          track: (stop) => {
            if (this.trades.size >= this.maxTrades) {
              throw new MdcapError(
                'MDCAP_ERR_BUSY',
                `Trade: expected a free place for the call, found ${this.trades.size} of ${this.maxTrades} running (mdcap serve --max-trades)`,
              );
            }
            this.trades.add(stop);
            return () => void this.trades.delete(stop);
          },
        }),
    });
    const health = new HealthImplementation({ '': 'SERVING', 'mdcap.v1.MarketData': 'SERVING' });
    health.addToServer(this.grpcServer);
    new ReflectionService(loadFileDescriptorSetFromBuffer(Buffer.from(FILE_DESCRIPTOR_SET, 'base64'))).addToServer(this.grpcServer);

    const creds =
      o.tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(o.tls.key), cert_chain: Buffer.from(o.tls.cert) }]);
    const port = await new Promise<number>((resolve, reject) =>
      this.grpcServer.bindAsync(`${listen.host}:${listen.port}`, creds, (err, p) => (err === null ? resolve(p) : reject(err))),
    ).catch((e: unknown) => {
      throw new MdcapError(
        'MDCAP_ERR_ADDRESS',
        `--listen: cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message} (choose another port; 0 picks a free one)`,
        { cause: e },
      );
    });
    this.address = `${listen.host}:${port}`;
    if (metrics !== null) await this.startMetrics(metrics.host.replace(/^\[|\]$/g, ''), metrics.port);
  }

  private async startMetrics(host: string, port: number): Promise<void> {
    const http = createServer((req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?') === true)) {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(prometheusText(this.counterSnapshot(), this.stages.summary()));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('mdcap serve: GET /metrics\n');
      }
    });
    this.metricsServer = http;
    await new Promise<void>((resolve, reject) => {
      http.once('error', (e) =>
        reject(new MdcapError('MDCAP_ERR_ADDRESS', `--metrics: cannot listen on ${host}:${port}: ${e.message}`, { cause: e })),
      );
      http.listen(port, host, () => resolve());
    });
    const a = http.address();
    this.metricsAddress = typeof a === 'object' && a !== null ? `${host.includes(':') ? `[${host}]` : host}:${a.port}` : null;
  }

  private async startFeed(spec: LiveFeedOptions): Promise<void> {
    if (this.hubs.has(spec.feed))
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `--feed: expected each feed once, found ${spec.feed} twice`);
    const feed = openFeed(spec);
    const engine = new RealtimeEngine(feed.provider, { barGraceMs: spec.barGraceMs ?? 250 });
    const bars = [...new Set(spec.bars ?? [])];
    if (bars.length > 0) engine.setBarInterval(...bars);
    const fanout = new Fanout(engine, feed.clock, this.stages, true);
    const onError = this.options.onError;
    if (onError !== undefined) engine.onError(onError);
    this.hubs.set(spec.feed, { name: spec.feed, feed, engine, fanout, symbols: [...spec.symbols], bars: new Set(bars) });
    await engine.start(spec.symbols);
  }

  // ---- calls --------------------------------------------------------------------------------

  private authorize(metadata: grpc.Metadata): void {
    if (this.token === null) return;
    const header = metadata.get('authorization')[0];
    const m = typeof header === 'string' ? /^Bearer (.+)$/i.exec(header.trim()) : null;
    const given = m === null ? null : Buffer.from(m[1]!);
    if (given === null || given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
      throw new MdcapError(
        'MDCAP_ERR_UNAUTHENTICATED',
        given === null
          ? 'expected metadata authorization: Bearer <token>, found none'
          : 'expected the bearer token the server was started with, found another',
      );
    }
  }

  private reject(error: unknown): ReturnType<typeof toServiceError> {
    this.counters.rejected++;
    return toServiceError(error);
  }

  private unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>, answer: () => Buffer): void {
    try {
      this.authorize(call.metadata);
      cb(null, answer());
    } catch (e) {
      cb(this.reject(e));
    }
  }

  private subscribe(call: grpc.ServerWritableStream<Buffer, Buffer>): void {
    let plan: StreamPlan;
    let req;
    try {
      this.authorize(call.metadata);
      req = decodeSubscribeRequest(call.request);
      plan = planStream(req);
      if (req.source === undefined) throw new MdcapError('MDCAP_ERR_BAD_REQUEST', 'source: expected live or capture, found neither');
    } catch (e) {
      call.emit('error', this.reject(e));
      return;
    }
    const source = req.source;
    const run = source.$case === 'capture' ? this.replaySession(call, plan, source.value) : this.liveSession(call, plan, source.value);
    run.catch((e: unknown) => {
      if (!call.cancelled) call.emit('error', this.reject(e));
    });
  }

  private register(
    call: grpc.ServerWritableStream<Buffer, Buffer>,
    sub: Subscriber,
    source: string,
    policy: QueuePolicy,
    stop: (() => void) | null,
  ): () => void {
    const id = this.nextId++;
    const fail = (error: unknown): void => void call.emit('error', toServiceError(error));
    this.active.set(id, { id, sub, source, peer: call.getPeer(), policy, stop, fail });
    this.counters.subscriptionsTotal++;
    return () => void this.active.delete(id);
  }

  private async replaySession(
    call: grpc.ServerWritableStream<Buffer, Buffer>,
    plan: StreamPlan,
    src: { capture: string; speed: string; from?: bigint | undefined; to?: bigint | undefined; symbols: string[] },
  ): Promise<void> {
    const { dir, manifest } = this.capture(src.capture);
    const r = planReplay(src, { symbols: manifest.symbols, name: src.capture });
    const spec: ReplaySpec = {
      dir,
      speed: r.speed,
      from: r.from,
      to: r.to,
      symbols: r.symbols,
      selection: { ...plan.selection, symbols: src.symbols.length === 0 ? null : new Set(r.symbols) },
      intervals: plan.intervals,
      graceMs: plan.graceMs,
      barTimestamp: plan.barTimestamp,
    };
    // The source: a session here, or one on a replay worker.
    let control: { pause(): void; resume(): void; stop(): void; credit?(n: number): void };
    let unregister = (): void => undefined;
    const block = plan.subscriber.policy === 'block';
    let clock = (): bigint => 0n;
    let finished: Promise<MdcapError | null>;
    let start = (): void => undefined;
    const hooks = {
      now: () => clock(),
      venue: manifest.feed,
      pause: () => control.pause(),
      resume: () => control.resume(),
      overflow: () => {
        this.counters.disconnectedSlow++;
        sub.close();
        call.emit('error', this.reject(slowConsumer(plan)));
        control.stop();
      },
      // block: a replay worker sends a batch for each one that leaves the queue, so the queue
      // holds at most queue_batches; under the other policies a replay never waits for its client.
      taken: (n: number) => {
        if (block) control.credit?.(n);
      },
      closed: () => unregister(),
    };
    const sub = new Subscriber(call, plan.subscriber, hooks, this.stages, this.mono, this.totals);
    if (this.pool === null) {
      const session = new ReplaySession(spec, this.stages, sub);
      control = { pause: () => session.engine.pause(), resume: () => session.engine.resume(), stop: () => void session.engine.stop() };
      clock = () => session.provider.clock.now();
      finished = new Promise((resolve, reject) => (start = () => void session.run().then(resolve, reject)));
    } else {
      let lastClock = 0n;
      clock = () => lastClock;
      finished = new Promise((resolve) => {
        const handle = this.pool!.open(
          spec,
          { ...plan.subscriber, credits: plan.subscriber.queueBatches },
          {
            batch: (bytes, events, latency, timed, encodedAtMs, at) => {
              lastClock = at;
              recordDispatch(this.stages, latency, timed, events);
              sub.push(bytes, events, (encodedAtMs - performance.timeOrigin) * 1e6, latency);
              if (!block) handle.credit(1);
            },
            end: resolve,
          },
        );
        control = handle;
      });
    }
    // Listed in Stats until its stream is over (what is queued included).
    unregister = this.register(call, sub, `capture:${src.capture}`, plan.subscriber.policy, () => control.stop());
    call.on('cancelled', () => {
      sub.close();
      control.stop();
    });
    start();
    let error: MdcapError | null;
    try {
      error = await finished;
    } catch (e) {
      sub.close();
      throw e;
    }
    if (sub.closed || call.cancelled) return;
    if (error !== null) {
      sub.close();
      call.emit('error', this.reject(error));
      return;
    }
    sub.end();
  }

  private async liveSession(
    call: grpc.ServerWritableStream<Buffer, Buffer>,
    plan: StreamPlan,
    src: { feed: string; symbols: string[] },
  ): Promise<void> {
    const hub = this.hubs.get(src.feed);
    if (hub === undefined) {
      throw new MdcapError(
        'MDCAP_ERR_SOURCE_NOT_FOUND',
        `live.feed: expected a feed this server runs (${[...this.hubs.keys()].join(', ') || 'none: it serves only captures'}), found ${JSON.stringify(src.feed)}`,
      );
    }
    checkSymbols(src.symbols, hub.symbols, `live feed ${hub.name}`);
    const missing = plan.intervals.filter((i) => !hub.bars.has(i));
    if (missing.length > 0) {
      throw new MdcapError(
        'MDCAP_ERR_BAD_REQUEST',
        `bar_intervals: expected intervals the live feed ${hub.name} builds (${[...hub.bars].join(', ') || 'none: start mdcap serve with --bars'}), found ${missing.join(', ')}`,
      );
    }
    const policy = plan.subscriber.policy;
    let unregister = (): void => undefined;
    const sub: Subscriber = new Subscriber(
      call,
      { ...plan.subscriber, closeAt: 'task' },
      {
        now: () => hub.feed.clock.now(),
        venue: hub.feed.venue,
        overflow: () => {
          this.counters.disconnectedSlow++;
          sub.close();
          call.emit('error', this.reject(slowConsumer(plan)));
        },
        closed: () => {
          hub.fanout.remove(sub);
          unregister();
        },
      },
      this.stages,
      this.mono,
      this.totals,
    );
    unregister = this.register(call, sub, `live:${hub.name}`, policy, null);
    call.on('cancelled', () => sub.close());
    const selection: Selection = { ...plan.selection, symbols: src.symbols.length === 0 ? null : new Set(src.symbols) };
    hub.fanout.add(sub, selection, hub.feed.instruments());
    await Promise.resolve();
  }

  private capture(name: string): { dir: string; manifest: Manifest } {
    if (this.options.captures === undefined) {
      throw new MdcapError(
        'MDCAP_ERR_SOURCE_NOT_FOUND',
        `capture ${JSON.stringify(name)}: this server replays no captures (start it with --captures DIR)`,
      );
    }
    if (name === '' || name === '.' || name === '..' || /[/\\]/.test(name)) {
      throw new MdcapError(
        'MDCAP_ERR_BAD_REQUEST',
        `capture: expected the name of a capture directory under --captures, found ${JSON.stringify(name)}`,
      );
    }
    const dir = join(this.options.captures, name);
    if (!existsSync(join(dir, 'manifest.json'))) {
      throw new MdcapError(
        'MDCAP_ERR_SOURCE_NOT_FOUND',
        `capture: expected one of ${this.captureNames().join(', ') || '(none)'}, found ${JSON.stringify(name)}`,
      );
    }
    return { dir, manifest: readManifest(dir) };
  }

  private captureNames(): string[] {
    const root = this.options.captures;
    if (root === undefined) return [];
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'manifest.json')))
      .map((d) => d.name)
      .sort();
  }

  private listSources(): ListSourcesResponse {
    const captures = [];
    for (const name of this.captureNames()) {
      try {
        const m = readManifest(join(this.options.captures!, name));
        const span = captureSpan(m);
        captures.push({ capture: name, feed: m.feed, symbols: m.symbols, start: span.start, end: span.end });
      } catch {
        // An unreadable capture is not listed; DescribeCapture says why.
      }
    }
    return {
      live: [...this.hubs.values()].map((h) => ({
        feed: h.name,
        venue: h.feed.venue,
        symbols: [...h.symbols],
        state: h.engine.stats().state,
      })),
      captures,
    };
  }

  private describe(name: string): CaptureDescription {
    const { dir, manifest: m } = this.capture(name);
    const instruments = ReplayProvider.open(dir).instruments();
    return {
      capture: name,
      feed: m.feed,
      symbols: m.symbols,
      sessions: m.sessions.map((s) => ({
        id: s.id,
        feed: s.feed,
        start: BigInt(s.start),
        end: s.end === null ? undefined : BigInt(s.end),
        clean: s.clean,
      })),
      instruments: instruments.map(toPbInstrument),
      gaps: m.gaps.map((g) => ({ venue: g.venue, symbol: g.symbol, tsRecv: BigInt(g.tsRecv), kind: g.kind, detail: g.detail })),
      rows: m.files.reduce((n, f) => n + BigInt(f.rows), 0n),
    };
  }

  private counterSnapshot(): ServerCounters {
    const { eventsSent, batchesSent, eventsDropped } = this.totals;
    return {
      subscribers: this.active.size,
      subscriptionsTotal: this.counters.subscriptionsTotal,
      eventsSent,
      batchesSent,
      eventsDropped,
      disconnectedSlow: this.counters.disconnectedSlow,
      rejected: this.counters.rejected,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  private statsResponse(): StatsResponse {
    return {
      subscribers: [...this.active.values()].map((a) => ({
        id: BigInt(a.id),
        source: a.source,
        peer: a.peer,
        policy: POLICY_PB[a.policy],
        eventsSent: BigInt(a.sub.eventsSent),
        batchesSent: BigInt(a.sub.batchesSent),
        eventsDropped: BigInt(a.sub.eventsDropped),
        queuedBatches: a.sub.queuedBatches,
        queuedEvents: BigInt(a.sub.queuedEvents),
      })),
      latency: this.stages.summary().map((s) => ({
        stage: s.stage,
        count: BigInt(s.count),
        p50: BigInt(s.p50),
        p99: BigInt(s.p99),
        p999: BigInt(s.p999),
        max: BigInt(s.max),
      })),
      rssBytes: BigInt(process.memoryUsage.rss()),
    };
  }

  /** Counters and latency per stage, as `Stats` and `/metrics` give them. */
  /**
   * The engine and clock of a live feed this server runs, to show the same session elsewhere (the
   * viewer of `mdcap serve --http`); undefined for a feed it does not run. Callbacks added to it
   * run on the server's thread: keep them cheap.
   */
  liveEngine(feed: string): { readonly engine: RealtimeEngine; readonly clock: Clock } | undefined {
    const hub = this.hubs.get(feed);
    return hub === undefined ? undefined : { engine: hub.engine, clock: hub.feed.clock };
  }

  stats(): ServerCounters & { readonly latency: StageSummary[] } {
    return { ...this.counterSnapshot(), latency: this.stages.summary() };
  }

  /** Ends every subscription (live streams end cleanly; replays are cut), stops feeds and listeners. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Every subscriber gets what is queued for it, then UNAVAILABLE: the stream did not end by itself.
      const stopping = new MdcapError(
        'MDCAP_ERR_SHUTDOWN',
        'expected the stream to go on, found the server stopping (SIGTERM, Ctrl-C or close())',
      );
      for (const a of [...this.active.values()]) {
        a.stop?.();
        a.sub.end(() => a.fail(stopping));
      }
      for (const stop of [...this.trades]) stop(stopping);
      await Promise.all([...this.hubs.values()].map((h) => h.engine.stop().then(() => h.feed.close())));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.grpcServer.forceShutdown();
          resolve();
        }, 2000);
        this.grpcServer.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await this.pool?.close();
      const http = this.metricsServer;
      if (http !== null) {
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      }
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function slowConsumer(plan: StreamPlan): MdcapError {
  return new MdcapError(
    'MDCAP_ERR_SLOW_CONSUMER',
    `policy disconnect: expected the subscriber to keep its queue below ${plan.subscriber.queueBatches} batches, found it full`,
  );
}

/** A unary request's message, or MDCAP_ERR_BAD_REQUEST naming what was expected. */
function decodeRequest<T>(type: { decode(bytes: Uint8Array): T }, name: string, bytes: Buffer): T {
  try {
    return type.decode(bytes);
  } catch (e) {
    throw new MdcapError(
      'MDCAP_ERR_BAD_REQUEST',
      `expected a mdcap.v1.${name}, found bytes that do not decode as one (${(e as Error).message})`,
    );
  }
}

function captureSpan(m: Manifest): { start: bigint; end: bigint } {
  let start: bigint | null = null;
  let end: bigint | null = null;
  for (const s of m.sessions) {
    const a = BigInt(s.start);
    if (start === null || a < start) start = a;
    if (s.end !== null && (end === null || BigInt(s.end) > end)) end = BigInt(s.end);
  }
  for (const f of m.files) if (end === null || BigInt(f.tsRecvMax) > end) end = BigInt(f.tsRecvMax);
  return { start: start ?? 0n, end: end ?? 0n };
}

function toPbInstrument(i: Instrument): PbInstrument {
  return {
    venue: i.venue,
    symbol: i.symbol,
    priceScale: i.priceScale,
    sizeScale: i.sizeScale,
    kind: i.kind ?? '',
    tickSize: i.tickSize,
    lotSize: i.lotSize,
    minSize: i.minSize,
    baseCurrency: i.baseCurrency ?? '',
    quoteCurrency: i.quoteCurrency ?? '',
    multiplier: i.multiplier ?? '',
    expiry: i.expiry,
    instrumentId: i.instrumentId,
    extra: { ...(i.extra ?? {}) },
  };
}

/** Reads a PEM file for --tls-key / --tls-cert with a clear error. */
export function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new MdcapError('MDCAP_ERR_IO', `${flag}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}
