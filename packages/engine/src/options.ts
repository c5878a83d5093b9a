import { ConfigError, describeValue } from '@mdcap/core';
import type { DataProvider, EventType, Instrument, SubscriptionKind } from '@mdcap/core';
import type { BarOptions, BarStats, BarTimestamp, EmptyBarPolicy } from './bars.js';
import { checkReconnectPolicy } from './reconnect.js';
import type { ReconnectPolicy } from './reconnect.js';

export interface EngineOptions {
  /** Timestamp that buckets trades into bars (default `tsEvent`). */
  readonly barTimestamp?: BarTimestamp;
  /** How long after a bucket's end it stays open for late trades, in ms (default 250). */
  readonly barGraceMs?: number;
  /** Buckets without trades: `skip` (default) or `emit` (volume 0, OHLC at the previous close). */
  readonly emptyBars?: EmptyBarPolicy;
  /** Keep order books (default true). */
  readonly books?: boolean;
  /** Reconnect policy for live providers (default 1, 2, 4, …, 32 s, then 60 s; give up after 10). */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** Kinds to subscribe each symbol to (default: everything the provider offers). */
  readonly kinds?: readonly SubscriptionKind[];
  /**
   * Check every provider event against the event model (default: true, unless the provider
   * declares `validatesEvents`). Bad events are reported through `onError` with their
   * `MDCAP_ERR_*` code and not dispatched. Order and subscriptions are checked either way.
   */
  readonly validate?: boolean;
  /** Instruments to register up front, in addition to those the provider reports. */
  readonly instruments?: Iterable<Instrument>;
  /**
   * Hand `onTrade` callbacks one reused trade object where the provider delivers trades as
   * columns (a replay): no object per trade (default false). Its fields read the current row
   * when asked (a callback pays for the fields it reads). The object is valid during the call
   * only: copy it (`{ ...trade }` copies the values) to keep it. `onEvent`, `events()` and
   * `onBatch` still get events of their own.
   */
  readonly reuseEvents?: boolean;
}

export type EngineState = 'idle' | 'starting' | 'running' | 'reconnecting' | 'stopping' | 'stopped' | 'ended' | 'failed';

export interface EngineStats {
  readonly state: EngineState;
  /** Events dispatched, by type (provider events plus the engine's own bars and statuses). */
  readonly events: Readonly<Record<EventType, number>>;
  /** Provider events refused by validation (each reported through onError). */
  readonly rejected: number;
  /** Callbacks that threw (each reported through onError). */
  readonly callbackErrors: number;
  /** Errors reported in all. */
  readonly errors: number;
  readonly bars: BarStats;
  readonly reconnects: { readonly attempts: number; readonly succeeded: number; readonly gaveUp: number };
  /** Events dropped by slow `events()` iterators and `onBatch` consumers under the `drop` policy. */
  readonly consumerDrops: number;
  /** Number of order books. */
  readonly books: number;
  /**
   * Clock time at which the run finished (stop, end of data, give-up), or null while it runs:
   * bars still open then were flushed at this time. A recording keeps it as its end time.
   */
  readonly finishedAt: bigint | null;
}

/** The options, checked, with their defaults. */
export interface ResolvedOptions {
  readonly books: boolean;
  readonly validate: boolean;
  readonly reuseEvents: boolean;
  readonly reconnect: ReconnectPolicy;
  readonly kinds: readonly SubscriptionKind[] | undefined;
  readonly bars: BarOptions;
}

/**
 * Checks the engine's options and fills in the defaults.
 * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` for bad options.
 */
export function resolveOptions(options: EngineOptions, provider: DataProvider): ResolvedOptions {
  const grace = options.barGraceMs ?? 250;
  if (!Number.isInteger(grace) || grace < 0) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `barGraceMs: expected an integer of 0 or more, found ${describeValue(grace)}`);
  }
  const timestamp = options.barTimestamp ?? 'tsEvent';
  if (timestamp !== 'tsEvent' && timestamp !== 'tsRecv') {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `barTimestamp: expected tsEvent or tsRecv, found ${describeValue(timestamp)}`);
  }
  const emptyBars = options.emptyBars ?? 'skip';
  if (emptyBars !== 'skip' && emptyBars !== 'emit') {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `emptyBars: expected skip or emit, found ${describeValue(emptyBars)}`);
  }
  if (options.kinds !== undefined && (!Array.isArray(options.kinds) || options.kinds.length === 0)) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `kinds: expected a non-empty array of trade, quote, book, order, bar, found ${describeValue(options.kinds)}`,
    );
  }
  return {
    books: options.books ?? true,
    validate: options.validate ?? provider.validatesEvents !== true,
    reuseEvents: options.reuseEvents === true,
    reconnect: checkReconnectPolicy(options.reconnect),
    kinds: options.kinds,
    bars: { timestamp, graceNs: BigInt(grace) * 1_000_000n, emptyBars },
  };
}
