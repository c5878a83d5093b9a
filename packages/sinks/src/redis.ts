import { MdcapError, describeValue } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { ProtoWriter, writeEvent } from '@mdcap/serve';
import { Redis } from 'ioredis';
import type { Sink } from './sink.js';
import { parseUrl, redactUrl } from './url.js';

export interface RedisSinkOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** Key and channel prefix (default `md`). */
  readonly prefix?: string;
  /** Entries a stream keeps, about (`XADD … MAXLEN ~`; default 1,000,000). */
  readonly maxLen?: number;
  /** Publish each event on its symbol's channel too (default true). */
  readonly pubsub?: boolean;
  /** Add each event to its venue and kind's stream (default true). */
  readonly streams?: boolean;
  /** A command not answered after this long fails (and the batch is retried) (default 10,000 ms). */
  readonly timeoutMs?: number;
}

const ID_TAKEN = /equal or smaller than the target stream top item/;

/**
 * Hands events to Redis two ways, each as a protobuf `mdcap.v1.EventBatch` of one event (binary
 * values): `PUBLISH <prefix>:<venue>:<symbol>` for fire-and-forget consumers, and `XADD
 * <prefix>:<venue>:<kind> MAXLEN ~ N` for consumers that catch up. Stream entry ids come from the
 * receive time (`<ms>-<ns within the ms × 10^6 + i + 1>`, i counting events of the stream with the same
 * receive time), so a retried batch finds its entries already there and adds nothing; pub/sub has
 * no memory, and a retried batch can publish some events twice.
 */
export class RedisSink implements Sink {
  readonly kind = 'redis';
  readonly target: string;
  private redis: Redis | null = null;
  private readonly prefix: string;
  private readonly maxLen: number;
  private readonly w = new ProtoWriter(4096);
  /** Per stream: the last receive time given an id and how many events had it. */
  private readonly lastId = new Map<string, { ts: bigint; i: number }>();

  constructor(private readonly options: RedisSinkOptions) {
    parseUrl(options.url, 'redis sink', ['redis', 'rediss']);
    this.target = redactUrl(options.url);
    this.prefix = options.prefix ?? 'md';
    this.maxLen = options.maxLen ?? 1_000_000;
    if (!Number.isInteger(this.maxLen) || this.maxLen < 1) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `redis maxLen: expected a positive integer, found ${describeValue(this.maxLen)}`);
    }
  }

  streamKey(e: MarketEvent): string {
    return `${this.prefix}:${e.venue}:${e.type}`;
  }

  channel(e: MarketEvent): string {
    return `${this.prefix}:${e.venue}:${e.symbol}`;
  }

  async open(): Promise<void> {
    if (this.redis !== null) return;
    const timeout = this.options.timeoutMs ?? 10_000;
    const redis = new Redis(this.options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null, // the sink runner retries, with its own back-off
      connectTimeout: timeout,
      commandTimeout: timeout,
    });
    redis.on('error', () => undefined); // a failed command says it; the runner retries
    await redis.connect();
    this.redis = redis;
  }

  private entryId(stream: string, ts: bigint): string {
    const last = this.lastId.get(stream);
    let i = 0;
    if (last !== undefined && last.ts === ts) i = ++last.i;
    else this.lastId.set(stream, { ts, i: 0 });
    return `${ts / 1_000_000n}-${(ts % 1_000_000n) * 1_000_000n + BigInt(i) + 1n}`; // + 1: Redis refuses 0-0
  }

  async write(batch: readonly MarketEvent[]): Promise<void> {
    const redis = this.redis;
    if (redis === null) throw new MdcapError('MDCAP_ERR_SINK_WRITE', `sink redis (${this.target}): write before open`);
    const saved = new Map([...this.lastId].map(([k, v]) => [k, { ...v }]));
    try {
      const p = redis.pipeline();
      const streams = this.options.streams ?? true;
      const pubsub = this.options.pubsub ?? true;
      for (const e of batch) {
        const w = this.w;
        w.reset();
        writeEvent(w, e);
        const data = w.take();
        if (streams) {
          const key = this.streamKey(e);
          p.xadd(key, 'MAXLEN', '~', this.maxLen, this.entryId(key, e.tsRecv), 'e', data);
        }
        if (pubsub) p.publish(this.channel(e), data);
      }
      const results = (await p.exec()) ?? [];
      for (const [error] of results) {
        if (error !== null && !ID_TAKEN.test(error.message)) throw error;
      }
    } catch (error) {
      this.lastId.clear();
      for (const [k, v] of saved) this.lastId.set(k, v);
      throw new MdcapError(
        'MDCAP_ERR_SINK_WRITE',
        `sink redis (${this.target}): writing ${batch.length} events failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  async reset(): Promise<void> {
    const r = this.redis;
    this.redis = null;
    r?.disconnect();
    return Promise.resolve();
  }

  close(): Promise<void> {
    const r = this.redis;
    this.redis = null;
    return r === null
      ? Promise.resolve()
      : r.quit().then(
          () => undefined,
          () => r.disconnect(),
        );
  }
}
