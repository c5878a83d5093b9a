import {
  ALL_SYMBOLS,
  ConfigError,
  createStatus,
  describeValue,
  LiveClock,
  MdcapError,
  ProviderError,
  SUBSCRIPTION_KINDS,
} from '@mdcap/core';
import type { Clock, DataProvider, EventSink, Instrument, SequenceRule, StatusKind, SubscriptionKind, TimerId } from '@mdcap/core';
import { checkReconnectPolicy, reconnectDelayMs } from '@mdcap/engine';
import type { ReconnectPolicy } from '@mdcap/engine';
import { RawTap } from '@mdcap/feeds';
import { ringProvider } from '@mdcap/ring';
import type { OverflowPolicy, RingStats } from '@mdcap/ring';
import { feedDefinition, openInnerFeed, rawFeedNames } from './feeds.js';
import type { FeedSpec, TapHolder } from './feeds.js';

/** Options of {@link openFeeds} that hold for the set, not for one feed. */
export interface OpenFeedsOptions {
  /** The one clock every feed stamps with, and the engine runs on (default a new LiveClock). */
  readonly clock?: Clock;
  /**
   * The one ring between the merged feeds and the engine: slots and overflow (default: the specs'
   * `ringCapacity`, the largest, else 65,536; their `overflow`, which they must agree on, else `block`).
   */
  readonly ringCapacity?: number;
  readonly overflow?: OverflowPolicy;
  /**
   * How each feed is reconnected on its own (default: the engine's default policy, 1, 2, 4 … 60 s,
   * give up after 10 consecutive failures). `record()` passes its `engine.reconnect`.
   */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** A feed gave up reconnecting, or its stream failed (`MDCAP_ERR_RECONNECT_GAVE_UP`…); the others go on. */
  readonly onError?: (error: MdcapError) => void;
}

/**
 * Where one feed of a set stands: `up`; `down` (waiting to reconnect) or `connecting`; `ended`
 * (its data ended) or `gave-up` (reconnecting failed `maxAttempts` times in a row), which stay
 * after the set is closed; `idle` before a start and after a stop.
 */
export type FeedState = 'idle' | 'connecting' | 'up' | 'down' | 'ended' | 'gave-up';

export interface FeedReconnects {
  readonly losses: number;
  readonly attempts: number;
  readonly succeeded: number;
}

/** One feed of a {@link FeedManager}. */
export interface ManagedFeed {
  /** The registry name (`kraken`) and the venue on its events (`kraken`, `GLBX.MDP3`). */
  readonly name: string;
  readonly venue: string;
  readonly symbols: readonly string[];
  readonly sequencing: SequenceRule;
  readonly endpoint: string | null;
  readonly hasRawFrames: boolean;
  /** Where its connection stands now. */
  readonly state: FeedState;
  /** Connections lost (or a first connect failed), reconnect attempts made, and those that succeeded. */
  readonly reconnects: FeedReconnects;
}

/**
 * Several feeds into one engine, ready for it: `new RealtimeEngine(feeds.provider)`, or
 * `record({ feeds, out })`. The feeds share one clock and one in-thread ring; each event keeps its
 * venue; each feed reconnects on its own. `await using` closes it.
 */
export interface FeedManager extends AsyncDisposable {
  /** A name for the set, the venues joined by `+` (`kraken+coinbase+demo`): a capture's feed name. */
  readonly venue: string;
  readonly clock: Clock;
  /** What the engine consumes: the merged feeds behind one ring. */
  readonly provider: DataProvider & { ringStats(): RingStats };
  readonly feeds: readonly ManagedFeed[];
  /** Every feed's symbols, each once (the engine's `start` list). */
  readonly symbols: readonly string[];
  /** Each venue's sequencing rule (a capture's manifest keeps them for `mdcap verify`). */
  readonly sequencing: Readonly<Record<string, SequenceRule>>;
  /** True if some feed has wire frames to tap. */
  readonly hasRawFrames: boolean;
  /** Instruments known so far, of every feed. */
  instruments(): Instrument[];
  /**
   * Taps every feed that has wire frames, one file per venue: `<dir>/raw/<fileOf(venue)>`. Feeds
   * without frames (demo, databento) are not tapped; refused when none has any.
   */
  tapRaw(dir: string, fileOf: (venue: string) => string, flushMs: number): void;
  flushRaw(): void;
  /** Disconnects every feed (if an engine did not) and closes the raw taps. */
  close(): Promise<void>;
}

const RING_CAPACITY = 65_536;

/**
 * Opens several feeds of the registry into one engine: the venues' own providers (no ring each)
 * merged into one provider on one clock, behind one in-thread ring. Venue handlers run on this
 * thread (`handlerThread` true is refused: a handler thread's ring could deliver an event stamped
 * before one already delivered from another feed). Nothing connects until the engine starts.
 *
 * Each feed keeps its own connection: when one drops, the set emits a `disconnected` status for
 * its venue, reconnects it on the reconnect policy (resubscribing its symbols) and emits
 * `reconnected`, or after `maxAttempts` consecutive failures a final `disconnected` status saying
 * it gave up; the other feeds go on. A feed that cannot connect at the start is retried the same
 * way while the others run. The data ends when every feed has ended or given up.
 * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for no feeds, an unknown or repeated feed, a feed
 *   without the symbols it needs, or `handlerThread: true`; the feeds' own errors (credentials,
 *   `MDCAP_ERR_UNKNOWN_SYMBOL`).
 */
export function openFeeds(specs: readonly FeedSpec[], options: OpenFeedsOptions = {}): FeedManager {
  if (!isArray(specs) || specs.length === 0) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `feeds: expected one or more feeds, found ${describeValue(specs)}`);
  }
  const policy = checkReconnectPolicy(options.reconnect);
  const clock = options.clock ?? new LiveClock();
  const names = new Set<string>();
  const children: Child[] = [];
  for (const spec of specs) {
    if (names.has(spec.feed)) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `feeds: expected each feed once, found ${spec.feed} twice (list all of its symbols in one item, e.g. ${spec.feed}:A,B)`,
      );
    }
    names.add(spec.feed);
    if (spec.handlerThread === true) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `handlerThread: expected venue handlers on the main thread with several feeds, found handlerThread true for ${spec.feed}: a handler thread's ring can deliver an event stamped before one another feed has already delivered, which would break the tsRecv order of the merged stream (use --no-handler-thread, or record each feed on its own)`,
      );
    }
    if (spec.clock !== undefined && spec.clock !== clock) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `feeds: expected one clock for every feed (options.clock), found one on ${spec.feed}`,
      );
    }
  }
  for (const spec of specs) {
    // Throws for an unknown feed, missing credentials, a symbol the simulator does not have.
    const opened = openInnerFeed({ ...spec, symbols: symbolsOf(spec), handlerThread: false, clock }, clock);
    const venue = opened.inner.venue;
    const other = children.find((c) => c.venue === venue);
    if (other !== undefined) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `feeds: expected each venue once, found ${venue} from both ${other.name} and ${spec.feed}`,
      );
    }
    children.push(new Child(spec.feed, opened.definition.rawFrames, opened.inner, opened.tap, opened.endpoint, symbolsOf(spec)));
  }
  const overflows = [...new Set(specs.map((s) => s.overflow).filter((x) => x !== undefined))];
  if (options.overflow === undefined && overflows.length > 1) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `overflow: expected one policy for the one ring of the feeds, found ${overflows.join(' and ')}`,
    );
  }
  const capacities = specs.map((s) => s.ringCapacity).filter((x) => x !== undefined);
  const merged = new MergedProvider(children, clock, policy, options.onError ?? (() => undefined));
  const provider = ringProvider(merged, {
    capacity: options.ringCapacity ?? (capacities.length > 0 ? Math.max(...capacities) : RING_CAPACITY),
    overflow: options.overflow ?? overflows[0] ?? 'block',
  });
  const symbols = [...new Set(children.flatMap((c) => c.symbols))];
  const sequencing: Record<string, SequenceRule> = {};
  for (const c of children) sequencing[c.venue] = c.sequencing;
  let closed = false;
  const close = async (): Promise<void> => {
    await provider.disconnect();
    if (closed) return;
    closed = true;
    for (const c of children) {
      c.tap.raw?.close();
      c.tap.raw = null;
    }
  };
  return {
    venue: merged.venue,
    clock,
    provider,
    feeds: children.map(viewOf),
    symbols,
    sequencing,
    hasRawFrames: children.some((c) => c.rawFrames),
    instruments: () => [...merged.instruments()],
    // Written by flushRaw, on the recorder's cadence.
    tapRaw(dir, fileOf) {
      if (!children.some((c) => c.rawFrames)) {
        throw new ConfigError(
          'MDCAP_ERR_INVALID_OPTION',
          `--raw: expected a feed with wire frames (${rawFeedNames()}) among the feeds, found ${children.map((c) => c.name).join(', ')}`,
        );
      }
      for (const c of children) if (c.rawFrames) c.tap.raw = new RawTap(dir, fileOf(c.venue), c.endpoint ?? '', clock.now());
    },
    flushRaw: () => {
      for (const c of children) c.tap.raw?.flush();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function symbolsOf(spec: FeedSpec): string[] {
  const definition = feedDefinition(spec.feed); // the registry's own check names the feeds there are
  const given = isArray(spec.symbols) ? [...new Set(spec.symbols)] : [];
  if (given.length > 0) return given;
  if (definition.defaultSymbols !== null) return [...definition.defaultSymbols];
  throw new ConfigError(
    'MDCAP_ERR_INVALID_OPTION',
    `feeds: expected the ${spec.feed} symbols to record (e.g. ${spec.feed}:XBT/USD,ETH/USD), found none`,
  );
}

/** Whether a value given as a list is one (a caller in JavaScript may pass anything); no narrowing. */
function isArray(x: unknown): boolean {
  return Array.isArray(x);
}

function errorText(error: unknown): string {
  if (error instanceof MdcapError) return error.toString();
  if (error instanceof Error) return error.message;
  return describeValue(error);
}

/** Thrown inside a connect attempt that a newer attempt, a timeout or a disconnect has superseded. */
const SUPERSEDED = new Error('superseded connection attempt');

/** One feed of the set: its raw provider and its connection state. */
class Child {
  readonly venue: string;
  readonly sequencing: SequenceRule;
  state: FeedState = 'idle';
  /** Incremented by every connect attempt and every loss: a sink of an older one is dead. */
  gen = 0;
  /** Consecutive failed attempts since the connection was lost. */
  attempt = 0;
  timer: TimerId | null = null;
  /** A loss reported while an attempt was still connecting or subscribing. */
  attemptLost: unknown = null;
  /** The symbols the engine subscribed, with the kinds this feed has: resubscribed on reconnect. */
  readonly subs = new Map<string, SubscriptionKind[]>();
  readonly stats = { losses: 0, attempts: 0, succeeded: 0 };
  endError: unknown = undefined;
  /** Never connected in this run yet (its first success is still a `reconnected`: a `disconnected` said it was down). */
  neverUp = true;

  constructor(
    readonly name: string,
    readonly rawFrames: boolean,
    readonly provider: DataProvider,
    readonly tap: TapHolder,
    readonly endpoint: string | null,
    readonly symbols: readonly string[],
  ) {
    this.venue = provider.venue;
    this.sequencing = provider.sequencing ?? 'contiguous';
  }
}

function viewOf(c: Child): ManagedFeed {
  return {
    name: c.name,
    venue: c.venue,
    symbols: c.symbols,
    sequencing: c.sequencing,
    endpoint: c.endpoint,
    hasRawFrames: c.rawFrames,
    get state() {
      return c.state;
    },
    get reconnects() {
      return { ...c.stats };
    },
  };
}

/**
 * The feeds as one DataProvider. Every feed pushes on this thread, stamped from the one clock, so
 * the merged stream is in tsRecv order. A feed's `lost` never reaches the engine (which would
 * reconnect every feed): the set reconnects that feed alone, and says so with statuses.
 */
class MergedProvider implements DataProvider {
  readonly venue: string;
  readonly kinds: readonly SubscriptionKind[];
  readonly validatesEvents: boolean;
  private sink: EventSink | null = null;
  private stopped = true;
  private readyCalled = false;
  /** Incremented by every connect(): an attempt of an earlier run must not touch a later one. */
  private run = 0;

  constructor(
    private readonly children: readonly Child[],
    readonly clock: Clock,
    private readonly policy: ReconnectPolicy,
    private readonly onError: (error: MdcapError) => void,
  ) {
    this.venue = children.map((c) => c.venue).join('+');
    this.kinds = SUBSCRIPTION_KINDS.filter((k) => children.some((c) => c.provider.kinds.includes(k)));
    this.validatesEvents = children.every((c) => c.provider.validatesEvents === true);
  }

  *instruments(): Iterable<Instrument> {
    for (const c of this.children) yield* c.provider.instruments?.() ?? [];
  }

  async connect(sink: EventSink): Promise<void> {
    await this.disconnect(); // a new run (or an engine retrying a connect): start over
    this.sink = sink;
    this.stopped = false;
    this.readyCalled = false;
    this.run++;
    for (const c of this.children) {
      c.state = 'connecting';
      c.attempt = 0;
      c.subs.clear();
      c.endError = undefined;
      c.neverUp = true;
    }
    const failures = await Promise.all(this.children.map((c) => this.attempt(c)));
    if (this.sink !== sink) return; // disconnected meanwhile (the engine stopped)
    if (failures.every((f) => f !== null)) {
      await this.disconnect();
      throw new ProviderError(
        'MDCAP_ERR_CONNECT_FAILED',
        `${this.venue}: expected at least one feed to connect, found none: ${this.children.map((c, i) => `${c.name}: ${errorText(failures[i])}`).join('; ')}`,
        { cause: failures[0] },
      );
    }
    this.children.forEach((c, i) => {
      if (failures[i] === null) {
        c.state = 'up';
        c.neverUp = false;
      } else {
        // Retried from ready(), once the engine has said which symbols it wants.
        c.state = 'down';
        c.endError = failures[i];
      }
    });
  }

  async subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    const owners = this.children.filter((c) => c.symbols.includes(symbol));
    if (owners.length === 0) {
      throw new ProviderError(
        'MDCAP_ERR_UNKNOWN_SYMBOL',
        `subscribe: expected a symbol of the feeds (${[...new Set(this.children.flatMap((c) => c.symbols))].join(', ')}), found ${symbol}`,
      );
    }
    for (const c of owners) {
      const own = kinds.filter((k) => c.provider.kinds.includes(k));
      c.subs.set(symbol, own);
      if (c.state === 'up') await c.provider.subscribe(symbol, own);
    }
  }

  async unsubscribe(symbol: string): Promise<void> {
    for (const c of this.children) {
      if (!c.subs.delete(symbol)) continue;
      if (c.state === 'up') await c.provider.unsubscribe?.(symbol);
    }
  }

  ready(): void {
    this.readyCalled = true;
    for (const c of this.children) {
      if (c.state === 'up') c.provider.ready?.();
      else if (c.state === 'down') {
        c.stats.losses++;
        this.emit(c.venue, 'disconnected', `could not connect: ${errorText(c.endError)}; retrying while the other feeds run`);
        c.endError = undefined;
        this.schedule(c);
      }
    }
  }

  async disconnect(): Promise<void> {
    this.stopped = true;
    this.sink = null;
    const open: Promise<void>[] = [];
    for (const c of this.children) {
      if (c.timer !== null) this.clock.clearTimer(c.timer);
      c.timer = null;
      c.gen++;
      if (c.state !== 'idle') open.push(c.provider.disconnect().catch(() => undefined));
      if (c.state !== 'ended' && c.state !== 'gave-up') c.state = 'idle';
    }
    await Promise.all(open);
  }

  pause(): void {
    for (const c of this.children) c.provider.pause?.();
  }

  resume(): void {
    for (const c of this.children) c.provider.resume?.();
  }

  poll(before: bigint): void {
    for (const c of this.children) c.provider.poll?.(before);
  }

  /** A status of the set's own for one venue, now (every feed stamps from this clock: in order). */
  private emit(venue: string, kind: StatusKind, detail: string): void {
    const now = this.clock.now();
    this.sink?.push(createStatus({ venue, symbol: ALL_SYMBOLS, tsEvent: now, tsRecv: now, kind, detail }));
  }

  private childSink(c: Child, gen: number): EventSink {
    const live = (): boolean => c.gen === gen && !this.stopped;
    return {
      push: (e) => {
        if (live()) this.sink?.push(e);
      },
      lost: (error) => {
        if (!live()) return;
        if (c.state === 'connecting') c.attemptLost = error ?? new Error('connection lost');
        else if (c.state === 'up') this.lost(c, error);
      },
      end: (error) => {
        if (!live()) return;
        c.gen++;
        c.state = 'ended';
        if (error !== undefined) {
          c.endError = error;
          this.emit(c.venue, 'disconnected', `the event stream failed: ${errorText(error)}; the other feeds go on`);
          this.onError(
            error instanceof MdcapError
              ? error
              : new ProviderError('MDCAP_ERR_PROVIDER_CONTRACT', `${c.venue}: the event stream failed: ${errorText(error)}`, {
                  cause: error,
                }),
          );
        }
        void c.provider.disconnect().catch(() => undefined);
        this.endIfAllDone();
      },
    };
  }

  private lost(c: Child, error: unknown): void {
    c.gen++; // the lost connection's sink is dead
    c.state = 'down';
    c.attempt = 0;
    c.stats.losses++;
    this.emit(c.venue, 'disconnected', `connection lost: ${errorText(error)}`);
    this.schedule(c);
  }

  private schedule(c: Child): void {
    c.attempt++;
    const at = this.clock.now() + BigInt(reconnectDelayMs(this.policy, c.attempt)) * 1_000_000n;
    c.timer = this.clock.setTimer(at, () => {
      c.timer = null;
      void this.retry(c);
    });
  }

  private async retry(c: Child): Promise<void> {
    if (this.stopped || c.state !== 'down') return;
    c.state = 'connecting';
    c.stats.attempts++;
    const failure = await this.attempt(c);
    if (this.stopped || c.state !== 'connecting') return;
    if (failure === null) {
      c.state = 'up';
      c.stats.succeeded++;
      const attempts = c.attempt;
      c.attempt = 0;
      const first = c.neverUp;
      c.neverUp = false;
      c.provider.poll?.(this.clock.now() + 1n); // what the new connection already sent comes first
      this.emit(c.venue, 'reconnected', `${first ? 'connected' : 'reconnected'} after ${attempts} attempt${attempts === 1 ? '' : 's'}`);
      if (this.readyCalled) c.provider.ready?.();
      return;
    }
    c.state = 'down';
    if (c.attempt >= this.policy.maxAttempts) {
      c.state = 'gave-up';
      c.endError = failure;
      const n = this.policy.maxAttempts;
      this.emit(
        c.venue,
        'disconnected',
        `gave up reconnecting after ${n} consecutive failed attempts; last: ${errorText(failure)}; the other feeds go on`,
      );
      this.onError(
        new ProviderError(
          'MDCAP_ERR_RECONNECT_GAVE_UP',
          `${c.venue}: expected a connection within ${n} attempts, found ${n} consecutive failures; last: ${errorText(failure)}`,
          { cause: failure },
        ),
      );
      this.endIfAllDone();
      return;
    }
    this.schedule(c);
  }

  /**
   * Connects one feed with a fresh sink and subscribes what the engine asked of it, within the
   * connect timeout. Resolves with null on success, else with why not.
   */
  private async attempt(c: Child): Promise<unknown> {
    const gen = ++c.gen;
    const run = this.run;
    c.attemptLost = null;
    const sink = this.childSink(c, gen);
    const check = (): void => {
      if (c.gen === gen && !this.stopped) return;
      // A connection that came up after its run was stopped is closed again.
      if (this.stopped && this.run === run) void c.provider.disconnect().catch(() => undefined);
      throw SUPERSEDED;
    };
    const work = (async () => {
      await c.provider.connect(sink);
      check();
      for (const [symbol, kinds] of c.subs) {
        await c.provider.subscribe(symbol, kinds);
        check();
      }
    })();
    work.catch(() => undefined); // after a timeout nobody awaits it; it ends as superseded
    let timer: TimerId | null = null;
    try {
      await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = this.clock.setTimer(this.clock.now() + BigInt(this.policy.connectTimeoutMs) * 1_000_000n, () =>
            reject(
              new ProviderError(
                'MDCAP_ERR_CONNECT_TIMEOUT',
                `${c.venue}: expected to connect within ${this.policy.connectTimeoutMs} ms, found no connection after that`,
              ),
            ),
          );
        }),
      ]);
      if (c.attemptLost === null) return null;
      await this.drop(c);
      return c.attemptLost;
    } catch (error) {
      if (!this.stopped) await this.drop(c);
      return error;
    } finally {
      if (timer !== null) this.clock.clearTimer(timer);
    }
  }

  /** After a failed attempt: its sink is dead (a timed-out attempt's late pushes are dropped), the connection closed. */
  private async drop(c: Child): Promise<void> {
    c.gen++;
    await c.provider.disconnect().catch(() => undefined);
  }

  private endIfAllDone(): void {
    const sink = this.sink;
    if (sink === null || !this.children.every((c) => c.state === 'ended' || c.state === 'gave-up')) return;
    this.sink = null;
    const failed = this.children.filter((c) => c.endError !== undefined);
    if (failed.length < this.children.length) {
      sink.end();
      return;
    }
    sink.end(
      new ProviderError(
        'MDCAP_ERR_RECONNECT_GAVE_UP',
        `${this.venue}: every feed has stopped: ${failed.map((c) => `${c.name}: ${errorText(c.endError)}`).join('; ')}`,
      ),
    );
  }
}
