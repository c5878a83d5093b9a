import { createHash } from 'node:crypto';
import { BacktestSession, formatMoney } from '@mdcap/backtest';
import type { BacktestOptions, BacktestSummary, BrokerStats, EquityPoint, LatencySpec, Strategy } from '@mdcap/backtest';
import { addSessionExecutions, CaptureColumns, CaptureReader } from '@mdcap/capture';
import type { CaptureColumnsData, CaptureKind } from '@mdcap/capture';
import { ConfigError, describeValue, MdcapError, nsToIso } from '@mdcap/core';
import type { Fill, OrderState, PositionState } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import type { EngineOptions } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import type { ReplaySpeed } from '@mdcap/replay';
import { equityParquet, fillsParquet, ordersParquet } from './backtest-output.js';
import { loadStrategy } from './backtest-strategy.js';
import { record } from './record.js';
import type { LoadedStrategy } from './backtest-strategy.js';
import { feedDefinition, openFeed } from './feeds.js';
import type { FeedSpec, OpenedFeed } from './feeds.js';

/**
 * A latency of the run: a {@link LatencySpec}, or the text `'capture'`: sampled (with the run's
 * seed) from the capture's own `tsRecv − tsEvent` ({@link latencySamples}).
 */
export type RunLatencySpec = LatencySpec;

/** What a backtest and a paper session share: the strategy, its parameters, the simulated venue. */
export interface StrategyRunOptions extends Omit<BacktestOptions, 'latency'> {
  /** A strategy function, or a module path (see `loadStrategy`). */
  readonly strategy: Strategy | string;
  /** Overlaid on the module's `params` export. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Latencies (default 0 each): see `BrokerOptions.latency`. */
  readonly latency?: { readonly entry?: RunLatencySpec; readonly ack?: RunLatencySpec; readonly feed?: RunLatencySpec };
  /** Options of the run's engine (books are always kept: the venue matches against them). */
  readonly engine?: Omit<EngineOptions, 'books'>;
  /** Stops the run early (the results so far are kept, as at the end of the data). */
  readonly signal?: AbortSignal;
  /** Errors reported while running (a strategy callback that threw, a bad event); the run goes on. */
  readonly onError?: (error: MdcapError) => void;
  /** Called every few thousand events. */
  readonly onProgress?: (progress: BacktestProgress) => void;
}

export interface BacktestRunOptions extends StrategyRunOptions {
  /** The capture directory. */
  readonly capture: string;
  /**
   * The capture already decoded in memory (`CaptureColumns.data`, as `runSweep` shares it with
   * its worker threads): the replay reads these columns instead of decoding the files again.
   */
  readonly columns?: CaptureColumnsData;
  /** Default: every symbol of the capture. */
  readonly symbols?: readonly string[];
  /** Only events with tsRecv at or after / before (ns). */
  readonly from?: bigint;
  readonly to?: bigint;
  /** `max` (default), or a multiple of real time (1, 10): the strategy sees the data paced as it came. */
  readonly speed?: ReplaySpeed;
  /** How many of the capture's latencies a `'capture'` latency samples (default 10,000). */
  readonly latencySamples?: number;
}

export interface BacktestProgress {
  readonly events: number;
  /** The clock's time now. */
  readonly ts: bigint;
}

/** How the run went, besides the strategy's own numbers. */
export interface BacktestRunStats {
  /** Events the engine dispatched. */
  readonly events: number;
  /** Errors reported while running (the first ones are in `errors`). */
  readonly errorCount: number;
  readonly broker: BrokerStats;
  readonly latency: { readonly entry: string; readonly ack: string; readonly feed: string };
  readonly queue: string;
  /** Wall time of the run, ms. */
  readonly wallMs: number;
}

/** A run's results: in memory, exact; `writeBacktestOutputs` puts them on disk. */
export interface BacktestResult {
  readonly mode: 'backtest' | 'paper';
  /** The strategy module as given, or the function's name. */
  readonly strategy: string;
  /** The capture, or the feed (paper mode). */
  readonly source: string;
  /** The parameters the strategy ran with (module defaults overlaid by the run's). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly symbols: readonly string[];
  readonly summary: BacktestSummary;
  readonly fills: readonly Fill[];
  /** Every order update, in the order the strategy learned of them. */
  readonly orders: readonly OrderState[];
  readonly equity: readonly EquityPoint[];
  readonly stats: BacktestRunStats;
  /** The first 100 errors reported while running. */
  readonly errors: readonly MdcapError[];
  /** Paper mode with `record`: the capture and session the market data (and these executions) went into. */
  readonly recorded?: { readonly out: string; readonly session: number; readonly events: number };
}

const KEPT_ERRORS = 100;
const PROGRESS_EVERY = 8192;
const MARKET_KINDS: readonly CaptureKind[] = ['trades', 'quotes', 'book_updates', 'order_updates'];

/**
 * Up to `max` of the capture's `tsRecv − tsEvent` (ns), for a latency model sampled from the
 * capture (`latency: { feed: { samples } }`, `mdcap backtest --latency capture`). Market data
 * rows only (not statuses or bars), spread evenly over the capture (every k-th row, in file
 * order), so the same capture always gives the same samples. Rows without a usable venue time
 * (tsEvent ≤ 0, or after tsRecv: clocks out of step) are left out.
 * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` when the capture has no usable row.
 */
export async function latencySamples(
  capture: string,
  options: { readonly max?: number; readonly symbols?: readonly string[] } = {},
): Promise<bigint[]> {
  const max = options.max ?? 10_000;
  if (!Number.isSafeInteger(max) || max < 1)
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `latency samples: expected a positive integer, found ${describeValue(max)}`);
  const reader = CaptureReader.open(capture);
  const files = reader.files().filter((f) => MARKET_KINDS.includes(f.kind));
  const wanted = options.symbols === undefined ? null : new Set(options.symbols);
  // Rows there are (a finalized file's count; an unfinalized segment's after a first read).
  let total = 0;
  for (const f of files) {
    if (f.entry !== null) total += f.entry.rows;
    else for await (const b of reader.batches(f)) total += b.length;
  }
  const stride = Math.max(1, Math.ceil(total / (max * 2))); // twice as many candidates as wanted: some rows are unusable
  const out: bigint[] = [];
  let row = 0;
  for (const f of files) {
    for await (const b of reader.batches(f, wanted === null ? {} : { symbols: wanted })) {
      const first = (stride - (row % stride)) % stride;
      for (let i = first; i < b.length; i += stride) {
        if (wanted !== null && !wanted.has(b.symbols[b.symbolCodes[i]!]!)) continue;
        const ev = b.tsEvent[i]!;
        const d = b.tsRecv[i]! - ev;
        if (ev > 0n && d >= 0n) out.push(d);
      }
      row += b.length;
    }
  }
  if (out.length === 0) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `latency capture: expected market data rows with a venue time (tsEvent) at or before tsRecv in ${capture}, found none`,
    );
  }
  // Evenly thinned to `max`, keeping the spread.
  if (out.length <= max) return out;
  const step = out.length / max;
  return Array.from({ length: max }, (_, i) => out[Math.floor(i * step)]!);
}

/** The run's latencies with each `'capture'` leg replaced by the capture's samples (and its own seed). */
export async function resolveLatency(
  o: Pick<StrategyRunOptions, 'latency' | 'seed'>,
  capture: string | null,
  symbols: readonly string[] | undefined,
  max: number,
): Promise<BacktestOptions['latency']> {
  const l = o.latency;
  if (l === undefined) return undefined;
  let samples: bigint[] | null = null;
  const seed = o.seed ?? 1;
  const one = async (spec: RunLatencySpec | undefined, k: number): Promise<LatencySpec | undefined> => {
    if (spec !== 'capture') return spec;
    if (capture === null) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        'latency: "capture" samples a capture\'s latencies; in paper mode give durations such as 250us',
      );
    }
    samples ??= await latencySamples(capture, { max, ...(symbols === undefined ? {} : { symbols }) });
    return { samples, seed: seed + k }; // each leg its own sequence
  };
  const [entry, ack, feed] = [await one(l.entry, 0), await one(l.ack, 1), await one(l.feed, 2)];
  return { ...(entry === undefined ? {} : { entry }), ...(ack === undefined ? {} : { ack }), ...(feed === undefined ? {} : { feed }) };
}

function brokerOptions(o: StrategyRunOptions, latency: BacktestOptions['latency']): BacktestOptions {
  return {
    ...(latency === undefined ? {} : { latency }),
    ...(o.queue === undefined ? {} : { queue: o.queue }),
    ...(o.fees === undefined ? {} : { fees: o.fees }),
    ...(o.maxPosition === undefined ? {} : { maxPosition: o.maxPosition }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.interval === undefined ? {} : { interval: o.interval }),
  };
}

/** A session on an engine with the strategy set up on it: what a backtest and a paper run share. */
async function prepare(
  engine: RealtimeEngine,
  o: StrategyRunOptions,
  strategy: LoadedStrategy,
  symbols: readonly string[],
  latency: BacktestOptions['latency'],
): Promise<{
  session: BacktestSession;
  params: Record<string, unknown>;
  errors: MdcapError[];
  errorCount: () => number;
  events: () => number;
}> {
  const session = new BacktestSession(engine, brokerOptions(o, latency)); // before the strategy: the venue sees each event first
  const errors: MdcapError[] = [];
  let errorCount = 0;
  engine.onError((e) => {
    errorCount++;
    if (errors.length < KEPT_ERRORS) errors.push(e);
    o.onError?.(e);
  });
  let events = 0;
  if (o.onProgress !== undefined) {
    const progress = o.onProgress;
    engine.onEvent(() => {
      if (++events % PROGRESS_EVERY === 0) progress({ events, ts: engine.clock.now() });
    });
  }
  const params = { ...strategy.params, ...(o.params ?? {}) };
  try {
    await strategy.fn({ engine, broker: session.broker, params, symbols });
  } catch (error) {
    if (error instanceof MdcapError && error.code !== 'MDCAP_ERR_CALLBACK') throw error; // an option the broker refused, a bad order: as it is
    throw new ConfigError(
      'MDCAP_ERR_STRATEGY',
      `strategy ${strategy.name}: its setup threw: ${(error as Error)?.message ?? String(error)}`,
      {
        cause: error,
      },
    );
  }
  return {
    session,
    params,
    errors,
    errorCount: () => errorCount,
    events: () => Object.values(engine.stats().events).reduce((a, b) => a + b, 0),
  };
}

function finishResult(
  mode: 'backtest' | 'paper',
  source: string,
  strategy: LoadedStrategy,
  symbols: readonly string[],
  prep: Awaited<ReturnType<typeof prepare>>,
  t0: number,
): BacktestResult {
  const { session } = prep;
  session.finish();
  return {
    mode,
    strategy: strategy.name,
    source,
    params: prep.params,
    symbols,
    summary: session.summary(),
    fills: session.fills,
    orders: session.orderUpdates,
    equity: session.equity,
    stats: {
      events: prep.events(),
      errorCount: prep.errorCount(),
      broker: session.broker.stats(),
      latency: session.broker.describeLatency(),
      queue: session.broker.queue.name,
      wallMs: Math.round(performance.now() - t0),
    },
    errors: prep.errors,
  };
}

/** The engine's failure (an unreadable file), if it failed: thrown rather than returning half a result as if whole. */
function failure(engine: RealtimeEngine, errors: readonly MdcapError[]): MdcapError | null {
  if (engine.stats().state !== 'failed') return null;
  return (
    [...errors].reverse().find((e) => e.code.startsWith('MDCAP_ERR_CAPTURE') || e.code === 'MDCAP_ERR_IO') ??
    errors[errors.length - 1] ??
    null
  );
}

/**
 * Runs a strategy against a capture: ReplayProvider → RealtimeEngine → BacktestSession (the
 * simulated venue, attached before the strategy registers) → the strategy; returns the summary,
 * every fill and order update, and the equity curve. Deterministic: the same capture, strategy,
 * parameters and options give the same fills, at any `speed`.
 * @throws {ConfigError} `MDCAP_ERR_STRATEGY` (a strategy that cannot be loaded or whose setup
 *   throws), `MDCAP_ERR_INVALID_OPTION`; {@link MdcapError} `MDCAP_ERR_UNKNOWN_SYMBOL`,
 *   `MDCAP_ERR_REPLAY_RANGE`, and the capture's errors (`MDCAP_ERR_CAPTURE_*`, `MDCAP_ERR_IO`).
 */
export async function runBacktest(o: BacktestRunOptions): Promise<BacktestResult> {
  const t0 = performance.now();
  const strategy = await loadStrategy(o.strategy);
  const provider = ReplayProvider.open(o.columns === undefined ? o.capture : CaptureColumns.from(o.columns), {
    ...(o.speed === undefined ? {} : { speed: o.speed }),
    ...(o.from === undefined ? {} : { from: o.from }),
    ...(o.to === undefined ? {} : { to: o.to }),
  });
  const symbols = o.symbols ?? provider.symbols;
  const unknown = symbols.filter((s) => !provider.symbols.includes(s));
  if (unknown.length > 0) {
    throw new MdcapError(
      'MDCAP_ERR_UNKNOWN_SYMBOL',
      `symbols: expected symbols of the capture (${provider.symbols.join(', ')}), found ${unknown.join(', ')}`,
    );
  }
  if (symbols.length === 0)
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `symbols: expected a capture with symbols, found none in ${o.capture}`);
  const latency = await resolveLatency(o, o.capture, o.symbols, o.latencySamples ?? 10_000);
  const engine = new RealtimeEngine(provider, { ...o.engine, books: true });
  const prep = await prepare(engine, o, strategy, symbols, latency);
  const stop = (): void => void engine.stop();
  if (o.signal?.aborted === true) return finishResult('backtest', o.capture, strategy, symbols, prep, t0);
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    await engine.run(symbols);
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
  const failed = failure(engine, prep.errors);
  if (failed !== null) throw failed;
  return finishResult('backtest', o.capture, strategy, symbols, prep, t0);
}

export interface PaperRunOptions extends StrategyRunOptions {
  /** A feed of the registry (`{ feed: 'demo', symbols: [] }`: its default symbols), or one opened with `openFeed`. */
  readonly feed: FeedSpec | OpenedFeed;
  /** Stop after this long on the feed's clock (else at `signal`, or when the feed ends). */
  readonly durationNs?: bigint;
  /**
   * Also record the feed into this capture (as `record` does), with the session's fills, order
   * updates and equity curve kept in it beside the market data (`executions/session-N/`,
   * DuckDB views `fills`, `orders`, `equity`).
   */
  readonly record?: string;
}

function isOpened(f: FeedSpec | OpenedFeed): f is OpenedFeed {
  return typeof (f as OpenedFeed).provider === 'object' && typeof (f as OpenedFeed).close === 'function';
}

/**
 * Paper trading: the same strategy and simulated venue as {@link runBacktest}, on a live feed
 * and its live clock (latencies are waited for on that clock). Runs for `durationNs`, until
 * `signal` is aborted, or until the feed ends; returns the same results.
 * @throws {MdcapError} as `runBacktest`, and the feed's `MDCAP_ERR_CONNECT_FAILED`.
 */
export async function runPaper(o: PaperRunOptions): Promise<BacktestResult> {
  const t0 = performance.now();
  const strategy = await loadStrategy(o.strategy);
  if (o.record !== undefined) return runPaperRecorded(o, o.record, strategy, t0);
  let feed: OpenedFeed;
  let symbols: readonly string[];
  if (isOpened(o.feed)) {
    feed = o.feed;
    symbols = (feed.provider as { symbols?: readonly string[] }).symbols ?? feed.instruments().map((i) => i.symbol);
  } else {
    const spec = o.feed;
    const defaults = spec.symbols.length === 0 ? feedDefinition(spec.feed).defaultSymbols : null;
    symbols = spec.symbols.length > 0 ? spec.symbols : (defaults ?? []);
    if (symbols.length === 0) throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `feed ${spec.feed}: expected symbols to trade, found none`);
    feed = openFeed({ ...spec, symbols });
  }
  const ownFeed = !isOpened(o.feed);
  try {
    const latency = await resolveLatency(o, null, undefined, 0);
    const engine = new RealtimeEngine(feed.provider, { ...o.engine, books: true });
    const prep = await prepare(engine, o, strategy, symbols, latency);
    const stop = (): void => void engine.stop();
    if (o.signal?.aborted === true) return finishResult('paper', feed.name, strategy, symbols, prep, t0);
    o.signal?.addEventListener('abort', stop, { once: true });
    let timer: number | null = null;
    try {
      await engine.start(symbols);
      if (o.durationNs !== undefined) timer = engine.clock.setTimer(engine.clock.now() + o.durationNs, stop);
      await engine.done();
    } finally {
      o.signal?.removeEventListener('abort', stop);
      if (timer !== null) engine.clock.clearTimer(timer);
    }
    const failed = failure(engine, prep.errors);
    if (failed !== null) throw failed;
    return finishResult('paper', feed.name, strategy, symbols, prep, t0);
  } finally {
    if (ownFeed) await feed.close();
  }
}

/**
 * Paper trading while recording: `record` runs the feed into the capture, the strategy and its
 * simulated venue ride on the recording's engine (books on), and at the end the session's
 * executions are written into the capture.
 */
async function runPaperRecorded(o: PaperRunOptions, out: string, strategy: LoadedStrategy, t0: number): Promise<BacktestResult> {
  const latency = await resolveLatency(o, null, undefined, 0);
  // The recording reports the engine's errors to `onError`; the session keeps them too, but only once to the caller.
  const { onError, ...quiet } = o;
  let prep: Awaited<ReturnType<typeof prepare>> | null = null;
  let symbols: readonly string[] = [];
  const rec = await record({
    feed: o.feed,
    out,
    engine: { ...o.engine, books: true },
    ...(o.durationNs === undefined ? {} : { durationNs: o.durationNs }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    ...(onError === undefined ? {} : { onError }),
    onStart: async (engine, source) => {
      symbols = source.symbols;
      prep = await prepare(engine, quiet, strategy, symbols, latency);
    },
  });
  const result = finishResult('paper', rec.feed, strategy, symbols, prep!, t0);
  addSessionExecutions(out, rec.session, [
    { table: 'fills', rows: result.fills.length, bytes: fillsParquet(result.fills) },
    { table: 'orders', rows: result.orders.length, bytes: ordersParquet(result.orders) },
    { table: 'equity', rows: result.equity.length, bytes: equityParquet(result.equity) },
  ]);
  return { ...result, recorded: { out, session: rec.session, events: rec.events } };
}

// ---- results as text ---------------------------------------------------------------------

/** A position with its sizes and money as exact decimal text. */
export interface PositionJson {
  readonly venue: string;
  readonly symbol: string;
  readonly size: string;
  readonly mark: string | null;
  readonly cash: string;
  readonly realized: string;
  readonly unrealized: string;
  readonly fees: string;
  readonly pnl: string;
  readonly bought: string;
  readonly sold: string;
  readonly turnover: string;
}

/** The fields of `T` as JSON carries them: bigints (money, ns) as decimal text. */
type AsJson<T> = { readonly [K in keyof T]: T[K] extends bigint ? string : T[K] extends bigint | null ? string | null : T[K] };

/** A summary with its money as exact decimal text and its times as ns text (and RFC 3339): what JSON can carry. */
export interface SummaryFieldsJson extends AsJson<Omit<BacktestSummary, 'positions' | 'moneyScale'>> {
  readonly startIso: string | null;
  readonly endIso: string | null;
  readonly positions: readonly PositionJson[];
}

/** `summary.json` and `mdcap backtest --json`: the summary with bigints as decimal text (money exact). */
export interface BacktestSummaryJson extends SummaryFieldsJson {
  readonly mode: 'backtest' | 'paper';
  readonly strategy: string;
  readonly source: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly symbols: readonly string[];
  readonly latency: { readonly entry: string; readonly ack: string; readonly feed: string };
  readonly queue: string;
  readonly events: number;
  readonly errors: number;
  /** sha256 of the fills (see {@link fillsHash}): two runs with the same hash filled the same. */
  readonly fillsHash: string;
  /** Paper mode with `--record`: where the feed and these executions were recorded. */
  readonly recorded?: BacktestResult['recorded'];
}

export function positionJson(p: PositionState): PositionJson {
  const m = (v: bigint): string => formatMoney(v, p.moneyScale);
  return {
    venue: p.venue,
    symbol: p.symbol,
    size: formatMoney(p.size, p.sizeScale),
    mark: p.mark === null ? null : formatMoney(p.mark, p.moneyScale - p.sizeScale),
    cash: m(p.cash),
    realized: m(p.realized),
    unrealized: m(p.unrealized),
    fees: m(p.fees),
    pnl: m(p.pnl),
    bought: formatMoney(p.bought, p.sizeScale),
    sold: formatMoney(p.sold, p.sizeScale),
    turnover: m(p.turnover),
  };
}

export function summaryFieldsJson(s: BacktestSummary): SummaryFieldsJson {
  const m = (v: bigint): string => formatMoney(v, s.moneyScale);
  return {
    start: s.start === null ? null : String(s.start),
    end: s.end === null ? null : String(s.end),
    startIso: s.start === null ? null : nsToIso(s.start),
    endIso: s.end === null ? null : nsToIso(s.end),
    interval: s.interval,
    pnl: m(s.pnl),
    realized: m(s.realized),
    unrealized: m(s.unrealized),
    fees: m(s.fees),
    turnover: m(s.turnover),
    maxDrawdown: m(s.maxDrawdown),
    sharpe: s.sharpe,
    orders: s.orders,
    rejected: s.rejected,
    cancelled: s.cancelled,
    fills: s.fills,
    makerFills: s.makerFills,
    takerFills: s.takerFills,
    fillRatio: s.fillRatio,
    positions: s.positions.map(positionJson),
  };
}

export function summaryJson(r: BacktestResult): BacktestSummaryJson {
  return {
    mode: r.mode,
    strategy: r.strategy,
    source: r.source,
    params: r.params,
    symbols: r.symbols,
    ...summaryFieldsJson(r.summary),
    latency: r.stats.latency,
    queue: r.stats.queue,
    events: r.stats.events,
    errors: r.stats.errorCount,
    fillsHash: fillsHash(r.fills),
    ...(r.recorded === undefined ? {} : { recorded: r.recorded }),
  };
}

/** JSON with bigints as decimal text (params may hold them). */
export function stringifyJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

/** sha256 over every field of every fill, in order: equal hashes, identical fills. */
export function fillsHash(fills: readonly Fill[]): string {
  const h = createHash('sha256');
  for (const f of fills) {
    h.update(
      [
        f.fillId,
        f.orderId,
        f.clientId ?? '',
        f.venue,
        f.symbol,
        f.side,
        f.price,
        f.size,
        f.priceScale,
        f.sizeScale,
        f.liquidity,
        f.fee,
        f.moneyScale,
        f.position,
        f.tsVenue,
        f.tsRecv,
      ].join('\t') + '\n',
    );
  }
  return h.digest('hex');
}
