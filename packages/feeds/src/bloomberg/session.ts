import { ALL_SYMBOLS, createQuote, createTrade, describeValue, MdcapError, parseDecimal } from '@mdcap/core';
import type { Clock, EventSink, SubscriptionKind } from '@mdcap/core';
import type { PairScales } from '../frame.js';
import { FeedOutput } from '../transport/feed-output.js';
import type { BlpapiModule, BlpDatetime, BlpEvent, BlpMessage, BlpSession } from './binding.js';

/** The options of a Bloomberg feed that are plain data (they cross to the worker thread). */
export interface BloombergOptions {
  /** The BLPAPI binding: a package name or a path to a module (default `blpapi`). */
  readonly module?: string;
  /** The Terminal (Desktop API), SAPI or B-PIPE host and port (default localhost:8194). */
  readonly host?: string;
  readonly port?: number;
  /** Venue name on the events (default `bloomberg`). */
  readonly venue?: string;
  /** The subscription service (default `//blp/mktdata`). */
  readonly service?: string;
  /** Fields to subscribe (default {@link DEFAULT_FIELDS}). */
  readonly fields?: readonly string[];
  /** Scales per security; others get `priceScale` / `sizeScale`. */
  readonly scales?: ReadonlyMap<string, PairScales>;
  /** Default scales: 9 for prices (int64 holds up to 9.2 billion), 8 for sizes. */
  readonly priceScale?: number;
  readonly sizeScale?: number;
  /** Longest single `nextEvent` wait, ms (default 50): how soon the loop sees a command. */
  readonly pollMs?: number;
}

export const BLOOMBERG_DEFAULTS = {
  host: 'localhost',
  port: 8194,
  venue: 'bloomberg',
  service: '//blp/mktdata',
  priceScale: 9,
  sizeScale: 8,
};

/** Real-time fields subscribed by default: last trade, best bid and ask, and their times. */
export const DEFAULT_FIELDS: readonly string[] = [
  'LAST_PRICE',
  'SIZE_LAST_TRADE',
  'BID',
  'ASK',
  'BID_SIZE',
  'ASK_SIZE',
  'EVT_TRADE_TIME_RT',
  'BID_UPDATE_STAMP_RT',
  'ASK_UPDATE_STAMP_RT',
];

const TRADE_PRICE = ['EVT_TRADE_PRICE_RT', 'LAST_PRICE', 'LAST_TRADE'];
const TRADE_SIZE = ['EVT_TRADE_SIZE_RT', 'SIZE_LAST_TRADE'];
const TRADE_TIME = ['EVT_TRADE_TIME_RT', 'TRADE_UPDATE_STAMP_RT'];
const QUOTE_TIME = ['BID_UPDATE_STAMP_RT', 'ASK_UPDATE_STAMP_RT'];
/** Trade subtypes that are not a new trade: an initial paint of the last one, a cancel or correction of an earlier one. */
const NOT_A_NEW_TRADE = new Set(['INITPAINT', 'CANCEL', 'CORRECTION']);
const NS_PER_DAY = 86_400_000_000_000n;

/** A field value that cannot be an exact decimal at the instrument's scale: the tick is skipped, with a gap status. */
class FieldError extends Error {}

/**
 * A BLPAPI float as an exact mantissa at `scale`: the double's shortest round-trip decimal text
 * (`String(x)`, which is the decimal the vendor meant whenever it has at most 15 significant
 * digits) parsed exactly. No float arithmetic, no rounding: a value with more decimals than
 * the scale (`0.30000000000000004`), NaN or an infinity is refused.
 * @throws {MdcapError} `MDCAP_ERR_DECIMAL_PRECISION`, `MDCAP_ERR_DECIMAL_SYNTAX`, `MDCAP_ERR_DECIMAL_RANGE`.
 */
export function floatToMantissa(value: number, scale: number): bigint {
  return parseDecimal(value, scale);
}

/**
 * A BLPAPI Datetime in ns since the epoch, exact to the precision it has. A time of day without
 * a date (`*_TIME_RT` fields) takes the UTC date of `tsRecv`, the day before if that would put
 * it more than 12 hours after `tsRecv`.
 */
export function datetimeToNs(dt: BlpDatetime | Date, tsRecv: bigint): bigint {
  if (dt instanceof Date) {
    const ms = dt.getTime();
    if (!Number.isFinite(ms)) throw new FieldError('an invalid date');
    return BigInt(ms) * 1_000_000n;
  }
  const fraction =
    typeof dt.nanoseconds === 'function'
      ? BigInt(dt.nanoseconds())
      : typeof dt.microseconds === 'function'
        ? BigInt(dt.microseconds()) * 1_000n
        : BigInt(dt.milliseconds?.() ?? 0) * 1_000_000n;
  const offsetNs = BigInt(dt.offset?.() ?? 0) * 60_000_000_000n;
  const timeOfDay = BigInt(((dt.hours() * 60 + dt.minutes()) * 60 + dt.seconds()) * 1000) * 1_000_000n + fraction - offsetNs;
  const dated = dt.hasDate?.() ?? dt.year() > 0;
  if (dated) return BigInt(Date.UTC(dt.year(), dt.month() - 1, dt.day())) * 1_000_000n + timeOfDay;
  const day = tsRecv - (((tsRecv % NS_PER_DAY) + NS_PER_DAY) % NS_PER_DAY);
  const t = day + timeOfDay;
  return t - tsRecv > NS_PER_DAY / 2n ? t - NS_PER_DAY : t;
}

interface Subscription {
  readonly symbol: string;
  readonly kinds: ReadonlySet<SubscriptionKind>;
  readonly scales: PairScales;
  /** The last best bid and ask (a quote message may carry one side only). */
  bid: bigint | null;
  bidSize: bigint;
  ask: bigint | null;
  askSize: bigint;
}

export interface BloombergStats {
  sessions: number;
  events: number;
  messages: number;
  trades: number;
  quotes: number;
  /** Ticks skipped because a value did not fit its scale (each one a gap status). */
  refused: number;
  subscriptionFailures: number;
  /** Messages the SDK reported dropped (DataLoss). */
  dataLoss: number;
  slowConsumerWarnings: number;
}

/** Every count at zero: a session's start, and what the feed reports before its thread has any. */
export function emptyBloombergStats(): BloombergStats {
  return {
    sessions: 0,
    events: 0,
    messages: 0,
    trades: 0,
    quotes: 0,
    refused: 0,
    subscriptionFailures: 0,
    dataLoss: 0,
    slowConsumerWarnings: 0,
  };
}

/** Called when Bloomberg refuses a subscription (the symbol's error: `MDCAP_ERR_UNKNOWN_SYMBOL`). */
export type SubscriptionFailed = (symbol: string, error: MdcapError) => void;

let nextCorrelation = 1;

/**
 * One BLPAPI session of the Bloomberg feed and what its events become, on whatever thread drives
 * it (the feed's worker thread). `pump(timeoutMs)` blocks in `nextEvent` and hands what came
 * to the sink: trades and quotes for subscribed securities, statuses for what else happened
 * (docs/feeds.md, Bloomberg). A terminated session is reported once with `sink.lost`; the
 * engine's reconnect policy then calls `connect` again, which starts a new Session.
 */
export class BloombergSession {
  readonly venue: string;
  readonly stats: BloombergStats = emptyBloombergStats();
  private session: BlpSession | null = null;
  private sink: EventSink | null = null;
  private readonly out: FeedOutput;
  private readonly subs = new Map<string, Subscription>();
  /** Correlation id value → symbol, for the current session. */
  private readonly byCorrelation = new Map<unknown, Subscription>();
  /** Subscriptions asked for before `ready()`: sent as one SubscriptionList then. */
  private pending: Subscription[] = [];
  private isReady = false;
  private readonly host: string;
  private readonly port: number;
  private readonly fields: readonly string[];

  constructor(
    private readonly blp: BlpapiModule,
    private readonly options: BloombergOptions,
    clock: Clock,
    private readonly onFailure: SubscriptionFailed = () => undefined,
  ) {
    this.venue = options.venue ?? BLOOMBERG_DEFAULTS.venue;
    this.host = options.host ?? BLOOMBERG_DEFAULTS.host;
    this.port = options.port ?? BLOOMBERG_DEFAULTS.port;
    this.fields = options.fields ?? DEFAULT_FIELDS;
    this.out = new FeedOutput(this.venue, clock, this.subs, () => this.sink);
  }

  /** True while a session is up (the loop should call `pump`). */
  get active(): boolean {
    return this.session !== null;
  }

  /** The endpoint, for messages. */
  get endpoint(): string {
    return `${this.host}:${this.port}`;
  }

  /**
   * Starts a new Session (dropping any earlier one) and opens the service.
   * @throws {MdcapError} `MDCAP_ERR_CONNECT_FAILED` with the SDK's reason.
   */
  connect(sink: EventSink): void {
    this.close();
    this.sink = sink;
    this.subs.clear();
    this.byCorrelation.clear();
    this.pending = [];
    this.isReady = false;
    const options = new this.blp.SessionOptions();
    options.setServerHost(this.host);
    options.setServerPort(this.port);
    const session = new this.blp.Session(options);
    this.stats.sessions++;
    const failed = (what: string, cause?: unknown): MdcapError => {
      const reason = this.drainReason(session);
      try {
        session.stop();
      } catch {
        // already down
      }
      return new MdcapError(
        'MDCAP_ERR_CONNECT_FAILED',
        `${this.venue}: expected ${what} at ${this.endpoint}, found ${reason ?? (cause instanceof Error ? cause.message : 'a refusal')}`,
        cause === undefined ? {} : { cause },
      );
    };
    let started: boolean;
    try {
      started = session.start();
    } catch (e) {
      throw failed('the session to start', e);
    }
    if (!started) throw failed('the session to start');
    const service = this.options.service ?? BLOOMBERG_DEFAULTS.service;
    let opened: boolean;
    try {
      opened = session.openService(service);
    } catch (e) {
      throw failed(`the service ${service} to open`, e);
    }
    if (!opened) throw failed(`the service ${service} to open`);
    this.session = session;
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): void {
    if (this.session === null) {
      throw new MdcapError('MDCAP_ERR_PROVIDER_CONTRACT', `${this.venue}: subscribe(${describeValue(symbol)}) before connect`);
    }
    const scales = this.options.scales?.get(symbol) ?? {
      priceScale: this.options.priceScale ?? BLOOMBERG_DEFAULTS.priceScale,
      sizeScale: this.options.sizeScale ?? BLOOMBERG_DEFAULTS.sizeScale,
    };
    const sub: Subscription = { symbol, kinds: new Set(kinds), scales, bid: null, bidSize: 0n, ask: null, askSize: 0n };
    this.subs.set(symbol, sub);
    if (this.isReady) this.send([sub]);
    else this.pending.push(sub);
  }

  unsubscribe(symbol: string): void {
    const sub = this.subs.get(symbol);
    if (sub === undefined) return;
    this.subs.delete(symbol);
    this.pending = this.pending.filter((s) => s !== sub);
    for (const [id, s] of this.byCorrelation) {
      if (s !== sub) continue;
      this.byCorrelation.delete(id);
      if (this.session?.unsubscribe !== undefined) {
        const list = new this.blp.SubscriptionList();
        list.add(symbol, this.fields, [], new this.blp.CorrelationId(id as number));
        this.session.unsubscribe(list);
      }
    }
  }

  /** The engine is ready: the subscriptions asked for so far go out as one SubscriptionList. */
  ready(): void {
    this.isReady = true;
    const list = this.pending;
    this.pending = [];
    if (list.length > 0) this.send(list);
  }

  private send(subs: readonly Subscription[]): void {
    if (this.session === null) return;
    const list = new this.blp.SubscriptionList();
    for (const sub of subs) {
      const id = nextCorrelation++;
      this.byCorrelation.set(id, sub);
      list.add(sub.symbol, this.fields, [], new this.blp.CorrelationId(id));
    }
    this.session.subscribe(list);
  }

  /**
   * Waits up to `timeoutMs` in `nextEvent` and delivers what came. `stamp` is called right
   * before the receive time is read (the worker raises its BUSY flag there). Returns false once
   * the session is gone.
   */
  pump(timeoutMs: number, stamp: () => void = () => undefined): boolean {
    const session = this.session;
    if (session === null) return false;
    let event: BlpEvent;
    try {
      event = session.nextEvent(timeoutMs);
    } catch (e) {
      this.lose(`nextEvent failed: ${e instanceof Error ? e.message : String(e)}`, e);
      return false;
    }
    const type = event.eventType();
    if (type === this.blp.Event.TIMEOUT) return true;
    stamp();
    const ts = this.out.now();
    this.stats.events++;
    for (const msg of event) {
      if (this.session !== session) break; // terminated by an earlier message of this event
      this.stats.messages++;
      try {
        this.message(type, msg, ts);
      } catch (e) {
        // A message the SDK built differently than documented: skipped and said, the loop goes on.
        const symbol = this.subscriptionOf(msg)?.symbol ?? ALL_SYMBOLS;
        const why = e instanceof Error ? e.message : String(e);
        this.out.status(symbol, 'gap', `${this.venue}: ${String(msg.messageType())} could not be read (${why}); skipped`, ts);
      }
    }
    return this.session !== null;
  }

  /** Stops the session (a clean disconnect: no `lost`). */
  close(): void {
    const s = this.session;
    this.session = null;
    this.sink = null;
    if (s === null) return;
    try {
      s.stop();
    } catch {
      // stopping a session that already went down
    }
  }

  private message(type: number, msg: BlpMessage, ts: bigint): void {
    const E = this.blp.Event;
    const name = String(msg.messageType());
    if (type === E.SUBSCRIPTION_DATA) return this.data(msg, ts);
    if (type === E.SESSION_STATUS) {
      if (name === 'SessionStarted') this.out.status(ALL_SYMBOLS, 'connected', `${this.venue}: session started (${this.endpoint})`, ts);
      else if (name === 'SessionTerminated' || name === 'SessionConnectionDown' || name === 'SessionStartupFailure') {
        this.lose(`${name}${this.reasonOf(msg)}`);
      }
      return;
    }
    if (type === E.SUBSCRIPTION_STATUS) {
      const sub = this.subscriptionOf(msg);
      if (sub === undefined) return;
      if (name === 'SubscriptionFailure' || name === 'SubscriptionTerminated') {
        this.byCorrelation.delete(msg.correlationIds()[0]?.value());
        const failure = name === 'SubscriptionFailure';
        if (failure) this.stats.subscriptionFailures++;
        const detail = `${this.venue}: ${name} for ${sub.symbol}${this.reasonOf(msg)}`;
        this.out.status(sub.symbol, 'gap', detail, ts);
        if (failure) {
          this.onFailure(
            sub.symbol,
            new MdcapError(
              'MDCAP_ERR_UNKNOWN_SYMBOL',
              `${this.venue}: expected Bloomberg to know ${describeValue(sub.symbol)}, found ${name}${this.reasonOf(msg)}`,
            ),
          );
        }
        this.subs.delete(sub.symbol);
      }
      return;
    }
    if (type === E.ADMIN) {
      if (name === 'DataLoss') {
        const n = this.intOf(msg, 'numMessagesDropped');
        this.stats.dataLoss += n ?? 0;
        const ids = msg.correlationIds().map((c) => this.byCorrelation.get(c.value()));
        const affected = ids.some((s) => s !== undefined) ? ids.filter((s) => s !== undefined) : [...this.byCorrelation.values()];
        const detail = `${this.venue}: DataLoss: ${n === null ? 'an unknown number of' : n} message${n === 1 ? '' : 's'} dropped by the SDK`;
        for (const sub of new Set(affected)) {
          sub.bid = sub.ask = null;
          sub.bidSize = sub.askSize = 0n;
          this.out.status(sub.symbol, 'gap', detail, ts);
        }
      } else if (name === 'SlowConsumerWarning') {
        this.stats.slowConsumerWarnings++;
        this.out.status(
          ALL_SYMBOLS,
          'stale',
          `${this.venue}: SlowConsumerWarning: the SDK's event queue is filling up (nothing lost yet)`,
          ts,
        );
      }
    }
  }

  private data(msg: BlpMessage, ts: bigint): void {
    const sub = this.subscriptionOf(msg);
    if (sub === undefined) return;
    const kind = this.stringOf(msg, 'MKTDATA_EVENT_TYPE');
    const subtype = this.stringOf(msg, 'MKTDATA_EVENT_SUBTYPE');
    try {
      const isTrade =
        kind === 'TRADE'
          ? !NOT_A_NEW_TRADE.has(subtype ?? '')
          : kind === null &&
            (msg.hasElement('EVT_TRADE_PRICE_RT', true) || (msg.hasElement('LAST_PRICE', true) && msg.hasElement('SIZE_LAST_TRADE', true)));
      if (isTrade && sub.kinds.has('trade')) this.trade(sub, msg, ts);
      const hasQuote =
        msg.hasElement('BID', true) || msg.hasElement('ASK', true) || msg.hasElement('BID_SIZE', true) || msg.hasElement('ASK_SIZE', true);
      if ((kind === 'QUOTE' || kind === 'SUMMARY' || kind === null) && hasQuote && sub.kinds.has('quote')) this.quote(sub, msg, ts);
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      this.stats.refused++;
      this.out.status(sub.symbol, 'gap', `${this.venue}: ${e.message}; tick skipped`, ts);
    }
  }

  private trade(sub: Subscription, msg: BlpMessage, ts: bigint): void {
    const priceField = TRADE_PRICE.find((f) => msg.hasElement(f, true));
    if (priceField === undefined) return;
    const sizeField = TRADE_SIZE.find((f) => msg.hasElement(f, true));
    const price = this.decimal(msg, priceField, sub.scales.priceScale);
    const size = sizeField === undefined ? 0n : this.decimal(msg, sizeField, sub.scales.sizeScale);
    const tsEvent = this.timeOf(msg, TRADE_TIME, ts);
    this.stats.trades++;
    this.out.push(createTrade({ venue: this.venue, symbol: sub.symbol, tsEvent, tsRecv: ts, price, size, ...sub.scales, side: 'none' }));
  }

  private quote(sub: Subscription, msg: BlpMessage, ts: bigint): void {
    // Read every field first: a refused value leaves the carried book untouched.
    const bid = msg.hasElement('BID', true) ? this.decimal(msg, 'BID', sub.scales.priceScale) : undefined;
    const ask = msg.hasElement('ASK', true) ? this.decimal(msg, 'ASK', sub.scales.priceScale) : undefined;
    const bidSize = msg.hasElement('BID_SIZE', true) ? this.decimal(msg, 'BID_SIZE', sub.scales.sizeScale) : undefined;
    const askSize = msg.hasElement('ASK_SIZE', true) ? this.decimal(msg, 'ASK_SIZE', sub.scales.sizeScale) : undefined;
    const tsEvent = this.timeOf(msg, QUOTE_TIME, ts);
    // A side whose price moved without a size has an unknown size (0).
    if (bid !== undefined && bid !== sub.bid) sub.bidSize = 0n;
    if (ask !== undefined && ask !== sub.ask) sub.askSize = 0n;
    if (bid !== undefined) sub.bid = bid;
    if (ask !== undefined) sub.ask = ask;
    if (bidSize !== undefined) sub.bidSize = bidSize;
    if (askSize !== undefined) sub.askSize = askSize;
    this.stats.quotes++;
    this.out.push(
      createQuote({
        venue: this.venue,
        symbol: sub.symbol,
        tsEvent,
        tsRecv: ts,
        bidPrice: sub.bid,
        bidSize: sub.bidSize,
        askPrice: sub.ask,
        askSize: sub.askSize,
        ...sub.scales,
      }),
    );
  }

  private decimal(msg: BlpMessage, field: string, scale: number): bigint {
    const value = msg.getElementAsFloat(field);
    try {
      return floatToMantissa(value, scale);
    } catch (e) {
      const code = e instanceof MdcapError ? ` (${e.code})` : '';
      throw new FieldError(`${field} ${describeValue(value)} is not an exact decimal at scale ${scale}${code}`);
    }
  }

  /** The latest of the time fields present, else the receive time. */
  private timeOf(msg: BlpMessage, fields: readonly string[], tsRecv: bigint): bigint {
    let t: bigint | null = null;
    for (const f of fields) {
      if (!msg.hasElement(f, true)) continue;
      const ns = datetimeToNs(msg.getElementAsDatetime(f), tsRecv);
      if (t === null || ns > t) t = ns;
    }
    return t ?? tsRecv;
  }

  private subscriptionOf(msg: BlpMessage): Subscription | undefined {
    for (const c of msg.correlationIds()) {
      const sub = this.byCorrelation.get(c.value());
      if (sub !== undefined) return sub;
    }
    return undefined;
  }

  private stringOf(msg: BlpMessage, field: string): string | null {
    return msg.hasElement(field, true) ? msg.getElementAsString(field) : null;
  }

  private intOf(msg: BlpMessage, field: string): number | null {
    if (!msg.hasElement(field, true)) return null;
    const v = msg.getElementAsInteger?.(field) ?? Number(msg.getElementAsString(field));
    return Number.isFinite(v) ? v : null;
  }

  /** `: <description> (<category>)` from a status message's `reason` element, when it has one. */
  private reasonOf(msg: BlpMessage): string {
    try {
      if (!msg.hasElement('reason') || msg.getElement === undefined) return '';
      const r = msg.getElement('reason');
      const text = r.hasElement('description') ? r.getElementAsString('description') : '';
      const category = r.hasElement('category') ? r.getElementAsString('category') : '';
      if (text === '' && category === '') return '';
      return `: ${text}${category === '' ? '' : ` (${category})`}`;
    } catch {
      return '';
    }
  }

  /** The reason a failed start gives in the events the SDK queued. */
  private drainReason(session: BlpSession): string | null {
    try {
      for (let i = 0; i < 4; i++) {
        const ev = session.nextEvent(0);
        if (ev.eventType() === this.blp.Event.TIMEOUT) return null;
        for (const msg of ev) {
          const name = String(msg.messageType());
          if (name.endsWith('Failure') || name === 'SessionTerminated') return `${name}${this.reasonOf(msg)}`;
        }
      }
    } catch {
      // no reason to be had
    }
    return null;
  }

  private lose(why: string, cause?: unknown): void {
    const sink = this.sink;
    this.close();
    sink?.lost(new MdcapError('MDCAP_ERR_CONNECT_FAILED', `${this.venue}: ${why}`, cause === undefined ? {} : { cause }));
  }
}
