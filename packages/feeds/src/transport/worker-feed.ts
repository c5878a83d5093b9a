import { Worker } from 'node:worker_threads';
import type { DataProvider, Instrument, SequenceRule, SubscriptionKind } from '@mdcap/core';
import type { WireError } from '@mdcap/ring';
import { venueSpec } from '../venues.js';
import type { VenueFeedOptions, VenueName } from '../venues.js';
import type { FeedWorkerData, FeedWorkerRequest } from './feed-worker.js';
import { handlerScript, HandlerThreadFeed } from './handler-thread-feed.js';
import type { HandlerOptions, HandlerThreadOptions } from './handler-thread-feed.js';
import { MAIN_WAITING } from './handler-thread.js';
import type { HandlerThreadData } from './handler-thread.js';
import type { WsFeedStats } from './ws-feed.js';

export interface WorkerFeedOptions extends VenueFeedOptions, HandlerThreadOptions {}

interface Reply {
  readonly id: number;
  readonly error?: WireError;
  readonly instruments: Instrument[];
  readonly stats: WsFeedStats;
}

/**
 * A venue feed whose handler runs on a worker thread: the socket, JSON parsing, book sync,
 * checksums and REST snapshots happen there, and the events cross to the engine through a
 * shared ring of binary event records, with no structured cloning ({@link HandlerThreadFeed},
 * which also keeps the engine's timers exact). Same events, same statuses, same order as the
 * venue's {@link WsFeed} on the main thread.
 */
export class WorkerFeed extends HandlerThreadFeed<WorkerFeedOptions, FeedWorkerRequest> implements DataProvider {
  readonly venue: string;
  readonly kinds: readonly SubscriptionKind[];
  readonly sequencing: SequenceRule;
  /** The WebSocket URL the handler connects to. */
  readonly endpoint: string;
  private lastStats: WsFeedStats = { frames: 0, malformed: 0, venueErrors: 0, staleDetections: 0, connects: 0 };
  private known: Instrument[];
  private raw: FeedWorkerRequest | null = null;

  constructor(
    private readonly name: VenueName,
    options: WorkerFeedOptions = {},
  ) {
    const spec = venueSpec(name, options); // validates the options here, on the caller's thread
    super(options, 'worker feed', MAIN_WAITING + 1); // the shared control slots only
    this.venue = spec.name;
    this.kinds = spec.kinds;
    this.sequencing = spec.sequencing ?? 'contiguous';
    this.endpoint = options.url ?? spec.url;
    this.known = spec.instruments?.(spec.createParser()) ?? [];
  }

  /** The handler's counters as of its last answer (frames, malformed frames, venue errors, stale detections, connects). */
  get stats(): WsFeedStats {
    return this.lastStats;
  }

  instruments(): Iterable<Instrument> {
    return this.known;
  }

  /** Writes every frame and REST response to `root/raw/name` (see {@link RawTap}), from the handler thread. */
  tapRaw(root: string, name: string, flushMs: number): void {
    this.raw = { op: 'raw', root, name, flushMs };
    this.send(this.raw);
  }

  protected spawn(shared: HandlerThreadData, options: HandlerOptions<WorkerFeedOptions>): Worker {
    const workerData: FeedWorkerData = { venue: this.name, options, ...shared };
    // A small young generation: the handler's garbage (parsed frames) dies young, and a
    // recorder's peak RSS went down 10–30 MiB with no loss of speed (BENCHMARKS.md, issue 16).
    const w = new Worker(handlerScript('transport/feed-worker.js'), { workerData, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    w.on('message', (m: Reply) => {
      this.lastStats = m.stats;
      this.noteInstruments(m.instruments);
      this.answer(m.id, m.error);
    });
    if (this.raw !== null) w.postMessage(this.raw); // a new thread after a crash goes on tapping
    return w;
  }

  protected post(worker: Worker, m: FeedWorkerRequest): void {
    worker.postMessage(m);
  }

  private noteInstruments(list: Instrument[]): void {
    if (list.length === 0) return;
    const bySymbol = new Map(this.known.map((i) => [i.symbol, i]));
    for (const i of list) bySymbol.set(i.symbol, i);
    this.known = [...bySymbol.values()];
  }
}

/** A venue feed whose handler runs on a worker thread: `new RealtimeEngine(workerFeed('kraken', { url }))`. */
export function workerFeed(name: VenueName, options: WorkerFeedOptions = {}): WorkerFeed {
  return new WorkerFeed(name, options);
}
