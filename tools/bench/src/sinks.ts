/**
 * Sinks and the bus, against real servers started here (as the tests start them): PostgreSQL by
 * binary COPY beside row INSERTs, Redis and JetStream through their sinks beside the same
 * commands sent raw with payloads built beforehand, and NatsProvider → engine beside a bare
 * consumer reading the same stream. Usage: node sinks.js [events=300000] [--only pg,redis,nats]
 */
import { createTrade } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ProtoWriter, writeEvent } from '@mdcap/serve';
import { NatsProvider, NatsSink, PostgresSink, RedisSink } from '@mdcap/sinks';
import type { Sink } from '@mdcap/sinks';
import { startNats, startPostgres, startRedis } from '@mdcap/test-utils/servers';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import pg from 'pg';
import { report, since } from './measure.js';

const argv = process.argv.slice(2);
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set(argv[onlyAt + 1]!.split(',')) : null;
const positional = argv.filter((a, i) => !a.startsWith('--') && (onlyAt < 0 || i !== onlyAt + 1));
const N = Number(positional[0] ?? 300_000);
const BATCH = 10_000;
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'META', 'GOOG', 'TSLA', 'AMD', 'NFLX', 'INTC'];

/** N trades over 10 symbols, 1 µs apart, venue sequence numbers per symbol. */
function trades(n: number): MarketEvent[] {
  const out: MarketEvent[] = [];
  const seq = new Map<string, bigint>();
  const t0 = 1_767_225_600_000_000_000n;
  for (let i = 0; i < n; i++) {
    const symbol = SYMBOLS[i % SYMBOLS.length]!;
    const s = (seq.get(symbol) ?? 0n) + 1n;
    seq.set(symbol, s);
    const ts = t0 + BigInt(i) * 1_000n;
    out.push(
      createTrade({
        venue: 'bench',
        symbol,
        tsEvent: ts - 500n,
        tsRecv: ts,
        seq: s,
        price: 1_500_000n + BigInt((i * 7919) % 10_000),
        size: BigInt(1 + (i % 100)),
        priceScale: 4,
        sizeScale: 0,
        side: i % 2 === 0 ? 'buy' : 'sell',
        tradeId: String(i),
      }),
    );
  }
  return out;
}

async function throughSink(sink: Sink, events: readonly MarketEvent[]): Promise<number> {
  await sink.open();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += BATCH) await sink.write(events.slice(i, i + BATCH));
  const s = since(t0);
  await sink.close();
  return s;
}

/** A figure counts only if nothing was lost: the server must hold what was written. */
function held(what: string, expected: number, found: number): void {
  if (found !== expected) throw new Error(`${what}: expected ${expected} held by the server after the run, found ${found}`);
}

const encoded = (events: readonly MarketEvent[]): Buffer[] =>
  events.map((e) => {
    const w = new ProtoWriter(256);
    writeEvent(w, e);
    return w.take();
  });

async function postgres(events: readonly MarketEvent[]): Promise<void> {
  await using server = await startPostgres();
  const machine = 'PostgreSQL 15 from Debian, local, fsync off (as the tests run it)';
  const how = {
    mark: ' straight into the table + a high-water mark in the same transaction (idempotent, the default)',
    key: ' via staging + ON CONFLICT DO NOTHING on a unique event key (idempotent, dedupes across writers)',
    none: ' straight into the table, nothing checked',
  };
  // Warm-up (JIT, the server's caches): a slice through each mode, into tables of its own.
  for (const dedupe of ['mark', 'key', 'none'] as const) {
    await throughSink(new PostgresSink({ url: server.url, dedupe, tablePrefix: `warm_${dedupe}_` }), events.slice(0, 50_000));
  }
  for (const dedupe of ['mark', 'key', 'none'] as const) {
    const s = await throughSink(new PostgresSink({ url: server.url, dedupe, tablePrefix: `copy_${dedupe}_` }), events);
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    held(
      `PostgreSQL ${dedupe}`,
      events.length,
      Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM copy_${dedupe}_trade`)).rows[0]!.n),
    );
    await c.end();
    report({
      bench: 'sinks',
      case: `PostgreSQL: PostgresSink, binary COPY${how[dedupe]}`,
      items: events.length,
      seconds: s,
      note: `${machine}; batches of ${BATCH} trades, one transaction each`,
    });
  }
  // Baseline: the same rows by parameterized INSERT, one row per statement, pipelined in one transaction per batch.
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query(
    'CREATE TABLE ins (venue text, symbol text, ts_event bigint, ts_recv bigint, seq numeric(20,0), n int, price numeric, size numeric, price_scale smallint, size_scale smallint, side text, trade_id text)',
  );
  const m = Math.min(events.length, 100_000);
  const t0 = performance.now();
  for (let i = 0; i < m; i += BATCH) {
    await client.query('BEGIN');
    const pending: Promise<unknown>[] = [];
    for (const e of events.slice(i, Math.min(m, i + BATCH))) {
      if (e.type !== 'trade') continue;
      pending.push(
        client.query('INSERT INTO ins VALUES ($1,$2,$3,$4,$5,0,$6::numeric / 10000,$7,4,0,$8,$9)', [
          e.venue,
          e.symbol,
          e.tsEvent.toString(),
          e.tsRecv.toString(),
          e.seq?.toString() ?? null,
          e.price.toString(),
          e.size.toString(),
          e.side,
          e.tradeId,
        ]),
      );
    }
    await Promise.all(pending);
    await client.query('COMMIT');
  }
  report({
    bench: 'sinks',
    case: 'PostgreSQL baseline: row INSERTs (parameterized, pipelined, one transaction per batch)',
    items: m,
    seconds: since(t0),
    note: machine,
  });
  await client.end();
}

async function redis(events: readonly MarketEvent[]): Promise<void> {
  await using server = await startRedis();
  const s = await throughSink(new RedisSink({ url: server.url, pubsub: false }), events);
  const check = new Redis(server.url);
  held('Redis stream', events.length, await check.xlen('md:bench:trade'));
  check.disconnect();
  report({
    bench: 'sinks',
    case: 'Redis: RedisSink, XADD MAXLEN ~ per venue/kind stream (pipelined per batch)',
    items: events.length,
    seconds: s,
    note: 'redis-server 7.0 from Debian, local, no persistence',
  });
  const s2 = await throughSink(new RedisSink({ url: server.url, streams: false, prefix: 'p' }), events);
  report({ bench: 'sinks', case: 'Redis: RedisSink, PUBLISH per symbol channel (no subscriber)', items: events.length, seconds: s2 });
  // Baseline: XADD * with payloads encoded beforehand, the same pipelining.
  const payloads = encoded(events);
  const r = new Redis(server.url);
  const t0 = performance.now();
  for (let i = 0; i < payloads.length; i += BATCH) {
    const p = r.pipeline();
    for (let j = i; j < Math.min(payloads.length, i + BATCH); j++) p.xadd('raw', '*', 'e', payloads[j]!);
    await p.exec();
  }
  report({
    bench: 'sinks',
    case: 'Redis baseline: raw XADD * of pre-encoded payloads (ioredis pipeline per batch)',
    items: payloads.length,
    seconds: since(t0),
  });
  r.disconnect();
}

async function nats(events: readonly MarketEvent[]): Promise<void> {
  await using server = await startNats();
  const sink = new NatsSink({ url: server.url, sequencing: { bench: 'monotonic-per-kind' } });
  const s = await throughSink(sink, events);
  const nc0 = await connect({ servers: `127.0.0.1:${server.port}` });
  const jsm0 = await jetstreamManager(nc0);
  held('JetStream, a message per event', events.length, (await jsm0.streams.info('MD_bench')).state.messages);
  report({
    bench: 'sinks',
    case: 'JetStream: NatsSink (protobuf, message id per event, 4096 publishes in flight)',
    items: events.length,
    seconds: s,
    note: 'nats-server 2.9 from Debian, file storage in a temp dir',
  });
  const batched = new NatsSink({ url: server.url, streamPrefix: 'B', subjectPrefix: 'b', messages: 'batch', batchEvents: 1_000 });
  const sb = await throughSink(batched, events);
  // Batches of 1,000, and one symbol marker per symbol.
  held('JetStream, batch mode', events.length / 1_000 + SYMBOLS.length, (await jsm0.streams.info('B_bench')).state.messages);
  await nc0.close();
  report({
    bench: 'sinks',
    case: 'JetStream: NatsSink batch mode (1,000 events per message, message id per batch)',
    items: events.length,
    seconds: sb,
    note: 'events per second; messages are 1/1000 of that',
  });
  // Baselines: the same payloads published raw (no id, no encoding in the loop) to another stream,
  // one event per message and 1,000 per message.
  const payloads = encoded(events);
  const nc = await connect({ servers: `127.0.0.1:${server.port}` });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'RAW', subjects: ['raw.>'] });
  const js = jetstream(nc);
  const chunks: Buffer[] = [];
  for (let i = 0; i < payloads.length; i += 1_000) chunks.push(Buffer.concat(payloads.slice(i, i + 1_000)));
  let t0 = performance.now();
  await Promise.all(chunks.map((c) => js.publish('raw.batch', c)));
  report({
    bench: 'sinks',
    case: 'JetStream baseline: raw js.publish of pre-encoded 1,000-event payloads',
    items: payloads.length,
    seconds: since(t0),
    note: 'events per second',
  });
  t0 = performance.now();
  let inFlight: Promise<unknown>[] = [];
  for (const p of payloads) {
    inFlight.push(js.publish('raw.x', p));
    if (inFlight.length >= 4_096) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  report({
    bench: 'sinks',
    case: 'JetStream baseline: raw js.publish of pre-encoded payloads (4096 in flight)',
    items: payloads.length,
    seconds: since(t0),
  });
  // Reading back: an engine on NatsProvider beside a bare ordered consumer of the same stream.
  const provider = new NatsProvider({ url: server.url, venue: 'bench', follow: false });
  const engine = new RealtimeEngine(provider);
  let got = 0;
  engine.onTrade(() => got++);
  t0 = performance.now();
  await engine.run(SYMBOLS);
  report({ bench: 'sinks', case: 'NatsProvider → RealtimeEngine onTrade (decode, validate, dispatch)', items: got, seconds: since(t0) });
  const fromBatches = new RealtimeEngine(new NatsProvider({ url: server.url, venue: 'bench', streamPrefix: 'B', follow: false }));
  let gotBatched = 0;
  fromBatches.onTrade(() => gotBatched++);
  t0 = performance.now();
  await fromBatches.run(SYMBOLS);
  report({
    bench: 'sinks',
    case: 'NatsProvider → RealtimeEngine onTrade, from a batch-mode stream',
    items: gotBatched,
    seconds: since(t0),
  });
  const consumer = await js.consumers.get('MD_bench', { deliver_policy: DeliverPolicy.All });
  t0 = performance.now();
  let n = 0;
  const msgs = await consumer.consume({ max_messages: 4_096 });
  for await (const m of msgs) {
    n += m.data.length > 0 ? 1 : 0;
    if (n >= events.length) break;
  }
  report({
    bench: 'sinks',
    case: 'NatsProvider baseline: bare ordered consumer of the same stream (no decode)',
    items: n,
    seconds: since(t0),
  });
  await nc.close();
}

const events = trades(N);
if (only === null || only.has('pg')) await postgres(events);
if (only === null || only.has('redis')) await redis(events);
if (only === null || only.has('nats')) await nats(events);
