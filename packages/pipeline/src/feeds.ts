import { LiveClock, MdcapError } from '@mdcap/core';
import type { Clock, DataProvider, Instrument, SequenceRule } from '@mdcap/core';
import { BloombergFeed, CmeFeed, cmeChannel, CmeWorkerFeed, DatabentoFeed, RawTap, VENUE_NAMES, venueFeed, WorkerFeed } from '@mdcap/feeds';
import type { VenueName } from '@mdcap/feeds';
import { ringProvider } from '@mdcap/ring';
import type { OverflowPolicy } from '@mdcap/ring';
import { loadCmeChannel } from './cme-files.js';

export type { OverflowPolicy };
import { DEFAULT_SIM_SYMBOLS, SimProvider } from '@mdcap/sim';

/**
 * What to open: a feed of the registry by name, its symbols, and the options it takes. Options
 * a feed does not know are ignored (the CLI passes all of its flags).
 */
export interface FeedSpec {
  /** A registered feed: `demo`, `kraken`, `binance`, `coinbase`, `alpaca`, `databento`, `bloomberg`, … */
  readonly feed: string;
  readonly symbols: readonly string[];
  /** Endpoint override for a network feed (an emulator, a testnet). */
  readonly url?: string;
  /** REST base URL override (Binance depth snapshots). */
  readonly restUrl?: string;
  /** Credentials: Alpaca key id and secret; Databento API key. */
  readonly key?: string;
  readonly secret?: string;
  /** Alpaca: `iex` (default) or `sip`. */
  readonly stocksFeed?: 'iex' | 'sip';
  /** Databento: dataset (default GLBX.MDP3), schema (default trades), intraday replay start (ns). */
  readonly dataset?: string;
  readonly schema?: string;
  readonly start?: bigint;
  /**
   * Bloomberg: the BLPAPI binding to load (a package name or a module path; default `blpapi`, an
   * optional dependency), and the Terminal, SAPI or B-PIPE host and port (default localhost:8194).
   */
  readonly bloombergModule?: string;
  readonly bloombergHost?: string;
  readonly bloombergPort?: number;
  /**
   * CME: the channel (`310`), CME's channel configuration (`config.xml`: its multicast groups),
   * the SBE schema file (templates_FixBinary.xml; the CLI gives the datasets' when none is named)
   * and the interface that joins the groups (default 127.0.0.1).
   */
  readonly channel?: number;
  readonly channelConfig?: string;
  readonly sbeSchema?: string;
  readonly multicastInterface?: string;
  /** CME: how long a packet ahead of its turn waits for the other line (default 10 ms). */
  readonly gapWaitMs?: number;
  /** CME: `mbp` price levels (default) or `mbo` every order, recovered from the MBO snapshot loop. */
  readonly cmeBook?: 'mbp' | 'mbo';
  /** demo: market seed (default 1), venue packets per second (default 1000), lose every N-th packet of a symbol. */
  readonly seed?: number;
  readonly rate?: number;
  readonly gapEvery?: number;
  /**
   * Venue feeds: run the handler (socket, parsing, book sync) on a worker thread feeding the
   * engine through a shared ring (default true; needs a LiveClock), or on this thread.
   */
  readonly handlerThread?: boolean;
  /** The ring between the feed and its consumer: slots (default 65,536) and what happens when it is full (default `block`). */
  readonly ringCapacity?: number;
  readonly overflow?: OverflowPolicy;
  /** The clock (default a new LiveClock). */
  readonly clock?: Clock;
}

/** A feed ready for an engine: `new RealtimeEngine(feed.provider)`. */
export interface OpenedFeed extends AsyncDisposable {
  /** The registry name (`kraken`) and the venue on its events (`kraken`, `GLBX.MDP3`). */
  readonly name: string;
  readonly venue: string;
  readonly clock: Clock;
  /** What the engine consumes: the feed behind a ring (in-thread, or the handler thread's shared one). */
  readonly provider: DataProvider & { ringStats(): { readonly drops: number } };
  /** How the venue numbers its messages (kept in a capture for `mdcap verify`). */
  readonly sequencing: SequenceRule;
  /** The feed's endpoint, for messages (null for the simulator). */
  readonly endpoint: string | null;
  /** True if it has wire frames to tap (`tapRaw`). */
  readonly hasRawFrames: boolean;
  /** Instruments known so far (a venue may learn scales from its data). */
  instruments(): Instrument[];
  /**
   * Stores every raw frame and REST response with its receive time under `<dir>/raw/<file>`, in
   * the emulators' line format, written every `flushMs`. Refused for a feed without frames.
   */
  tapRaw(dir: string, file: string, flushMs: number): void;
  /** Writes what the raw tap holds (call it now and then, and before closing). */
  flushRaw(): void;
  /** Disconnects (if an engine did not) and closes the raw tap. */
  close(): Promise<void>;
}

/** A feed the registry can open. */
export interface FeedDefinition {
  readonly name: string;
  /** One line for `--help`. */
  readonly describe: string;
  /** True if it needs `symbols` (the simulator has defaults). */
  readonly needsSymbols: boolean;
  /** Its symbols when none are given (the simulator), else null. */
  readonly defaultSymbols: readonly string[] | null;
  /** True if it has wire frames to tap (`record --raw`). */
  readonly rawFrames: boolean;
  /** The URL schemes `url` takes (`ws`, `wss`; `tcp`), empty for none. */
  readonly urlSchemes: readonly string[];
  /** Opens the provider (no network yet: the engine connects it). */
  open(spec: FeedSpec, clock: Clock, tap: TapHolder): DataProvider;
}

/** Where a main-thread feed writes its raw frames once a tap is set. */
export interface TapHolder {
  raw: RawTap | null;
}

const registry = new Map<string, FeedDefinition>();

/** Adds a feed to the registry (the ones to come: several vendors, CME, a gRPC source…). */
export function registerFeed(definition: FeedDefinition): void {
  registry.set(definition.name, definition);
}

/** The registered feeds, in the order they were registered. */
export function feedNames(): string[] {
  return [...registry.keys()];
}

/**
 * The definition of a registered feed.
 * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` naming the feeds there are.
 */
export function feedDefinition(name: string): FeedDefinition {
  const d = registry.get(name);
  if (d === undefined) throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `feed: expected one of ${feedNames().join(', ')}, found "${name}"`);
  return d;
}

registerFeed({
  name: 'demo',
  describe: 'the simulated venue (no network): deterministic market, gaps on request',
  needsSymbols: false,
  defaultSymbols: DEFAULT_SIM_SYMBOLS.map((s) => s.symbol),
  rawFrames: false,
  urlSchemes: [],
  open(spec, clock) {
    const known = DEFAULT_SIM_SYMBOLS.map((s) => s.symbol);
    const unknown = spec.symbols.filter((s) => !known.includes(s));
    if (unknown.length > 0) {
      throw new MdcapError(
        'MDCAP_ERR_UNKNOWN_SYMBOL',
        `--symbols: expected symbols of the demo feed (${known.join(', ')}), found ${unknown.join(', ')}`,
      );
    }
    return new SimProvider({
      seed: spec.seed ?? 1,
      clock,
      packetsPerSecond: spec.rate ?? 1000,
      ...(spec.gapEvery === undefined ? {} : { faults: { gapEvery: spec.gapEvery } }),
    });
  },
});

const VENUE_DESCRIPTIONS: Readonly<Record<VenueName, string>> = {
  kraken: 'Kraken spot WebSocket v1: books with CRC32 checks, trades, tickers',
  binance: 'Binance spot: depth diffs synced to REST snapshots, bookTicker, aggTrade',
  coinbase: 'Coinbase: level2 books, matches, tickers',
  alpaca: 'Alpaca US stocks: trades, quotes, minute bars (key and secret)',
};

for (const name of VENUE_NAMES) {
  registerFeed({
    name,
    describe: VENUE_DESCRIPTIONS[name],
    needsSymbols: true,
    defaultSymbols: null,
    rawFrames: true,
    urlSchemes: ['ws', 'wss'],
    open(spec, clock, tap) {
      if (name === 'alpaca' && (spec.key === undefined || spec.secret === undefined)) {
        throw new MdcapError(
          'MDCAP_ERR_INVALID_OPTION',
          '--key/--secret: expected Alpaca API credentials (flags, or APCA_API_KEY_ID and APCA_API_SECRET_KEY), found none',
        );
      }
      const options = {
        ...(spec.url === undefined ? {} : { url: spec.url }),
        ...(spec.restUrl === undefined ? {} : { restUrl: spec.restUrl }),
        ...(name === 'alpaca' ? { key: spec.key, secret: spec.secret, feed: spec.stocksFeed ?? 'iex' } : {}),
      };
      if (spec.handlerThread ?? true) {
        if (!(clock instanceof LiveClock)) {
          throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'handlerThread: expected a LiveClock (the handler thread shares its time)');
        }
        if (spec.overflow === 'drop-oldest') {
          throw new MdcapError(
            'MDCAP_ERR_INVALID_OPTION',
            '--overflow: expected block or drop-newest for a venue handler on its own thread (events span several ring records, which drop-oldest would tear), found drop-oldest; add --no-handler-thread to use it',
          );
        }
        return new WorkerFeed(name, { ...options, clock, capacity: spec.ringCapacity ?? 65_536, overflow: spec.overflow ?? 'block' });
      }
      return venueFeed(name, {
        ...options,
        clock,
        onFrame: (text: string, ts: bigint) => tap.raw?.frame(text, ts),
        onRest: (url: string, body: string, ts: bigint) => tap.raw?.rest(url, body, ts),
      });
    },
  });
}

registerFeed({
  name: 'databento',
  describe: 'Databento Live over its TCP protocol (dataset, schema, key)',
  needsSymbols: true,
  defaultSymbols: null,
  rawFrames: false,
  urlSchemes: ['tcp'],
  open(spec, clock) {
    if (spec.key === undefined) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', '--key: expected a Databento API key (the flag, or DATABENTO_API_KEY), found none');
    }
    return new DatabentoFeed({
      key: spec.key,
      dataset: spec.dataset ?? 'GLBX.MDP3',
      schema: spec.schema ?? 'trades',
      clock,
      ...(spec.start === undefined ? {} : { start: spec.start }),
      ...(spec.url === undefined ? {} : { url: spec.url }),
    });
  },
});

registerFeed({
  name: 'bloomberg',
  describe: 'Bloomberg //blp/mktdata via BLPAPI (optional binding, --bloomberg-module): trades, quotes',
  needsSymbols: true,
  defaultSymbols: null,
  rawFrames: false,
  urlSchemes: [],
  open(spec, clock) {
    // BLPAPI's nextEvent blocks: the loop always runs on a thread of its own.
    if (spec.handlerThread === false) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        'bloomberg: expected its own handler thread (the BLPAPI nextEvent loop blocks), found handlerThread false (--no-handler-thread, or several feeds at once with --feeds): record Bloomberg as a feed of its own',
      );
    }
    if (!(clock instanceof LiveClock)) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'bloomberg: expected a LiveClock (the handler thread shares its time)');
    }
    if (spec.overflow === 'drop-oldest') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        '--overflow: expected block or drop-newest for the Bloomberg handler thread (events span several ring records, which drop-oldest would tear), found drop-oldest',
      );
    }
    return new BloombergFeed({
      clock,
      capacity: spec.ringCapacity ?? 65_536,
      overflow: spec.overflow ?? 'block',
      ...(spec.bloombergModule === undefined ? {} : { module: spec.bloombergModule }),
      ...(spec.bloombergHost === undefined ? {} : { host: spec.bloombergHost }),
      ...(spec.bloombergPort === undefined ? {} : { port: spec.bloombergPort }),
    });
  },
});

registerFeed({
  name: 'cme',
  describe:
    'CME Globex MDP 3.0 over UDP multicast (--channel, --config config.xml): MBP books, MBO orders, trades, statuses; A/B arbitration, snapshot recovery',
  needsSymbols: true,
  defaultSymbols: null,
  rawFrames: false,
  urlSchemes: [],
  open(spec, clock) {
    if (spec.channel === undefined || spec.channelConfig === undefined) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `cme: expected a channel and its config.xml (--channel 310 --config config.xml), found ${spec.channel === undefined ? 'no channel' : 'no config'}`,
      );
    }
    if (spec.sbeSchema === undefined)
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'cme: expected the SBE schema file (--schema templates_FixBinary.xml), found none');
    if (!(clock instanceof LiveClock))
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'cme: expected a LiveClock (packets are stamped as they arrive)');
    const { config, schema } = loadCmeChannel({ channelConfig: spec.channelConfig, channel: spec.channel, sbeSchema: spec.sbeSchema });
    const channel = cmeChannel(config);
    const options = {
      channel,
      schema,
      clock,
      ...(spec.multicastInterface === undefined ? {} : { interface: spec.multicastInterface }),
      ...(spec.gapWaitMs === undefined ? {} : { gapWaitMs: spec.gapWaitMs }),
      ...(spec.cmeBook === undefined ? {} : { book: spec.cmeBook }),
    };
    if (spec.handlerThread === false) return new CmeFeed(options);
    if (spec.overflow === 'drop-oldest') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        '--overflow: expected block or drop-newest for the cme handler on its own thread (events span several ring records, which drop-oldest would tear), found drop-oldest; add --no-handler-thread to use it',
      );
    }
    // The sockets, arbitration, decoding and books on a worker thread, as for the other venues.
    return new CmeWorkerFeed({ ...options, capacity: spec.ringCapacity ?? 65_536, overflow: spec.overflow ?? 'block' });
  },
});

/** A feed's provider as its definition opens it (no ring yet), with its raw-frame holder. */
export interface InnerFeed {
  readonly definition: FeedDefinition;
  readonly inner: DataProvider;
  readonly tap: TapHolder;
  readonly endpoint: string | null;
}

/** Opens the provider of a registry feed on `clock`, without a ring (openFeed and openFeeds add theirs). */
export function openInnerFeed(spec: FeedSpec, clock: Clock): InnerFeed {
  const definition = feedDefinition(spec.feed);
  const tap: TapHolder = { raw: null };
  const inner = definition.open(spec, clock, tap);
  const endpoint = 'endpoint' in inner && typeof inner.endpoint === 'string' ? inner.endpoint : null;
  return { definition, inner, tap, endpoint };
}

/** The names of the feeds with wire frames to tap, for messages. */
export function rawFeedNames(): string {
  return [...registry.values()]
    .filter((d) => d.rawFrames)
    .map((d) => d.name)
    .join(', ');
}

/**
 * Opens a feed of the registry, ready for an engine: `new RealtimeEngine(feed.provider)`. A venue
 * handler on a worker thread brings its own shared ring; any other feed gets an in-thread ring
 * with the declared overflow policy. Nothing connects until the engine starts. Several feeds
 * into one engine: `openFeeds` (feed-manager.ts).
 * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for an unknown feed or missing credentials,
 *   `MDCAP_ERR_UNKNOWN_SYMBOL` for a symbol the simulator does not have.
 */
export function openFeed(spec: FeedSpec): OpenedFeed {
  const clock = spec.clock ?? new LiveClock();
  const { definition, inner, tap, endpoint } = openInnerFeed(spec, clock);
  const provider =
    inner instanceof WorkerFeed || inner instanceof BloombergFeed || inner instanceof CmeWorkerFeed
      ? inner
      : ringProvider(inner, { capacity: spec.ringCapacity ?? 65_536, overflow: spec.overflow ?? 'block' });
  const close = async (): Promise<void> => {
    await provider.disconnect();
    tap.raw?.close();
    tap.raw = null;
  };
  return {
    name: definition.name,
    venue: inner.venue,
    clock,
    provider,
    sequencing: inner.sequencing ?? 'contiguous',
    endpoint,
    hasRawFrames: definition.rawFrames,
    instruments: () => [...(inner.instruments?.() ?? [])],
    tapRaw(dir, file, flushMs) {
      if (!definition.rawFrames) {
        throw new MdcapError(
          'MDCAP_ERR_INVALID_OPTION',
          `--raw: expected a feed with wire frames (${rawFeedNames()}), found --feed ${definition.name}`,
        );
      }
      if (inner instanceof WorkerFeed) inner.tapRaw(dir, file, flushMs);
      else tap.raw = new RawTap(dir, file, endpoint ?? '', clock.now());
    },
    flushRaw: () => tap.raw?.flush(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
