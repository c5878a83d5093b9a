import { randomUUID } from 'node:crypto';
import { describeValue, LiveClock, MdcapError, PauseGate, SUBSCRIPTION_KINDS, VirtualClock } from '@mdcap/core';
import type { Clock, DataProvider, EventSink, EventType, MarketEvent, SequenceRule, SubscriptionKind, TimerId } from '@mdcap/core';
import { ProtoWriter, decodeBatch, writeEvent } from '@mdcap/serve';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import type { Admin, Batch, Consumer, IHeaders, Message, Producer } from 'kafkajs';
import { EventKeyer } from './keys.js';
import { lateStatus } from './late.js';
import { Subscriptions } from './subscriptions.js';
import { registerSinkScheme } from './open.js';
import type { Sink } from './sink.js';
import { parseUrl, redactUrl } from './url.js';

/**
 * Kafka as the bus: a topic per kind (`<prefix>.<kind>`: `md.trade`, `md.quote`, `md.book`,
 * `md.order`, `md.bar`, `md.status`), each message one event as a protobuf `mdcap.v1.EventBatch`
 * (the encoding `mdcap serve` speaks; prices as mantissa and scale), keyed `<venue>/<symbol>` so
 * that a symbol's events of a kind stay in one partition, in order. Two headers:
 * `mdcap-key`, the event's key ({@link EventKeyer}: `<seq>.<n>` or `r<tsRecv>.<n>`, unique within
 * a venue, symbol and kind), by which a consumer drops a repeat; and `mdcap-ord`, the writing
 * sink's running count of the events it sent, by which a reader restores the order of events
 * that share a receive time across topics and partitions ({@link KafkaProvider}).
 *
 * Tested against librdkafka's mock cluster (a test double from the official C client, not a
 * production broker).
 */

/** The header holding the event key (text). */
export const KAFKA_KEY_HEADER = 'mdcap-key';
/** The header holding the writing sink's running event count (decimal text). */
export const KAFKA_ORD_HEADER = 'mdcap-ord';

/** Kinds as a reader takes them, in the order that breaks the last ties of a merge. */
const READ_KINDS: readonly EventType[] = ['status', 'book', 'order', 'quote', 'trade'];

/** Kafka's own limit on topic names: `[a-zA-Z0-9._-]`, at most 249 characters (the kind is added). */
const TOPIC_PREFIX = /^[A-Za-z0-9._-]{1,240}$/;

/** `host:port` of each broker of a `kafka://host:port[,host:port…]` URL (default port 9092). */
function kafkaBrokers(url: string, what: string): string[] {
  if (typeof url !== 'string') {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `${what}: expected a URL such as kafka://127.0.0.1:9092, found ${describeValue(url)}`);
  }
  return url.split(',').map((part, i) => {
    const p = part.trim();
    const u = parseUrl(i > 0 && !p.includes('://') ? `kafka://${p}` : p, what, ['kafka']);
    if (u.hostname === '') {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `${what}: expected a broker host in "${redactUrl(url)}", found none`);
    }
    if (u.username !== '' || u.password !== '') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `${what}: expected kafka://host:port without credentials (SASL and TLS are not supported), found "${redactUrl(url)}"`,
      );
    }
    return `${u.hostname}:${u.port === '' ? '9092' : u.port}`;
  });
}

function topicPrefix(what: string, v: string | undefined): string {
  const prefix = v ?? 'md';
  if (typeof prefix !== 'string' || !TOPIC_PREFIX.test(prefix)) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `${what} topicPrefix: expected 1 to 240 characters of A-Z a-z 0-9 . _ -, found ${describeValue(prefix)}`,
    );
  }
  return prefix;
}

function positiveInt(what: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1)
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `${what}: expected a positive integer, found ${describeValue(v)}`);
  return v;
}

/** An error and its causes, each said once (kafkajs wraps the socket's error in its retry's). */
function errorText(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let i = 0; e !== undefined && e !== null && i < 6; i++) {
    const m = e instanceof Error ? e.message : typeof e === 'string' ? e : describeValue(e);
    if (m !== '' && !parts.some((p) => p.includes(m))) parts.push(m);
    e = typeof e === 'object' ? (e as { cause?: unknown }).cause : undefined;
  }
  return parts.length === 0 ? describeValue(error) : parts.join(': ');
}

function kafkaClient(brokers: string[], clientId: string, timeoutMs: number): Kafka {
  return new Kafka({
    brokers,
    clientId,
    // kafkajs logs every retry and rebalance; its errors reach the caller, said once, instead.
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    // A few quick retries of its own (a leader moving); the sink runner or the engine does the rest.
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: timeoutMs },
  });
}

export interface KafkaSinkOptions {
  /** `kafka://host:port` (a comma-separated list of brokers: `kafka://a:9092,b:9092`). */
  readonly url: string;
  /** Topic prefix (default `md`: `md.trade`, `md.quote`…). */
  readonly topicPrefix?: string;
  /** The client id brokers see (default `mdcap`). */
  readonly clientId?: string;
  /** A request not answered after this long fails (and the batch is retried) (default 10,000 ms). */
  readonly timeoutMs?: number;
  /**
   * An idempotent producer (default true), which needs the cluster's controller for its producer
   * id. `false` for a cluster that cannot give one (librdkafka's mock): the producer's own
   * retries may then write a message twice, which `mdcap-key` lets a reader drop.
   */
  readonly idempotent?: boolean;
}

/**
 * `kafka://host:port[,…][?prefix=P&idempotent=false]`: the brokers, and the sink's options in the
 * query (the topic prefix, and whether the producer is idempotent).
 */
export function kafkaSinkOptions(url: string): KafkaSinkOptions {
  const q = url.indexOf('?');
  if (q < 0) return { url };
  const params = new URLSearchParams(url.slice(q + 1));
  const out: { url: string; topicPrefix?: string; idempotent?: boolean } = { url: url.slice(0, q) };
  for (const [k, v] of params) {
    if (k === 'prefix') out.topicPrefix = v;
    else if (k === 'idempotent' && (v === 'true' || v === 'false')) out.idempotent = v === 'true';
    else {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `kafka sink: expected query options prefix=P or idempotent=true|false, found ${describeValue(`${k}=${v}`)} in "${redactUrl(url)}"`,
      );
    }
  }
  return out;
}

/**
 * Publishes events to Kafka: one `sendBatch` per batch, gzip-compressed (the codec kafkajs has
 * built in), `acks: -1` (every in-sync replica), from an idempotent producer (`idempotent: true`,
 * one request in flight), so the producer's own retries never write a message twice.
 *
 * A batch is not a transaction: when a send fails part-way (some partitions written, then the
 * connection lost), the runner sends the whole batch again from a new producer, and what the
 * first attempt wrote is in Kafka twice. Kafka's idempotence covers its producer's retries, not a
 * re-sent batch. Every message carries its event key in the `mdcap-key` header (the same key on
 * the retry: the keyer is rolled back with the failed batch), so a consumer drops the repeats;
 * {@link KafkaProvider} does.
 */
export class KafkaSink implements Sink {
  readonly kind = 'kafka';
  readonly target: string;
  readonly topicPrefix: string;
  private readonly brokers: string[];
  private readonly clientId: string;
  private readonly timeoutMs: number;
  private readonly idempotent: boolean;
  private producer: Producer | null = null;
  private readonly keyer = new EventKeyer();
  private readonly w = new ProtoWriter(4096);
  /** Events sent so far (the `mdcap-ord` of the next one). */
  private ord = 0;

  constructor(options: KafkaSinkOptions) {
    this.brokers = kafkaBrokers(options.url, 'kafka sink');
    this.target = redactUrl(options.url);
    this.topicPrefix = topicPrefix('kafka sink', options.topicPrefix);
    this.clientId = options.clientId ?? 'mdcap';
    this.timeoutMs = positiveInt('kafka sink timeoutMs', options.timeoutMs, 10_000);
    this.idempotent = options.idempotent ?? true;
  }

  /** The topic of an event kind. */
  topic(kind: EventType): string {
    return `${this.topicPrefix}.${kind}`;
  }

  async open(): Promise<void> {
    if (this.producer !== null) return;
    const producer = kafkaClient(this.brokers, this.clientId, this.timeoutMs).producer({
      idempotent: this.idempotent,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    });
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw new MdcapError('MDCAP_ERR_SINK_WRITE', `sink kafka (${this.target}): connecting failed: ${errorText(error)}`, { cause: error });
    }
    this.producer = producer;
  }

  async write(batch: readonly MarketEvent[]): Promise<void> {
    const producer = this.producer;
    if (producer === null) throw new MdcapError('MDCAP_ERR_SINK_WRITE', `sink kafka (${this.target}): write before open`);
    const checkpoint = this.keyer.checkpoint();
    const ord = this.ord;
    try {
      const byTopic = new Map<string, Message[]>();
      for (const e of batch) {
        const topic = this.topic(e.type);
        let messages = byTopic.get(topic);
        if (messages === undefined) byTopic.set(topic, (messages = []));
        const w = this.w;
        w.reset();
        writeEvent(w, e);
        const headers: IHeaders = { [KAFKA_KEY_HEADER]: this.keyer.text(e), [KAFKA_ORD_HEADER]: String(this.ord++) };
        messages.push({ key: `${e.venue}/${e.symbol}`, value: w.take(), headers });
      }
      if (byTopic.size === 0) return;
      await producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        acks: -1,
        compression: CompressionTypes.GZIP,
        timeout: this.timeoutMs,
      });
    } catch (error) {
      // The retry must give its events the same keys and ordinals, or a repeat could not be told.
      this.keyer.restore(checkpoint);
      this.ord = ord;
      throw new MdcapError(
        'MDCAP_ERR_SINK_WRITE',
        `sink kafka (${this.target}): sending ${batch.length} events failed: ${errorText(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async reset(): Promise<void> {
    // A new producer (a new producer id) for the retry: the old one's sequence numbers may be
    // out of step with the broker after a failed request.
    const p = this.producer;
    this.producer = null;
    await p?.disconnect().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.reset();
  }
}

registerSinkScheme(
  'kafka',
  'Kafka (topics md.<kind>, key <venue>/<symbol>, header mdcap-key; ?prefix=P&idempotent=false)',
  (url) => new KafkaSink(kafkaSinkOptions(url)),
);

export interface KafkaProviderOptions {
  /** `kafka://host:port` (a comma-separated list of brokers). */
  readonly url: string;
  /** The venue whose events to deliver: the topics hold every venue's, the others are skipped. */
  readonly venue: string;
  /** Topic prefix (default `md`). */
  readonly topicPrefix?: string;
  /** The client id brokers see (default `mdcap`). */
  readonly clientId?: string;
  /** The consumer group (default a new `mdcap-replay-<uuid>` per connection; nothing is committed). */
  readonly groupId?: string;
  /**
   * Start at events received at or after this time (ns since the epoch): each partition is sought
   * to the first message Kafka timestamped at or after it (an event is published after it was
   * received, so nothing wanted lies before, machines' clocks agreeing), and events received
   * earlier are skipped. Default: every partition from its first message.
   */
  readonly fromTime?: bigint;
  /**
   * Find `fromTime`'s offsets with Kafka's timestamp lookup (default true). `false` reads every
   * partition from its start and only skips what was received earlier: for brokers without the
   * lookup (librdkafka's mock cluster answers it with the end of the partition).
   */
  readonly seekByTimestamp?: boolean;
  /**
   * `false` (the default): read each partition up to the end it had when the provider connected,
   * merge, and end (a deterministic replay). `true`: keep reading as messages arrive. Partitions
   * are each in order but not with each other, so a live merge lets a partition that is caught up
   * and quiet hold the others back for at most `maxDelayMs`, in case an earlier event of it is
   * still on its way; one that comes later still becomes a `gap` status (see the class).
   * Partitions and topics created after the provider connected are not read.
   */
  readonly follow?: boolean;
  /** Following live: how long an event waits for a caught-up, quiet partition (default 1,000 ms of `wallClock`: above a fetch's wait). */
  readonly maxDelayMs?: number;
  /** The clock that wait runs on (default a LiveClock). */
  readonly wallClock?: Clock;
  /** The clock the engine runs on (default a new VirtualClock): the events' own receive times, as in a replay. */
  readonly clock?: VirtualClock;
  /** The venue's sequencing rule, for a recorder (default `monotonic-per-kind`; Kafka topics do not carry it). */
  readonly sequencing?: SequenceRule;
  /** Event keys remembered per venue, symbol and kind to drop repeats (default 10,000; a re-sent batch repeats fewer). */
  readonly dedupeWindow?: number;
  /** Messages held per partition before its fetching pauses (default 10,000). */
  readonly maxBuffered?: number;
  /** A request not answered after this long fails (default 10,000 ms). */
  readonly timeoutMs?: number;
}

/** One message taken in, decoded. */
interface Rec {
  readonly e: MarketEvent;
  readonly key: string | null;
  /** The writer's `mdcap-ord`, or +Infinity without one. */
  readonly ord: number;
  readonly offset: number;
  /** When it was taken in, on the wall clock (following live only; 0n otherwise). */
  readonly at: bigint;
}

/** One partition of one topic, as the merge reads it. */
interface Source {
  readonly topic: string;
  /** The topic's place in {@link READ_KINDS}: the last tie-break. */
  readonly rank: number;
  readonly partition: number;
  /** The partition's end when the provider connected: offsets from here on are not read (+Infinity following live). */
  readonly high: number;
  /** The partition's end as the broker last said (following live: the partition is caught up when `next` reaches it). */
  hw: number;
  /** The next offset to take from the consumer. */
  next: number;
  /** The offset after the last message the merge took (where a new connection starts). */
  taken: number;
  buf: (Rec | undefined)[];
  head: number;
  paused: boolean;
}

function headerText(headers: IHeaders | undefined, name: string): string | null {
  const v = headers?.[name];
  if (v === undefined) return null;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? null : one.toString();
}

/** True when `a` (of source `sa`) goes before `b` (of `sb`): receive time, then the writer's ordinal, then kind, partition. */
function before(a: Rec, sa: Source, b: Rec, sb: Source): boolean {
  if (a.e.tsRecv !== b.e.tsRecv) return a.e.tsRecv < b.e.tsRecv;
  if (a.ord !== b.ord) return a.ord < b.ord;
  if (sa.rank !== sb.rank) return sa.rank < sb.rank;
  return sa.partition < sb.partition;
}

/**
 * Feeds a `RealtimeEngine` from the Kafka topics a {@link KafkaSink} wrote: the events of one
 * venue as they were published (their receive times and sequence numbers kept), on a clock that
 * follows their receive times, so every engine reading the topics sees the same callbacks and
 * the same bars.
 *
 * It reads the topics of the kinds subscribed (statuses always; bars never: the engine makes its
 * own), each partition up to the end it had at connect time, and merges the partitions, each in
 * order, by receive time, then by the writer's `mdcap-ord` header, which restores the original
 * engine's order of events sharing a receive time exactly (one writer; without the header, or
 * between writers, such ties go by kind, status < book < order < quote < trade, then partition).
 * A repeat (same `mdcap-key` of the same venue, symbol and kind within the last `dedupeWindow`
 * keys, as a re-sent batch leaves) is dropped. An event older than one already delivered (which
 * several writers on the same topics, or a live merge, can leave) cannot go to the engine in
 * order: it becomes a `gap` status for its symbol, counted in `counts.late`. The consumer is in a
 * group of its own (kafkajs has no group-less consumer) and commits nothing. A lost connection is
 * reported to the engine, which reconnects; the provider goes on after the last message merged.
 */
export class KafkaProvider implements DataProvider {
  readonly venue: string;
  readonly clock: VirtualClock;
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS;
  readonly validatesEvents = false;
  readonly sequencing: SequenceRule;
  readonly topicPrefix: string;
  /** Messages taken from the topics, events delivered, repeats dropped, late events dropped. */
  readonly counts = { messages: 0, delivered: 0, repeats: 0, late: 0 };
  private readonly brokers: string[];
  private readonly target: string;
  private readonly timeoutMs: number;
  private readonly dedupeWindow: number;
  private readonly maxBuffered: number;
  private readonly follow: boolean;
  private readonly maxDelayNs: bigint;
  private readonly wall: Clock;
  private timer: TimerId | null = null;
  private kafka: Kafka | null = null;
  private topics: ReadonlySet<string> = new Set();
  private consumer: Consumer | null = null;
  private sink: EventSink | null = null;
  private readonly wanted = new Subscriptions();
  /** The partitions to read, fixed at the first start. */
  private sources: Source[] | null = null;
  /** Each start gets a generation; work of an older one stops. */
  private gen = 0;
  private stopped = false;
  private ended = false;
  private loop: Promise<void> | null = null;
  private readonly gate = new PauseGate();
  private wake: (() => void) | null = null;
  private lastTsRecv: bigint | null = null;
  /** Recent keys per venue, symbol and kind (insertion order: the oldest goes first). */
  private readonly seen = new Map<string, Set<string>>();
  private readonly decoded: ReturnType<typeof decodeBatch>['items'] = [];

  constructor(private readonly options: KafkaProviderOptions) {
    this.brokers = kafkaBrokers(options.url, 'kafka provider');
    this.target = redactUrl(options.url);
    if (typeof options.venue !== 'string' || options.venue === '') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `kafka provider venue: expected a venue name, found ${describeValue(options.venue)}`,
      );
    }
    if (options.fromTime !== undefined && (typeof options.fromTime !== 'bigint' || options.fromTime < 0n)) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `kafka provider fromTime: expected ns since the epoch as a non-negative bigint, found ${describeValue(options.fromTime)}`,
      );
    }
    this.venue = options.venue;
    this.follow = options.follow === true;
    this.maxDelayNs = BigInt(positiveInt('kafka provider maxDelayMs', options.maxDelayMs, 1_000)) * 1_000_000n;
    this.wall = options.wallClock ?? new LiveClock();
    this.clock = options.clock ?? new VirtualClock();
    this.sequencing = options.sequencing ?? 'monotonic-per-kind';
    this.topicPrefix = topicPrefix('kafka provider', options.topicPrefix);
    this.timeoutMs = positiveInt('kafka provider timeoutMs', options.timeoutMs, 10_000);
    this.dedupeWindow = positiveInt('kafka provider dedupeWindow', options.dedupeWindow, 10_000);
    this.maxBuffered = positiveInt('kafka provider maxBuffered', options.maxBuffered, 10_000);
  }

  async connect(sink: EventSink): Promise<void> {
    this.stopped = false;
    const kafka = kafkaClient(this.brokers, this.options.clientId ?? 'mdcap', this.timeoutMs);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const topics = new Set(await admin.listTopics());
      if (![...READ_KINDS, 'bar'].some((k) => topics.has(`${this.topicPrefix}.${k}`))) {
        throw new Error(`no topic ${this.topicPrefix}.<kind> there (found ${topics.size === 0 ? 'none' : [...topics].sort().join(', ')})`);
      }
      this.topics = topics;
    } catch (error) {
      throw new MdcapError(
        'MDCAP_ERR_CONNECT_FAILED',
        `kafka provider: expected the topics ${this.topicPrefix}.<kind> at ${this.target}, found ${errorText(error)}`,
        { cause: error },
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    this.kafka = kafka;
    this.sink = sink;
    // Reconnected: go on after the last message merged.
    if (this.loop !== null) this.start();
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    this.wanted.set(symbol, kinds);
    return Promise.resolve();
  }

  unsubscribe(symbol: string): Promise<void> {
    this.wanted.delete(symbol);
    return Promise.resolve();
  }

  ready(): void {
    if (this.loop === null && this.kafka !== null) this.start();
  }

  private start(): void {
    const gen = ++this.gen;
    this.loop = this.run(gen, this.kafka!, this.sink!);
  }

  private live(gen: number): boolean {
    return gen === this.gen && !this.stopped;
  }

  private async run(gen: number, kafka: Kafka, sink: EventSink): Promise<void> {
    try {
      if (this.ended) {
        sink.end();
        return;
      }
      if (this.sources === null) this.sources = await this.plan(kafka);
      const sources = this.sources;
      for (const s of sources) {
        s.next = s.taken;
        s.buf = [];
        s.head = 0;
        s.paused = false;
      }
      const open = sources.filter((s) => s.next < s.high);
      if (open.length > 0) await this.startConsumer(gen, kafka, open);
      if (!this.live(gen)) return;
      await this.merge(gen, sink, sources);
    } catch (error) {
      this.fail(gen, error);
    }
  }

  /** The partitions of the kinds subscribed, with their ends (and starts) as of now. */
  private async plan(kafka: Kafka): Promise<Source[]> {
    const kinds = this.wanted.kinds();
    kinds.delete('bar');
    const admin: Admin = kafka.admin();
    await admin.connect();
    try {
      const sources: Source[] = [];
      for (let rank = 0; rank < READ_KINDS.length; rank++) {
        const topic = `${this.topicPrefix}.${READ_KINDS[rank]!}`;
        if (!kinds.has(READ_KINDS[rank]!) || !this.topics.has(topic)) continue;
        const ends = await admin.fetchTopicOffsets(topic);
        const from = new Map<number, number>();
        if (this.options.fromTime !== undefined && this.options.seekByTimestamp !== false) {
          const at = await admin.fetchTopicOffsetsByTimestamp(topic, Number(this.options.fromTime / 1_000_000n));
          for (const o of at) from.set(o.partition, Number(o.offset));
        }
        for (const o of ends.sort((a, b) => a.partition - b.partition)) {
          const start = Math.max(Number(o.low), from.get(o.partition) ?? 0);
          sources.push({
            topic,
            rank,
            partition: o.partition,
            high: this.follow ? Infinity : Number(o.high),
            hw: Number(o.high),
            next: start,
            taken: start,
            buf: [],
            head: 0,
            paused: false,
          });
        }
      }
      return sources;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private async startConsumer(gen: number, kafka: Kafka, open: readonly Source[]): Promise<void> {
    const consumer = kafka.consumer({
      groupId: this.options.groupId ?? `mdcap-replay-${randomUUID()}`,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 500,
      // A crash is the engine's to handle (it reconnects), not kafkajs's to restart.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: this.timeoutMs, restartOnFailure: () => Promise.resolve(false) },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart || !this.live(gen)) return;
      this.fail(gen, event.payload.error);
    });
    // Batches of only filtered records (control records, compaction) still move the position.
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const p = event.payload;
      if (p.batchSize !== 0 || !this.live(gen)) return;
      const s = this.source(p.topic, p.partition);
      if (s !== null && Number(p.lastOffset) + 1 > s.next) {
        s.next = Math.min(s.high, Number(p.lastOffset) + 1);
        this.afterTake(s);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set(open.map((s) => s.topic))], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        this.take(gen, batch);
        return Promise.resolve();
      },
    });
    for (const s of open) consumer.seek({ topic: s.topic, partition: s.partition, offset: String(s.next) });
    // Partitions already read to their end (or empty) are not fetched.
    for (const s of this.sources!) if (s.next >= s.high && open.some((o) => o.topic === s.topic)) this.pausePartition(s);
  }

  private source(topic: string, partition: number): Source | null {
    for (const s of this.sources ?? []) if (s.topic === topic && s.partition === partition) return s;
    return null;
  }

  private pausePartition(s: Source): void {
    if (s.paused) return;
    s.paused = true;
    this.consumer?.pause([{ topic: s.topic, partitions: [s.partition] }]);
  }

  private resumePartition(s: Source): void {
    if (!s.paused) return;
    s.paused = false;
    this.consumer?.resume([{ topic: s.topic, partitions: [s.partition] }]);
  }

  /** Takes in a fetched batch: decodes what lies between the position and the end, into the partition's buffer. */
  private take(gen: number, batch: Batch): void {
    if (!this.live(gen)) return;
    const s = this.source(batch.topic, batch.partition);
    if (s === null || s.next >= s.high) return;
    const hw = Number(batch.highWatermark);
    if (hw > s.hw) s.hw = hw;
    const from = this.options.fromTime;
    const items = this.decoded;
    try {
      for (const m of batch.messages) {
        const offset = Number(m.offset);
        if (offset < s.next) continue; // before a seek took effect, or fetched twice
        if (offset >= s.high) break;
        s.next = offset + 1;
        this.counts.messages++;
        if (m.value === null) continue;
        items.length = 0;
        try {
          decodeBatch(m.value, items);
        } catch (error) {
          throw new MdcapError(
            'MDCAP_ERR_PROTOCOL',
            `kafka provider: ${s.topic} partition ${s.partition} offset ${offset}: expected a protobuf mdcap.v1.EventBatch, found ${errorText(error)}`,
            { cause: error },
          );
        }
        for (const item of items) {
          if (!('tsRecv' in item) || item.type === 'bar') continue;
          const e = item as MarketEvent;
          if (e.venue !== this.venue || (from !== undefined && e.tsRecv < from)) continue;
          const ord = headerText(m.headers, KAFKA_ORD_HEADER);
          s.buf.push({
            e,
            key: headerText(m.headers, KAFKA_KEY_HEADER),
            ord: ord === null ? Infinity : Number(ord),
            offset,
            at: this.follow ? this.wall.now() : 0n,
          });
        }
      }
    } catch (error) {
      this.fail(gen, error);
      return;
    }
    this.afterTake(s);
  }

  private afterTake(s: Source): void {
    if (s.next >= s.high || s.buf.length - s.head >= this.maxBuffered) this.pausePartition(s);
    this.notify();
  }

  private wakeAt(at: bigint): void {
    if (this.timer !== null) this.wall.clearTimer(this.timer);
    this.timer = this.wall.setTimer(at, () => {
      this.timer = null;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** A failure of the current connection: the engine hears of it once (a malformed message ends the feed). */
  private fail(gen: number, error: unknown): void {
    if (!this.live(gen)) return;
    const sink = this.sink!;
    this.gen++;
    this.notify();
    void this.dropConsumer();
    if (error instanceof MdcapError && error.code === 'MDCAP_ERR_PROTOCOL') {
      this.stopped = true;
      sink.end(error);
    } else {
      sink.lost(
        error instanceof MdcapError
          ? error
          : new MdcapError('MDCAP_ERR_CONNECT_FAILED', `kafka provider (${this.target}): ${errorText(error)}`, { cause: error }),
      );
    }
  }

  private async merge(gen: number, sink: EventSink, sources: readonly Source[]): Promise<void> {
    let sinceYield = 0;
    for (;;) {
      if (!this.live(gen)) return;
      if (this.gate.paused) {
        await this.gate.open();
        continue;
      }
      let best: Source | null = null;
      let waiting: Source | null = null;
      let quiet = false;
      for (const s of sources) {
        if (s.head < s.buf.length) {
          if (best === null || before(s.buf[s.head]!, s, best.buf[best.head]!, best)) best = s;
        } else if (s.next < s.high) {
          // Live, a partition that has caught up with the broker holds the merge only for a while.
          if (this.follow && s.next >= s.hw) {
            quiet = true;
            continue;
          }
          waiting = s;
          break;
        }
      }
      if (waiting !== null) {
        // Nothing can go out before every partition that is not done has shown its next event.
        this.resumePartition(waiting);
        await this.changed();
        continue;
      }
      if (best === null && this.follow) {
        await this.changed();
        continue;
      }
      if (best !== null && quiet) {
        const due = best.buf[best.head]!.at + this.maxDelayNs;
        if (this.wall.now() < due) {
          this.wakeAt(due);
          await this.changed();
          continue;
        }
      }
      if (best === null) {
        this.ended = true;
        this.stopped = true;
        await this.dropConsumer();
        sink.end();
        return;
      }
      const r = best.buf[best.head]!;
      best.buf[best.head++] = undefined;
      best.taken = r.offset + 1;
      if (best.head >= 4_096 && best.head * 2 >= best.buf.length) {
        best.buf = best.buf.slice(best.head);
        best.head = 0;
      }
      if (best.paused && best.next < best.high && best.buf.length - best.head <= this.maxBuffered >> 2) this.resumePartition(best);
      this.deliver(r, sink);
      if (++sinceYield >= 1_024) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  private deliver(r: Rec, sink: EventSink): void {
    const e = r.e;
    if (!this.wanted.wants(e)) return;
    if (r.key !== null) {
      const stream = `${e.venue}\u0000${e.symbol}\u0000${e.type}`;
      let keys = this.seen.get(stream);
      if (keys === undefined) this.seen.set(stream, (keys = new Set<string>()));
      if (keys.has(r.key)) {
        this.counts.repeats++;
        return;
      }
      keys.add(r.key);
      if (keys.size > this.dedupeWindow) keys.delete(keys.values().next().value!);
    }
    if (this.lastTsRecv !== null && e.tsRecv < this.lastTsRecv) {
      this.counts.late++;
      sink.push(lateStatus(e, this.lastTsRecv, 'kafka provider'));
      return;
    }
    this.lastTsRecv = e.tsRecv;
    this.counts.delivered++;
    sink.push(e);
  }

  private async dropConsumer(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    await c?.disconnect().catch(() => undefined);
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
  }

  async disconnect(): Promise<void> {
    if (this.timer !== null) this.wall.clearTimer(this.timer);
    this.timer = null;
    this.stopped = true;
    this.gen++;
    this.notify();
    this.resume();
    this.kafka = null;
    await this.dropConsumer();
    await this.loop?.catch(() => undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }
}
