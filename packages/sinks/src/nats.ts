import { describeValue, MdcapError, PauseGate, VirtualClock } from '@mdcap/core';
import type { DataProvider, EventSink, MarketEvent, SequenceRule, SubscriptionKind } from '@mdcap/core';
import { SUBSCRIPTION_KINDS } from '@mdcap/core';
import { ProtoWriter, decodeBatch, writeEvent } from '@mdcap/serve';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, JsMsg, OrderedConsumerOptions, PubAck } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { EventKeyer } from './keys.js';
import { Subscriptions } from './subscriptions.js';
import type { Sink } from './sink.js';
import { parseUrl, redactUrl } from './url.js';

/**
 * The scale-out bus: one JetStream stream per venue (`MD_<venue>`), subjects
 * `md.<venue>.<kind>.<symbol>`, each message one event as a protobuf `mdcap.v1.EventBatch` (the
 * encoding `mdcap serve` speaks; prices as mantissa and scale), its event key as the message id
 * so JetStream drops a repeat within the stream's duplicate window. The stream's description
 * carries the venue and its sequencing rule, so a recorder on another machine can keep it.
 * Each message also carries the header `Mdcap-Ord`: the publishing sink's running count of the
 * events it sent (ranges `a-b,c` for a batch), by which a reader of several venue streams restores
 * the publisher's order of events that share a receive time.
 */

/** The header holding the events' places in the publisher's stream of events. */
export const NATS_ORD_HEADER = 'Mdcap-Ord';

/** `Mdcap-Ord` for the events of one message: their ords as ranges, `a-b` or `a` each, comma-separated. */
export function ordRanges(ords: readonly number[]): string {
  let out = '';
  for (let i = 0; i < ords.length;) {
    let j = i;
    while (j + 1 < ords.length && ords[j + 1] === ords[j]! + 1) j++;
    out += `${out === '' ? '' : ','}${ords[i]}${j > i ? `-${ords[j]}` : ''}`;
    i = j + 1;
  }
  return out;
}

/**
 * Expands an `Mdcap-Ord` header into `out` (one ord per event of the message); false when the
 * header is absent or not ranges (a message not published by mdcap), leaving `out` empty.
 */
export function parseOrdRanges(text: string | null | undefined, out: number[]): boolean {
  out.length = 0;
  if (text === null || text === undefined || text === '') return false;
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) {
      out.length = 0;
      return false;
    }
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let k = a; k <= b; k++) out.push(k);
  }
  return true;
}

/** A subject token for a venue or symbol: bytes outside `A-Z a-z 0-9 _ - /` as `%XX` (no `.`, `*`, `>` or space survive). */
export function subjectToken(v: string): string {
  let out = '';
  for (const b of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_\-/]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out === '' ? '%' : out;
}

/** The stream of a venue: `<prefix>_<venue>`, with what a stream name may not hold as `_XX`. */
export function streamName(prefix: string, venue: string): string {
  let out = '';
  for (const b of Buffer.from(venue, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${prefix}_${out}`;
}

interface StreamMeta {
  readonly mdcap: 1;
  readonly venue: string;
  readonly sequencing: SequenceRule;
}

export interface NatsSinkOptions {
  /** `nats://host:port` (a comma-separated list for a cluster). */
  readonly url: string;
  /** Stream name prefix (default `MD`: `MD_kraken`). */
  readonly streamPrefix?: string;
  /** Subject prefix (default `md`). */
  readonly subjectPrefix?: string;
  /** How long JetStream remembers message ids to drop repeats (default 2 minutes). */
  readonly duplicateWindowMs?: number;
  /** The venues' sequencing rules, kept in each stream's description (default `monotonic-per-kind`). */
  readonly sequencing?: Readonly<Record<string, SequenceRule>>;
  /** Publishes awaiting their acknowledgement at once (default 4,096). */
  readonly maxInFlight?: number;
  /** A publish not acknowledged after this long fails (and the batch is retried) (default 10,000 ms). */
  readonly timeoutMs?: number;
  /**
   * `event` (default): one message per event on `md.<venue>.<kind>.<symbol>`, for consumers that
   * pick by subject. `batch`: up to `batchEvents` events of one venue per message, in order, on
   * `md.<venue>.batch` (an order of magnitude more events per second; consumers take whole
   * batches). The message id of a batch is its first and last event keys and its size.
   */
  readonly messages?: 'event' | 'batch';
  /** Events per message in `batch` mode (default 1,000). */
  readonly batchEvents?: number;
}

function ordHeader(value: string): MsgHdrs {
  const h = headers();
  h.set(NATS_ORD_HEADER, value);
  return h;
}

function servers(url: string, what: string): string[] {
  return url.split(',').map((u) => {
    const p = parseUrl(u.trim(), what, ['nats']);
    return `${p.hostname}:${p.port === '' ? '4222' : p.port}`;
  });
}

/** Publishes events to JetStream, creating each venue's stream on first sight. Idempotent by message id. */
export class NatsSink implements Sink {
  readonly kind = 'nats';
  readonly target: string;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private readonly streams = new Set<string>();
  /** Batch mode: the symbols each venue stream has a marker for (see `publishBatches`). */
  private readonly marked = new Map<string, Set<string>>();
  private readonly keyer = new EventKeyer();
  private readonly w = new ProtoWriter(4096);
  private readonly streamPrefix: string;
  private readonly subjectPrefix: string;
  private readonly maxInFlight: number;
  /** Events sent so far (the ord of the next one; see {@link NATS_ORD_HEADER}). */
  private ord = 0;
  /** Messages JetStream reported as repeats (already in the stream). */
  duplicates = 0;

  constructor(private readonly options: NatsSinkOptions) {
    this.target = redactUrl(options.url);
    servers(options.url, 'nats sink');
    this.streamPrefix = options.streamPrefix ?? 'MD';
    this.subjectPrefix = options.subjectPrefix ?? 'md';
    this.maxInFlight = options.maxInFlight ?? 4_096;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `nats maxInFlight: expected a positive integer, found ${describeValue(this.maxInFlight)}`,
      );
    }
  }

  async open(): Promise<void> {
    if (this.nc !== null) return;
    const nc = await connect({
      servers: servers(this.options.url, 'nats sink'),
      timeout: this.options.timeoutMs ?? 10_000,
      reconnect: false,
    });
    this.nc = nc;
    this.jsm = await jetstreamManager(nc, { timeout: this.options.timeoutMs ?? 10_000 });
    this.js = jetstream(nc, { timeout: this.options.timeoutMs ?? 10_000 });
  }

  private async ensureStream(venue: string): Promise<void> {
    if (this.streams.has(venue)) return;
    const name = streamName(this.streamPrefix, venue);
    const meta: StreamMeta = { mdcap: 1, venue, sequencing: this.options.sequencing?.[venue] ?? 'monotonic-per-kind' };
    const jsm = this.jsm!;
    const exists = await jsm.streams.info(name).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await jsm.streams.add({
        name,
        subjects: [`${this.subjectPrefix}.${subjectToken(venue)}.>`],
        description: JSON.stringify(meta),
        duplicate_window: (this.options.duplicateWindowMs ?? 120_000) * 1_000_000,
      });
    }
    this.streams.add(venue);
  }

  subject(e: MarketEvent): string {
    return `${this.subjectPrefix}.${subjectToken(e.venue)}.${e.type}.${subjectToken(e.symbol)}`;
  }

  async write(batch: readonly MarketEvent[]): Promise<void> {
    const js = this.js;
    if (js === null) throw new MdcapError('MDCAP_ERR_SINK_WRITE', `sink nats (${this.target}): write before open`);
    const checkpoint = this.keyer.checkpoint();
    const ord = this.ord;
    const newlyMarked: [Set<string>, string][] = [];
    try {
      let inFlight: Promise<PubAck>[] = [];
      const settle = async (): Promise<void> => {
        const acks = await Promise.all(inFlight);
        for (const a of acks) if (a.duplicate) this.duplicates++;
        inFlight = [];
      };
      if (this.options.messages === 'batch') {
        await this.publishBatches(js, batch, inFlight, newlyMarked);
      } else {
        for (const e of batch) {
          await this.ensureStream(e.venue);
          const w = this.w;
          w.reset();
          writeEvent(w, e);
          // The id is unique within the venue's stream: kind, key, then the symbol (which may hold anything).
          const msgID = `${e.type}:${this.keyer.text(e)}:${e.symbol}`;
          inFlight.push(js.publish(this.subject(e), w.take(), { msgID, headers: ordHeader(String(this.ord++)) }));
          if (inFlight.length >= this.maxInFlight) await settle();
        }
      }
      await settle();
    } catch (error) {
      // The retry must give its events the same keys and ords, or a repeat could not be told.
      this.keyer.restore(checkpoint);
      this.ord = ord;
      for (const [set, symbol] of newlyMarked) set.delete(symbol);
      throw new MdcapError(
        'MDCAP_ERR_SINK_WRITE',
        `sink nats (${this.target}): publishing ${batch.length} events failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /** `batch` mode: each venue's events, in order, `batchEvents` to a message. */
  private async publishBatches(
    js: JetStreamClient,
    batch: readonly MarketEvent[],
    inFlight: Promise<PubAck>[],
    newlyMarked: [Set<string>, string][],
  ): Promise<void> {
    const per = this.options.batchEvents ?? 1_000;
    // Each venue's events, with their places in the whole batch (the stream's ords).
    const byVenue = new Map<string, { events: MarketEvent[]; ords: number[] }>();
    for (const e of batch) {
      let l = byVenue.get(e.venue);
      if (l === undefined) byVenue.set(e.venue, (l = { events: [], ords: [] }));
      l.events.push(e);
      l.ords.push(this.ord++);
    }
    for (const [venue, { events, ords }] of byVenue) {
      await this.ensureStream(venue);
      for (let i = 0; i < events.length; i += per) {
        const w = this.w;
        w.reset();
        let first = '';
        let last = '';
        const end = Math.min(events.length, i + per);
        for (let j = i; j < end; j++) {
          const e = events[j]!;
          writeEvent(w, e);
          // Every event moves the keyer; only the first and last name the message.
          if (j === i || j === end - 1) {
            const id = `${e.type}:${this.keyer.text(e)}:${e.symbol}`;
            if (j === i) first = id;
            last = id;
          } else this.keyer.key(e);
        }
        inFlight.push(
          js.publish(`${this.subjectPrefix}.${subjectToken(venue)}.batch`, w.take(), {
            msgID: `batch|${end - i}|${first}|${last}`,
            headers: ordHeader(ordRanges(ords.slice(i, end))),
          }),
        );
      }
      // A batch's subject names no symbol, so each symbol gets one empty message on
      // `md.<venue>.sym.<symbol>`, after its first batch (a stream then starts with events): a
      // reader finds the stream's symbols among its subjects, as in event mode. A restarted sink
      // sends its markers again; they carry no event.
      let marked = this.marked.get(venue);
      if (marked === undefined) this.marked.set(venue, (marked = new Set<string>()));
      for (const e of events) {
        if (marked.has(e.symbol)) continue;
        marked.add(e.symbol);
        newlyMarked.push([marked, e.symbol]);
        const subject = `${this.subjectPrefix}.${subjectToken(venue)}.sym.${subjectToken(e.symbol)}`;
        inFlight.push(js.publish(subject, new Uint8Array(0), { msgID: `sym:${e.symbol}` }));
      }
    }
  }

  async reset(): Promise<void> {
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    this.jsm = null;
    this.streams.clear();
    await nc?.close().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.reset();
  }
}

export interface NatsProviderOptions {
  /** `nats://host:port`. */
  readonly url: string;
  /** The venue whose stream to read (`MD_<venue>`). */
  readonly venue: string;
  /** Stream name prefix (default `MD`). */
  readonly streamPrefix?: string;
  /**
   * Where to start: `all` (default: the stream from its first message), `new` (only what is
   * published from now on), a stream sequence number, or a time (ns since the epoch) that
   * JetStream finds by its own store time.
   */
  readonly from?: 'all' | 'new' | { readonly seq: number } | { readonly time: bigint };
  /**
   * `true` (default): keep reading as messages arrive (a live feed over the bus). `false`: stop
   * at the last message the stream held when the provider connected, and end (a deterministic
   * replay of what was published).
   */
  readonly follow?: boolean;
  /** The clock the engine runs on (default a new VirtualClock): it is the stream's own time, as in a replay. */
  readonly clock?: VirtualClock;
  /** The venue's sequencing rule (default: what the stream's description says, once connected; see {@link describeNatsStream}). */
  readonly sequencing?: SequenceRule;
}

/** What a venue's stream holds, before an engine starts on it (a recorder needs the symbols and the rule first). */
export interface NatsStreamInfo {
  readonly stream: string;
  readonly venue: string;
  /** Symbols with messages in the stream, sorted. */
  readonly symbols: string[];
  readonly sequencing: SequenceRule;
  readonly messages: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Receive time of the stream's first event (null for an empty stream): where a replay of it starts its clock. */
  readonly firstTsRecv: bigint | null;
}

function symbolOfSubject(subject: string): string | null {
  const parts = subject.split('.');
  if (parts.length !== 4) return null;
  try {
    return decodeURIComponent(parts[3]!);
  } catch {
    return null;
  }
}

/**
 * Reads a venue stream's description and subjects: its symbols and sequencing rule.
 * @throws {MdcapError} `MDCAP_ERR_CONNECT_FAILED` when the server or the stream is not there.
 */
export async function describeNatsStream(url: string, venue: string, streamPrefix = 'MD'): Promise<NatsStreamInfo> {
  const stream = streamName(streamPrefix, venue);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: servers(url, 'nats'), reconnect: false });
  } catch (error) {
    throw new MdcapError(
      'MDCAP_ERR_CONNECT_FAILED',
      `nats: expected a NATS server at ${redactUrl(url)}, found none (${(error as Error).message})`,
    );
  }
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream, { subjects_filter: '>' }).catch((error: unknown) => {
      throw new MdcapError(
        'MDCAP_ERR_CONNECT_FAILED',
        `nats: expected a stream ${stream} for venue ${venue} at ${redactUrl(url)}, found none (${(error as Error).message})`,
      );
    });
    let sequencing: SequenceRule = 'monotonic-per-kind';
    try {
      const meta = JSON.parse(info.config.description ?? '{}') as Partial<StreamMeta>;
      if (meta.sequencing === 'contiguous') sequencing = 'contiguous';
    } catch {
      // a stream not made by mdcap: the default rule
    }
    const symbols = new Set<string>();
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const s = symbolOfSubject(subject);
      if (s !== null && s !== '*') symbols.add(s);
    }
    const first = info.state.messages === 0 ? null : await jsm.streams.getMessage(stream, { seq: info.state.first_seq }).catch(() => null);
    const item = first === null ? undefined : decodeBatch(first.data).items[0];
    return {
      stream,
      venue,
      symbols: [...symbols].sort(),
      sequencing,
      messages: info.state.messages,
      firstSeq: info.state.first_seq,
      lastSeq: info.state.last_seq,
      firstTsRecv: item !== undefined && 'tsRecv' in item ? item.tsRecv : null,
    };
  } finally {
    await nc.close();
  }
}

/**
 * Feeds a `RealtimeEngine` from a venue's JetStream stream, on any machine: the events as they
 * were published (their venue, receive times and sequence numbers kept), on a clock that follows
 * their receive times, so every engine reading the stream sees the same callbacks and the same
 * bars. A lost connection is reported to the engine, which reconnects; the provider goes on after
 * the last stream sequence it delivered.
 */
export class NatsProvider implements DataProvider {
  readonly venue: string;
  readonly clock: VirtualClock;
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS;
  readonly validatesEvents = false;
  sequencing: SequenceRule = 'monotonic-per-kind';
  private nc: NatsConnection | null = null;
  private sink: EventSink | null = null;
  private readonly wanted = new Subscriptions();
  private lastSeq = 0;
  private endSeq: number | null = null;
  private stopped = false;
  private readonly gate = new PauseGate();
  private loop: Promise<void> | null = null;
  private readonly stream: string;
  private readonly decoded: ReturnType<typeof decodeBatch>['items'] = [];
  private readonly ords: number[] = [];
  /** Messages read from the stream, and of those, events delivered (subscribed symbol and kind). */
  readonly counts = { messages: 0, delivered: 0 };
  /**
   * The publisher's ord of the event being pushed (see {@link NATS_ORD_HEADER}; +Infinity for a
   * message without the header), read by a {@link MergedNatsProvider} during `push`.
   */
  ord: number = Infinity;
  /**
   * True when the stream had nothing more for this reader as of the last message delivered (or
   * when it started, for a stream with nothing to deliver): in a live merge, a stream that is
   * caught up and quiet may hold the others back only for a while.
   */
  caughtUp = false;
  /** Called after each message is taken in, whatever it delivered (a merge re-checks who holds it back). */
  onMessage: (() => void) | null = null;

  /**
   * A provider whose clock already stands at the stream's first event and whose sequencing rule
   * is the stream's: what a recorder needs before it starts (it sets its timers first). The
   * constructor leaves both until `connect`.
   * @throws {MdcapError} `MDCAP_ERR_CONNECT_FAILED` when the server or the stream is not there.
   */
  static async open(options: NatsProviderOptions): Promise<NatsProvider> {
    const info = await describeNatsStream(options.url, options.venue, options.streamPrefix);
    const clock = options.clock ?? new VirtualClock(info.firstTsRecv ?? 0n);
    return new NatsProvider({ sequencing: info.sequencing, ...options, clock });
  }

  constructor(private readonly options: NatsProviderOptions) {
    servers(options.url, 'nats provider');
    this.venue = options.venue;
    this.clock = options.clock ?? new VirtualClock();
    this.stream = streamName(options.streamPrefix ?? 'MD', options.venue);
    if (options.sequencing !== undefined) this.sequencing = options.sequencing;
  }

  async connect(sink: EventSink): Promise<void> {
    this.stopped = false;
    const nc = await connect({ servers: servers(this.options.url, 'nats provider'), reconnect: false });
    this.nc = nc;
    this.sink = sink;
    const jsm = await jetstreamManager(nc);
    let info;
    try {
      info = await jsm.streams.info(this.stream);
    } catch (error) {
      await nc.close();
      this.nc = null;
      throw new MdcapError(
        'MDCAP_ERR_CONNECT_FAILED',
        `nats provider: expected a stream ${this.stream} for venue ${this.venue} at ${redactUrl(this.options.url)}, found none (${(error as Error).message})`,
      );
    }
    try {
      const meta = JSON.parse(info.config.description ?? '{}') as Partial<StreamMeta>;
      if (this.options.sequencing === undefined && (meta.sequencing === 'contiguous' || meta.sequencing === 'monotonic-per-kind')) {
        this.sequencing = meta.sequencing;
      }
    } catch {
      // a stream not made by mdcap: the default rule
    }
    if (this.options.follow === false && this.endSeq === null) this.endSeq = info.state.last_seq;
    if (this.lastSeq === 0) await this.startClock(jsm, info.state.first_seq, info.state.last_seq, info.state.messages);
    void nc.closed().then((error) => {
      if (this.stopped || this.nc !== nc) return;
      this.nc = null;
      sink.lost(error ?? new Error(`nats provider: the connection to ${redactUrl(this.options.url)} closed`));
    });
    // Reconnected: go on after the last message delivered.
    if (this.loop !== null || this.lastSeq > 0) this.loop = this.run(nc);
  }

  /**
   * Moves a fresh clock to where the stream starts (the receive time of its first message to
   * deliver), as a replay starts at its first event: timers set before the first event (a
   * recorder's flushes) then fall in the stream's time, not at the epoch.
   */
  private async startClock(jsm: JetStreamManager, firstSeq: number, lastSeq: number, messages: number): Promise<void> {
    const from = this.options.from ?? 'all';
    let t: bigint | null = null;
    if (typeof from === 'object' && 'time' in from) t = from.time;
    else if (messages > 0) {
      const seq = from === 'all' ? firstSeq : from === 'new' ? lastSeq : Math.max(from.seq, firstSeq);
      const m = await jsm.streams.getMessage(this.stream, { seq }).catch(() => null);
      const item = m === null ? undefined : decodeBatch(m.data).items[0];
      if (item !== undefined && 'tsRecv' in item) t = item.tsRecv;
    }
    if (t !== null && t > this.clock.now()) this.clock.advanceTo(t);
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
    if (this.loop === null && this.nc !== null) this.loop = this.run(this.nc);
  }

  private startOptions(): Partial<OrderedConsumerOptions> {
    if (this.lastSeq > 0) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.lastSeq + 1 };
    const from = this.options.from ?? 'all';
    if (from === 'all') return { deliver_policy: DeliverPolicy.All };
    if (from === 'new') return { deliver_policy: DeliverPolicy.New };
    if ('seq' in from) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.seq };
    return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Number(from.time / 1_000_000n)).toISOString() };
  }

  private async run(nc: NatsConnection): Promise<void> {
    const sink = this.sink!;
    if (this.endSeq !== null && this.lastSeq >= this.endSeq) {
      sink.end();
      return;
    }
    try {
      const js = jetstream(nc);
      const consumer = await js.consumers.get(this.stream, this.startOptions());
      this.caughtUp = (await consumer.info()).num_pending === 0;
      this.onMessage?.();
      const messages = await consumer.consume({ max_messages: 4_096 });
      for await (const m of messages) {
        if (this.stopped || this.nc !== nc) break;
        if (this.gate.paused) await this.gate.open();
        this.deliver(m, sink);
        if (this.endSeq !== null && m.seq >= this.endSeq) {
          messages.stop();
          this.stopped = true;
          sink.end();
          break;
        }
      }
    } catch (error) {
      if (!this.stopped && this.nc === nc) {
        this.nc = null;
        await nc.close().catch(() => undefined);
        sink.lost(error);
      }
    }
  }

  private deliver(m: JsMsg, sink: EventSink): void {
    this.counts.messages++;
    this.lastSeq = m.seq;
    this.caughtUp = m.info.pending === 0;
    const items = this.decoded;
    items.length = 0;
    decodeBatch(m.data, items);
    const ords = this.ords;
    const ordered = parseOrdRanges(m.headers?.get(NATS_ORD_HEADER), ords) && ords.length === items.length;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (!('tsRecv' in item) || item.type === 'bar') continue;
      const e = item as MarketEvent;
      if (!this.wanted.wants(e)) continue;
      this.counts.delivered++;
      this.ord = ordered ? ords[i]! : Infinity;
      sink.push(e);
    }
    this.onMessage?.();
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
  }

  async disconnect(): Promise<void> {
    this.stopped = true;
    this.resume();
    const nc = this.nc;
    this.nc = null;
    await nc?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    this.loop = null;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }
}
