import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { VirtualClock } from '@mdcap/core';
import type { Bar, MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { decodeBatch } from '@mdcap/serve';
import { SimProvider } from '@mdcap/sim';
import {
  EventKeyer,
  KAFKA_KEY_HEADER,
  KAFKA_ORD_HEADER,
  KafkaProvider,
  KafkaSink,
  attachSink,
  kafkaSinkOptions,
  openSink,
} from '@mdcap/sinks';
import type { KafkaProviderOptions, SinkStats } from '@mdcap/sinks';
import { SIM_SYMBOLS, describeWithServers, engineRun, publishRun, simulatedEvents, startKafkaMock, waitFor } from '@mdcap/test-utils';
import type { PublishRun, TestServer } from '@mdcap/test-utils';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';

// The Kafka sink and provider against librdkafka's mock cluster (a test double from the official
// C client, not a production broker), started for this file with its topics (it cannot create
// them later), 3 partitions each.

/**
 * The mock reports controller id 0, a broker it does not have, and kafkajs asks the controller for
 * an idempotent producer's id. Any broker answers that request (it is not transactional), so here
 * the lookup falls back to the first broker; a real cluster names its controller.
 */
interface KafkajsCluster {
  findControllerBroker(): Promise<unknown>;
  findBroker(node: { nodeId: string }): Promise<unknown>;
  brokerPool: { metadata?: { brokers: { nodeId: number }[] } };
}
const Cluster = createRequire(import.meta.url)('kafkajs/src/cluster/index.js') as { prototype: KafkajsCluster };
const findController = Cluster.prototype.findControllerBroker;
Cluster.prototype.findControllerBroker = async function (this: KafkajsCluster): Promise<unknown> {
  try {
    return await findController.call(this);
  } catch (error) {
    const first = this.brokerPool.metadata?.brokers[0];
    if ((error as Error).name !== 'KafkaJSBrokerNotFound' || first === undefined) throw error;
    return this.findBroker({ nodeId: String(first.nodeId) });
  }
};

const KINDS = ['trade', 'quote', 'book', 'status', 'bar'] as const;

let server: TestServer;
let url: string;
beforeAll(async () => {
  server = await startKafkaMock(['md', 'dup', 'live'].flatMap((prefix) => KINDS.map((k) => `${prefix}.${k}`)));
  url = `kafka://${server.url}`;
});
afterAll(async () => {
  await server?.stop();
});

interface Read {
  partition: number;
  key: string;
  headers: Record<string, string>;
  event: MarketEvent;
}

/** Every message of the topics, per topic in partition then offset order, read by a plain kafkajs consumer. */
async function readTopics(topics: readonly string[]): Promise<Map<string, Read[]>> {
  const kafka = new Kafka({ brokers: [server.url], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let total = 0;
  for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) total += Number(p.high);
  await admin.disconnect();
  const got = new Map<string, Map<number, { offset: number; read: Read }[]>>();
  let n = 0;
  const bad: string[] = [];
  const consumer = kafka.consumer({ groupId: `kafka-test-${randomUUID()}`, sessionTimeout: 6_000, heartbeatInterval: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        const items = decodeBatch(message.value!).items;
        if (items.length !== 1) bad.push(`${topic}/${partition}@${message.offset}: ${items.length} items`);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        let parts = got.get(topic);
        if (parts === undefined) got.set(topic, (parts = new Map()));
        let list = parts.get(partition);
        if (list === undefined) parts.set(partition, (list = []));
        list.push({
          offset: Number(message.offset),
          read: { partition, key: message.key!.toString(), headers, event: items[0] as MarketEvent },
        });
        n++;
        return Promise.resolve();
      },
    });
    await waitFor(() => n >= total, { what: 'every message of the topics', deadlineMs: 90_000, state: () => `${n} of ${total}` });
  } finally {
    await consumer.disconnect();
  }
  expect(n).toBe(total);
  expect(bad).toEqual([]);
  const out = new Map<string, Read[]>();
  for (const t of topics) {
    const parts = [...(got.get(t) ?? new Map<number, { offset: number; read: Read }[]>())].sort(([a], [b]) => a - b);
    out.set(
      t,
      parts.flatMap(([, list]) => list.sort((a, b) => a.offset - b.offset).map((x) => x.read)),
    );
  }
  return out;
}

/** An engine on the topics, replayed to their end: its callback stream and bars. */
async function consume(
  options: Omit<KafkaProviderOptions, 'url' | 'venue'> = {},
): Promise<{ events: MarketEvent[]; bars: Bar[]; provider: KafkaProvider }> {
  const provider = new KafkaProvider({ url, venue: 'demo', follow: false, ...options });
  const { events, bars } = await engineRun(provider);
  return { events, bars, provider };
}

describeWithServers(['kafka'], 'Kafka sink and provider (librdkafka mock cluster)', () => {
  it('checks its options', () => {
    expect(() => new KafkaSink({ url: 'nats://127.0.0.1:4222' })).toThrow(/kafka sink: expected a kafka:\/\/ URL/);
    expect(() => new KafkaSink({ url: 'kafka://127.0.0.1:9092', topicPrefix: 'a b' })).toThrow(/topicPrefix/);
    expect(() => new KafkaProvider({ url: 'kafka://127.0.0.1:9092', venue: 'demo', follow: true, maxDelayMs: 0 })).toThrow(
      /maxDelayMs: expected a positive integer/,
    );
    expect(kafkaSinkOptions('kafka://a:9092,b:9092?prefix=prod&idempotent=false')).toEqual({
      url: 'kafka://a:9092,b:9092',
      topicPrefix: 'prod',
      idempotent: false,
    });
    expect(() => openSink('kafka://a:9092?acks=1')).toThrow(/expected query options prefix=P or idempotent=true\|false, found "acks=1"/);
    expect((openSink('kafka://a:9092?prefix=prod') as KafkaSink).topicPrefix).toBe('prod');
    const sink = openSink('kafka://127.0.0.1:9092,127.0.0.2:9093');
    expect(sink).toBeInstanceOf(KafkaSink);
    expect(sink.kind).toBe('kafka');
  });

  let run: PublishRun<SinkStats>;

  it('publishes a run: each event once on its kind topic, keyed venue/symbol, with its key and ordinal headers', async () => {
    run = await publishRun(new KafkaSink({ url, topicPrefix: 'md' }), attachSink);
    expect(run.stats.lastError).toBeNull();
    expect(run.stats).toMatchObject({ written: run.events.length + run.bars.length, dropped: 0, failures: 0, gaps: 0 });
    const topics = await readTopics(KINDS.map((k) => `md.${k}`));
    for (const kind of KINDS) {
      const read = topics.get(`md.${kind}`)!;
      const expected: MarketEvent[] = kind === 'bar' ? run.bars : run.events.filter((e) => e.type === kind);
      expect(read.length, kind).toBe(expected.length);
      // Per partition in ordinal order: a symbol keeps its order.
      for (let i = 1; i < read.length; i++) {
        if (read[i]!.partition === read[i - 1]!.partition) {
          expect(Number(read[i]!.headers[KAFKA_ORD_HEADER])).toBeGreaterThan(Number(read[i - 1]!.headers[KAFKA_ORD_HEADER]));
        }
      }
      const partitionOf = new Map<string, number>();
      for (const r of read) {
        expect(r.key).toBe(`${r.event.venue}/${r.event.symbol}`);
        expect(partitionOf.get(r.key) ?? r.partition).toBe(r.partition);
        partitionOf.set(r.key, r.partition);
      }
      // By ordinal, the topic is the run's events of its kind, in order, with their keys.
      const byOrd = [...read].sort((a, b) => Number(a.headers[KAFKA_ORD_HEADER]) - Number(b.headers[KAFKA_ORD_HEADER]));
      expect(byOrd.map((r) => r.event)).toEqual(expected);
      const keyer = new EventKeyer();
      expect(byOrd.map((r) => r.headers[KAFKA_KEY_HEADER])).toEqual(expected.map((e) => keyer.text(e)));
    }
  }, 180_000);

  it('an engine reading the topics back sees the same event stream, in the same order, and the same bars', async () => {
    expect(run).toBeDefined();
    const one = await consume();
    expect(one.provider.counts).toMatchObject({ repeats: 0, late: 0, delivered: run.events.length });
    expect(one.events).toEqual(run.events);
    // Bars the topics closed are the publisher's; the last, still open when the data ends, close at its last event.
    const last = run.events[run.events.length - 1]!.tsRecv;
    const closed = (bars: readonly Bar[]): Bar[] => bars.filter((b) => b.end <= last);
    expect(closed(one.bars)).toEqual(closed(run.bars));
    expect(one.bars.length).toBe(run.bars.length);
    // From a receive time on (found by scanning: the mock cannot look offsets up by timestamp).
    const from = run.events[Math.floor(run.events.length / 2)]!.tsRecv;
    const half = await consume({ fromTime: from, seekByTimestamp: false, maxBuffered: 64 });
    expect(half.events).toEqual(run.events.filter((e) => e.tsRecv >= from));
  }, 180_000);

  it('a run published twice (a restarted publisher): the reader drops every repeat by its key', async () => {
    const first = await publishRun(new KafkaSink({ url, topicPrefix: 'dup' }), attachSink);
    const again = await publishRun(new KafkaSink({ url, topicPrefix: 'dup' }), attachSink);
    expect(again.events).toEqual(first.events);
    const read = await consume({ topicPrefix: 'dup' });
    expect(read.events).toEqual(first.events);
    expect(read.provider.counts.repeats + read.provider.counts.late).toBe(first.events.length);
    expect(read.provider.counts.repeats).toBeGreaterThan(0);
  }, 180_000);

  it('a broker that is not there: the sink retries, then drops and counts, and says why', async () => {
    const sim = new SimProvider({ seed: 9, clock: new VirtualClock(), durationNs: 2_000_000_000n, packetsPerSecond: 1_000 });
    const engine = new RealtimeEngine(sim);
    const events: MarketEvent[] = [];
    engine.onEvent((e) => events.push(e));
    const sink = attachSink(engine, new KafkaSink({ url: 'kafka://127.0.0.1:1', timeoutMs: 500 }), {
      maxEvents: 100,
      maxPending: 2,
      closeAttempts: 1,
      retryDelaysMs: [1],
    });
    await engine.run(SIM_SYMBOLS);
    await waitFor(() => sink.stats().failures > 0, { what: 'a failed send to the missing broker', deadlineMs: 60_000 });
    const stats = await sink.close();
    expect(stats.written).toBe(0);
    expect(stats.dropped).toBe(events.length);
    expect(stats.failures).toBeGreaterThan(0);
    expect(stats.lastError).toMatch(/sink kafka \(kafka:\/\/127\.0\.0\.1:1\): .*ECONNREFUSED/);
  }, 120_000);

  it('following live: events sent after the engine started join the merge of the partitions in order', async () => {
    const events = (await simulatedEvents(2, { seed: 12, faults: {} })).filter((e) => e.type === 'trade' || e.type === 'quote');
    const half = Math.floor(events.length / 2);
    const sink = new KafkaSink({ url, topicPrefix: 'live' });
    await sink.open();
    try {
      await sink.write(events.slice(0, half));
      const provider = new KafkaProvider({ url, venue: 'demo', topicPrefix: 'live', follow: true, maxDelayMs: 1_500 });
      const engine = new RealtimeEngine(provider);
      const got: MarketEvent[] = [];
      engine.onTrade((t) => got.push(t));
      engine.onQuote((q) => got.push(q));
      const gaps: string[] = [];
      engine.onStatus((st) => {
        if (st.kind === 'gap') gaps.push(st.detail);
      });
      const running = engine.run(SIM_SYMBOLS);
      await waitFor(() => got.length === half, {
        what: 'the first half through the live merge',
        deadlineMs: 60_000,
        state: () => `${got.length} of ${half}`,
      });
      await sink.write(events.slice(half));
      await waitFor(() => got.length === events.length, {
        what: 'every event through the live merge',
        deadlineMs: 60_000,
        state: () => `${got.length} of ${events.length}`,
      });
      await engine.stop();
      await running;
      expect(got).toEqual(events);
      expect(gaps).toEqual([]);
      expect(provider.counts).toMatchObject({ late: 0, repeats: 0, delivered: events.length });
    } finally {
      await sink.close();
    }
  }, 180_000);
});
