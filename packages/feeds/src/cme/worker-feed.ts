import { Worker } from 'node:worker_threads';
import { SUBSCRIPTION_KINDS } from '@mdcap/core';
import type { DataProvider, Instrument, SequenceRule, SubscriptionKind } from '@mdcap/core';
import type { WireError } from '@mdcap/ring';
import { handlerScript, HandlerThreadFeed } from '../transport/handler-thread-feed.js';
import type { HandlerOptions, HandlerThreadOptions } from '../transport/handler-thread-feed.js';
import { MAIN_WAITING } from '../transport/handler-thread.js';
import type { HandlerRequest, HandlerThreadData } from '../transport/handler-thread.js';
import { snapshotGroup } from './feed.js';
import type { CmeFeedOptions } from './feed.js';
import type { CmeHandlerStats } from './handler.js';

/** {@link CmeFeedOptions} (its clock is the engine's, shared with the thread), and the ring's. */
export interface CmeWorkerFeedOptions extends Omit<CmeFeedOptions, 'clock'>, HandlerThreadOptions {
  /** How often the thread reports the handler's counters for {@link CmeWorkerFeed.stats} (default 100 ms). */
  readonly reportMs?: number;
}

/** What the handler thread starts with. */
export interface CmeWorkerData extends HandlerThreadData {
  readonly options: Omit<CmeFeedOptions, 'clock'>;
  readonly reportMs: number;
}

/** The thread's answer to a request (`id`), or its report now and then (`id` null). */
export interface CmeWorkerReply {
  readonly id: number | null;
  readonly error?: WireError;
  readonly stats: CmeHandlerStats | null;
  /** The instruments defined so far, when they changed since the last message (else empty). */
  readonly instruments: Instrument[];
}

/**
 * The CME MDP 3.0 feed of one channel with its handler on a worker thread: the multicast
 * sockets, A/B arbitration, SBE decoding, books and snapshot recovery run there ({@link CmeFeed}),
 * and the events cross to the engine through a shared ring of binary event records, as for the
 * other venues ({@link HandlerThreadFeed}). Same events, same statuses, same order as
 * {@link CmeFeed} on the engine's thread; a crashed thread is a lost connection, which the engine
 * reconnects on a new thread.
 */
export class CmeWorkerFeed extends HandlerThreadFeed<CmeWorkerFeedOptions> implements DataProvider {
  readonly venue: string;
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS.filter((k) => k !== 'quote' && k !== 'bar');
  /** MDP3's `MsgSeqNum` numbers the channel's packets: events of a packet share it. */
  readonly sequencing: SequenceRule = 'monotonic-per-kind';
  private lastStats: CmeHandlerStats | null = null;
  private known: Instrument[] = [];

  constructor(options: CmeWorkerFeedOptions) {
    snapshotGroup(options.channel, options.book ?? 'mbp'); // the options' errors here, on the caller's thread
    super(options, 'cme worker feed', MAIN_WAITING + 1);
    this.venue = options.venue ?? 'cme';
  }

  /** The handler's counters as of the thread's last report (null before the first connect). */
  stats(): CmeHandlerStats | null {
    return this.lastStats;
  }

  instruments(): Iterable<Instrument> {
    return this.known;
  }

  protected spawn(shared: HandlerThreadData, options: HandlerOptions<CmeWorkerFeedOptions>): Worker {
    const { reportMs = 100, ...feed } = options;
    const workerData: CmeWorkerData = { ...shared, options: feed, reportMs };
    const w = new Worker(handlerScript('cme/worker.js'), { workerData });
    w.on('message', (m: CmeWorkerReply) => {
      if (m.stats !== null) this.lastStats = m.stats;
      if (m.instruments.length > 0) this.known = m.instruments;
      if (m.id !== null) this.answer(m.id, m.error);
    });
    return w;
  }

  protected post(worker: Worker, m: HandlerRequest): void {
    worker.postMessage(m);
  }
}
