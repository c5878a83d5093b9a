import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { checkScale, describeValue, MdcapError } from '@mdcap/core';
import type { DataProvider, Instrument, SequenceRule, SubscriptionKind } from '@mdcap/core';
import { errorFromWire } from '@mdcap/ring';
import type { WireError } from '@mdcap/ring';
import { handlerScript, HandlerThreadFeed } from '../transport/handler-thread-feed.js';
import type { HandlerOptions, HandlerThreadOptions } from '../transport/handler-thread-feed.js';
import { COMMANDS } from '../transport/handler-thread.js';
import type { HandlerRequest, HandlerThreadData } from '../transport/handler-thread.js';
import { BLOOMBERG_DEFAULTS } from './session.js';
import { emptyBloombergStats } from './session.js';
import type { BloombergOptions, BloombergStats } from './session.js';
import type { BloombergWorkerData } from './worker.js';

export { loadBlpapi, checkBinding } from './binding.js';
export type { BlpapiModule, BlpSession, BlpEvent, BlpMessage, BlpDatetime, BlpElement } from './binding.js';
export { BloombergSession, floatToMantissa, datetimeToNs, DEFAULT_FIELDS, BLOOMBERG_DEFAULTS } from './session.js';
export type { BloombergOptions, BloombergStats } from './session.js';

export interface BloombergFeedOptions extends BloombergOptions, HandlerThreadOptions {}

interface Reply {
  readonly id?: number;
  readonly op?: 'failure' | 'stats';
  readonly symbol?: string;
  readonly error?: WireError;
  readonly stats: BloombergStats | null;
}

/**
 * Bloomberg real-time market data (`//blp/mktdata`) through BLPAPI's synchronous Session API.
 * The binding (an optional dependency, `blpapi` by default, or any module given by `module`) is
 * loaded only on the feed's worker thread, when the engine connects; its blocking `nextEvent`
 * loop runs there, and the events cross to the engine through a shared ring of event records,
 * as for the venue handlers of {@link WorkerFeed} (both are {@link HandlerThreadFeed}s). See
 * docs/feeds.md (Bloomberg).
 */
export class BloombergFeed extends HandlerThreadFeed<BloombergFeedOptions> implements DataProvider {
  readonly venue: string;
  readonly kinds: readonly SubscriptionKind[] = ['trade', 'quote'];
  readonly sequencing: SequenceRule = 'contiguous'; // no sequence numbers (seq is null)
  /** `host:port` of the Terminal, SAPI or B-PIPE. */
  readonly endpoint: string;
  private lastStats: BloombergStats = emptyBloombergStats();
  private readonly failures = new Map<string, MdcapError>();
  private readonly symbols = new Set<string>();
  private port: MessagePort | null = null;

  constructor(options: BloombergFeedOptions = {}) {
    const host = options.host ?? BLOOMBERG_DEFAULTS.host;
    const port = options.port ?? BLOOMBERG_DEFAULTS.port;
    if (typeof host !== 'string' || host === '') {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `bloomberg host: expected a host name, found ${describeValue(host)}`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `bloomberg port: expected an integer from 1 to 65535, found ${describeValue(port)}`);
    }
    const module = options.module ?? 'blpapi';
    if (typeof module !== 'string' || module === '') {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `bloomberg module: expected a package name or path, found ${describeValue(module)}`);
    }
    checkScale(options.priceScale ?? BLOOMBERG_DEFAULTS.priceScale, 'bloomberg priceScale');
    checkScale(options.sizeScale ?? BLOOMBERG_DEFAULTS.sizeScale, 'bloomberg sizeScale');
    // One control slot more than the shared ones: the thread never returns to its event loop, so
    // with no session up it sleeps on COMMANDS, which `post` bumps.
    super(options, 'bloomberg feed', COMMANDS + 1);
    this.venue = options.venue ?? BLOOMBERG_DEFAULTS.venue;
    this.endpoint = `${host}:${port}`;
  }

  /** The handler's counters, as of its last report (at least every 100 ms while a session is up). */
  get stats(): BloombergStats {
    return this.lastStats;
  }

  /** The subscriptions Bloomberg refused (`MDCAP_ERR_UNKNOWN_SYMBOL`, with the SDK's reason), by symbol. */
  subscriptionErrors(): ReadonlyMap<string, MdcapError> {
    return this.failures;
  }

  /** The subscribed securities with their scales (from the options: Bloomberg does not send them). */
  instruments(): Iterable<Instrument> {
    return [...this.symbols].map((symbol) => ({
      venue: this.venue,
      symbol,
      ...(this.options.scales?.get(symbol) ?? {
        priceScale: this.options.priceScale ?? BLOOMBERG_DEFAULTS.priceScale,
        sizeScale: this.options.sizeScale ?? BLOOMBERG_DEFAULTS.sizeScale,
      }),
    }));
  }

  override subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    this.symbols.add(symbol);
    this.failures.delete(symbol);
    return super.subscribe(symbol, kinds);
  }

  override unsubscribe(symbol: string): Promise<void> {
    this.symbols.delete(symbol);
    return super.unsubscribe(symbol);
  }

  protected spawn(shared: HandlerThreadData, options: HandlerOptions<BloombergFeedOptions>): Worker {
    // Commands and answers go through a port of their own: the thread takes them with
    // receiveMessageOnPort between two `nextEvent` calls.
    const { port1, port2 } = new MessageChannel();
    const workerData: BloombergWorkerData = { options, ...shared, port: port2 };
    const w = new Worker(handlerScript('bloomberg/worker.js'), { workerData, transferList: [port2] });
    this.port = port1;
    port1.on('message', (m: Reply) => {
      if (m.stats !== null) this.lastStats = m.stats;
      if (m.op === 'failure') {
        if (m.symbol !== undefined && m.error !== undefined) this.failures.set(m.symbol, errorFromWire(m.error) as MdcapError);
        return;
      }
      if (m.op === 'stats') return;
      if (m.id !== undefined) this.answer(m.id, m.error);
    });
    return w;
  }

  protected post(_worker: Worker, m: HandlerRequest): void {
    this.port!.postMessage(m);
    // Wakes the thread if it sleeps with no session up.
    Atomics.add(this.control, COMMANDS, 1);
    Atomics.notify(this.control, COMMANDS);
  }

  protected override retire(): void {
    super.retire();
    this.port?.close();
    this.port = null;
  }
}

/** A Bloomberg feed: `new RealtimeEngine(bloombergFeed({ host, port }))`. */
export function bloombergFeed(options: BloombergFeedOptions = {}): BloombergFeed {
  return new BloombergFeed(options);
}
