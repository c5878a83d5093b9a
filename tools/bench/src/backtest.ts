/**
 * Backtesting with simulated execution (issue 15): a capture of the demo venue (the simulated
 * market `mdcap record --feed demo` records: L2 book deltas after a snapshot, quotes at the top,
 * ≈30 % of packets trades; AAPL, MSFT, BTC-USD) replayed at speed max through a
 * `RealtimeEngine` with books on.
 *
 * - replay: `ReplayProvider` (Parquet) → engine → a trivial `onTrade`. Baseline of this bench.
 * - replay + execution: the same with a `BacktestSession` attached (conservative queue model,
 *   maker/taker fees, no latency) and a strategy that sends an order every 100 events (see
 *   `strategy`); the same again with 100 µs entry and 100 µs ack latency (every order, cancel and
 *   report then goes through the engine's timers).
 * - memory: the same events from an array (decoded once, before timing) pushed straight into
 *   the engine's sink, without and with the broker: the engine and broker cost without the
 *   Parquet decode.
 *
 * The replay cases run first, then the memory ones (their array is made only then). Each
 * repetition is a fresh engine (and session) over the whole capture; the cases of one
 * repetition run back to back, so load from elsewhere moves them alike. First a warm-up run of
 * the `+exec` case (not counted: it compiles every path the others take), then REPS counted.
 * Printed: the median events/s per case (one JSON line each, for tools/bench/src/main.ts), with
 * the range, the median events per CPU second of this process (all its threads: less moved by
 * other processes' load than wall time), the ratio to the case's baseline and the order and
 * fill counts in the note; each run on stderr.
 *
 * Usage: node dist/backtest.js [--seconds 16] [--rate 100000] [--reps 3] [--every 100]
 *   [--resting 8] [--only replay,memory] [--cases replay,replay+exec,replay+exec+lat,memory,memory+exec]
 *   [--capture DIR (kept; made there if absent)]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BacktestSession } from '@mdcap/backtest';
import type { BacktestOptions } from '@mdcap/backtest';
import { SUBSCRIPTION_KINDS, VirtualClock } from '@mdcap/core';
import type { DataProvider, EventSink, Instrument, MarketEvent, OrderState } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import type { BookView } from '@mdcap/engine';
import { feedDefinition, record } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { report, since } from './measure.js';

const argv = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}
const num = (name: string, fallback: number): number => Number(opt(name) ?? fallback);

const SECONDS = num('seconds', 16);
const RATE = num('rate', 100_000);
const REPS = num('reps', 3);
const EVERY = num('every', 100);
const RESTING = num('resting', 8);
const ONLY = new Set((opt('only') ?? 'replay,memory').split(','));
/** Case keys to run (default all of ONLY's): replay, replay+exec, replay+exec+lat, memory, memory+exec. */
const CASES = opt('cases')?.split(',');
const T0 = 1_704_205_800_000_000_000n; // 2024-01-02T14:30:00Z, the demo venue's default start
const SYMBOLS = feedDefinition('demo').defaultSymbols!;
const FEES = { maker: '0.0001', taker: '0.0003' };

// ---- the capture ------------------------------------------------------------------------------

const given = opt('capture');
const tmp = given === undefined ? mkdtempSync(join(tmpdir(), 'mdcap-bench-backtest-')) : null;
const CAPTURE = given === undefined ? join(tmp!, 'demo') : resolve(given);
if (!existsSync(join(CAPTURE, 'manifest.json'))) {
  const t0 = performance.now();
  const s = await record({
    feed: { feed: 'demo', symbols: SYMBOLS, rate: RATE, seed: 1, clock: new VirtualClock(T0) },
    out: CAPTURE,
    durationNs: BigInt(SECONDS) * 1_000_000_000n,
  });
  process.stderr.write(`capture: ${s.events.toLocaleString('en-US')} events of the demo venue in ${since(t0).toFixed(1)} s\n`);
}

// ---- the strategy -------------------------------------------------------------------------------

interface Counts {
  orders: number;
  fills: number;
  makerFills: number;
  cancels: number;
  rejected: number;
  /** Mean number of the strategy's limit orders open (all symbols), sampled at each order it sends. */
  resting: number;
}

/**
 * Every EVERY-th event (of any kind) of a symbol whose book is valid, one order for that
 * symbol, cycling through: a GTC limit buy at the best bid (joins the back of the bid queue), a
 * market sell, a GTC limit sell at the best ask, a market buy. Sizes are a quarter of the top
 * level's. A symbol keeps at most RESTING of its limit orders open: past that, the oldest is
 * cancelled (most fill before that: about 13 rest near the touch over the three symbols at any
 * time, reported per run), so every trade and book packet runs the queue logic over them.
 */
function strategy(session: BacktestSession, engine: RealtimeEngine): () => number {
  const broker = session.broker;
  let open = 0;
  let openSum = 0;
  let sent = 0;
  const resting = new Map<string, number[]>();
  const books = new Map<string, BookView>();
  for (const s of SYMBOLS) resting.set(s, []);
  broker.onOrder((o: OrderState) => {
    if (o.type !== 'limit' || o.status === 'open' || o.status === 'pending') return;
    const ids = resting.get(o.symbol)!;
    const i = ids.indexOf(o.id);
    if (i >= 0) {
      ids.splice(i, 1);
      open--;
    }
  });
  let n = 0;
  let k = 0;
  engine.onEvent((e: MarketEvent) => {
    if (++n < EVERY || e.type === 'status') return;
    let book = books.get(e.symbol);
    if (book === undefined) books.set(e.symbol, (book = engine.book(e.symbol)));
    const bid = book.bestBidPrice();
    const ask = book.bestAskPrice();
    if (!book.valid || bid === null || ask === null) return;
    n = 0;
    openSum += open;
    sent++;
    switch (k++ & 3) {
      case 0: {
        const o = broker.submit({ symbol: e.symbol, side: 'buy', price: bid, size: quarter(book.bestBidSize()) });
        keep(e.symbol, o.id);
        break;
      }
      case 1:
        broker.submit({ symbol: e.symbol, side: 'sell', type: 'market', size: quarter(book.bestBidSize()) });
        break;
      case 2: {
        const o = broker.submit({ symbol: e.symbol, side: 'sell', price: ask, size: quarter(book.bestAskSize()) });
        keep(e.symbol, o.id);
        break;
      }
      default:
        broker.submit({ symbol: e.symbol, side: 'buy', type: 'market', size: quarter(book.bestAskSize()) });
    }
  });
  function keep(symbol: string, id: number): void {
    const o = broker.order(id);
    if (o === undefined || (o.status !== 'open' && o.status !== 'pending')) return; // filled or refused at once
    const ids = resting.get(symbol)!;
    ids.push(id);
    open++;
    if (ids.length > RESTING) {
      broker.cancel(ids.shift()!);
      open--;
    }
  }
  return () => (sent === 0 ? 0 : openSum / sent);
}

const quarter = (size: bigint): bigint => (size >= 4n ? size / 4n : 1n);

function counts(session: BacktestSession, resting: number): Counts {
  const s = session.summary();
  return { orders: s.orders, fills: s.fills, makerFills: s.makerFills, cancels: s.cancelled, rejected: s.rejected, resting };
}

// ---- one run ----------------------------------------------------------------------------------

interface Run {
  readonly seconds: number;
  /** CPU seconds of this process (all its threads) during the run: less moved by other processes' load than wall time. */
  readonly cpu: number;
  readonly events: number;
  readonly counts: Counts | null;
}

let sink = 0;

/** One engine over `provider`, with a trivial onTrade, and with a session + strategy when `exec` is given. */
async function run(provider: DataProvider, exec: BacktestOptions | null, instruments: Instrument[] = []): Promise<Run> {
  const engine = new RealtimeEngine(provider, { instruments });
  const session = exec === null ? null : new BacktestSession(engine, exec);
  const resting = session === null ? null : strategy(session, engine);
  engine.onTrade((t) => {
    sink += t.priceScale;
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (provider instanceof MemoryProvider) {
    await engine.start(SYMBOLS);
    provider.pushAll();
    await engine.stop();
  } else {
    await engine.run(SYMBOLS);
  }
  const seconds = since(t0);
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  session?.finish();
  const ev = engine.stats().events;
  return { seconds, cpu, events: ev.trade + ev.quote + ev.book + ev.order, counts: session === null ? null : counts(session, resting!()) };
}

/** The capture's events from an array, pushed into the engine's sink in one loop (no decode, no yields). */
class MemoryProvider implements DataProvider {
  readonly venue = 'demo';
  readonly clock: VirtualClock;
  readonly kinds = SUBSCRIPTION_KINDS;
  readonly validatesEvents = true;
  private sink: EventSink | null = null;
  constructor(
    private readonly events: readonly MarketEvent[],
    private readonly known: Instrument[],
  ) {
    this.clock = new VirtualClock(events[0]!.tsRecv);
  }
  instruments(): Instrument[] {
    return this.known;
  }
  connect(s: EventSink): Promise<void> {
    this.sink = s;
    return Promise.resolve();
  }
  subscribe(): Promise<void> {
    return Promise.resolve();
  }
  disconnect(): Promise<void> {
    return Promise.resolve();
  }
  pushAll(): void {
    const push = this.sink!.push;
    for (const e of this.events) push(e);
  }
}

// ---- the cases ----------------------------------------------------------------------------------

const NO_LATENCY: BacktestOptions = { fees: FEES };
const LATENCY: BacktestOptions = { fees: FEES, latency: { entry: 100_000n, ack: 100_000n } };

interface CaseDef {
  readonly key: string;
  readonly label: string;
  readonly go: () => Promise<Run>;
}

const log = (what: string, key: string, r: Run): void => {
  process.stderr.write(
    `${what} ${key}: ${r.events} events in ${r.seconds.toFixed(2)} s (${r.cpu.toFixed(2)} CPU s) = ${(r.events / r.seconds / 1e6).toFixed(2)} M/s${
      r.counts === null ? '' : ` ${JSON.stringify(r.counts)}`
    }\n`,
  );
};

/**
 * Runs a phase's cases: a warm-up run of its `+exec` case (not counted: it compiles every path
 * the others take), then REPS repetitions of all, back to back.
 */
async function phase(all: CaseDef[]): Promise<void> {
  const cases = CASES === undefined ? all : all.filter((c) => CASES.includes(c.key));
  if (cases.length === 0) return;
  const warm = cases.filter((c) => c.key.endsWith('+exec'));
  for (const c of warm.length > 0 ? warm : cases.slice(0, 1)) log('warm-up', c.key, await c.go());
  for (const c of cases) {
    results.set(c.key, []);
    labels.set(c.key, c.label);
  }
  for (let rep = 1; rep <= REPS; rep++) {
    for (const c of cases) {
      const r = await c.go();
      results.get(c.key)!.push(r);
      log(`rep ${rep}/${REPS}`, c.key, r);
    }
  }
}

if (!(REPS >= 1)) throw new Error(`--reps: expected 1 or more, found ${REPS}`);
process.stderr.write(
  `backtest bench: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
const results = new Map<string, Run[]>();
const labels = new Map<string, string>();
if (ONLY.has('replay')) {
  const replay = (): ReplayProvider => ReplayProvider.open(CAPTURE);
  await phase([
    { key: 'replay', label: 'baseline: replay alone (Parquet → engine with books → trivial onTrade)', go: () => run(replay(), null) },
    {
      key: 'replay+exec',
      label: `**replay + simulated execution**, an order every ${EVERY} events, no latency`,
      go: () => run(replay(), NO_LATENCY),
    },
    {
      key: 'replay+exec+lat',
      label: `replay + simulated execution, an order every ${EVERY} events, 100 µs entry + 100 µs ack latency`,
      go: () => run(replay(), LATENCY),
    },
  ]);
}
if (ONLY.has('memory')) {
  // Decoded once, outside the timing, after the replay cases (so that their GC does not walk
  // these 3 M live objects): every event of the capture as the replay delivers it.
  const events: MarketEvent[] = [];
  const p = ReplayProvider.open(CAPTURE);
  const instruments = p.instruments();
  const e = new RealtimeEngine(p, { books: false });
  e.onEvent((ev) => {
    if (ev.type !== 'status') events.push(ev);
  });
  const t0 = performance.now();
  await e.run(SYMBOLS);
  process.stderr.write(`memory: ${events.length.toLocaleString('en-US')} events decoded into an array in ${since(t0).toFixed(1)} s\n`);
  const memory = (): MemoryProvider => new MemoryProvider(events, instruments);
  await phase([
    {
      key: 'memory',
      label: 'baseline: events from memory → engine with books → trivial onTrade',
      go: () => run(memory(), null, instruments),
    },
    {
      key: 'memory+exec',
      label: `events from memory → engine + simulated execution, an order every ${EVERY} events, no latency`,
      go: () => run(memory(), NO_LATENCY, instruments),
    },
  ]);
}

const rate = (r: Run): number => r.events / r.seconds;
const cpuRate = (r: Run): number => r.events / r.cpu;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const m = (x: number): string => `${(x / 1e6).toFixed(2)} M/s`;
for (const [key, runs] of results) {
  const rates = runs.map(rate).sort((a, b) => a - b);
  const med = median(rates);
  const medCpu = median(runs.map(cpuRate));
  const base = key.startsWith('memory') ? results.get('memory') : results.get('replay');
  const ratio =
    base === undefined || base === runs
      ? ''
      : `; ${(med / median(base.map(rate))).toFixed(2)} × its baseline (${(medCpu / median(base.map(cpuRate))).toFixed(2)} × per CPU second)`;
  const x = runs[0]!.counts;
  const what =
    x === null
      ? ''
      : `; ${x.orders} orders, ${x.fills} fills (${x.makerFills} maker), ${x.cancels} cancelled, ${x.rejected} rejected, ${x.resting.toFixed(1)} limit orders open on average`;
  report({
    bench: 'backtest',
    case: labels.get(key)!,
    items: runs[0]!.events,
    seconds: runs[0]!.events / med,
    note: `${REPS} reps ${m(rates[0]!)}–${m(rates[rates.length - 1]!)}, ${m(medCpu)} per CPU second${ratio}${what}; load ${loadavg()[0]!.toFixed(1)}`,
  });
}
if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
if (sink < 0) console.log(sink);
process.exit(0);
