import { VirtualClock, parseDecimalExact } from '@mdcap/core';
import type { Bar, DataProvider, EventType, MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { SimProvider } from '@mdcap/sim';
import pg from 'pg';
import { SIM_SYMBOLS } from './captures.js';

// Helpers for the tests of @mdcap/sinks. That package tests with this one, so this one takes what
// it needs of the sinks (attachSink, PG_TABLES) as arguments instead of importing it.

export interface EngineRun {
  /** The engine's events (bars not among them). */
  events: MarketEvent[];
  bars: Bar[];
  /** Events and bars together, in the order the engine called back with them: what a sink is handed. */
  stream: MarketEvent[];
}

export interface EngineRunOptions {
  /** Bar intervals in seconds: 1 s bars unless given. */
  barIntervals?: readonly number[] | undefined;
  /** Called with the engine before the run starts. */
  onEngine?: (engine: RealtimeEngine) => void;
}

/** An engine on `provider`, run over SIM_SYMBOLS to its end: its events and bars. */
export async function engineRun(provider: DataProvider, options: EngineRunOptions = {}): Promise<EngineRun> {
  const engine = new RealtimeEngine(provider);
  engine.setBarInterval(...(options.barIntervals ?? [1]));
  const run: EngineRun = { events: [], bars: [], stream: [] };
  engine.onEvent((e) => {
    run.events.push(e);
    run.stream.push(e);
  });
  engine.onBar((b) => {
    run.bars.push(b);
    run.stream.push(b);
  });
  options.onEngine?.(engine);
  await engine.run(SIM_SYMBOLS);
  return run;
}

/** What an attached sink's handle gives a run: its stats at close (attachSink's SinkHandle). */
export interface SinkHandleLike {
  close(): Promise<unknown>;
}

/** How a run attaches its sink (attachSink's options, as far as a run sets them). */
export interface PublishAttachOptions {
  overflow: 'block';
  maxEvents: number;
  closeAttempts?: number;
}

export interface PublishRunOptions<H> {
  /** The simulator's seed: 4 unless given. */
  seed?: number | undefined;
  /** How long the simulated venue runs: 3 s unless given. */
  durationNs?: bigint | undefined;
  /** The simulator drops a packet every this many (a gap): 250 unless given. */
  gapEvery?: number | undefined;
  /** Bar intervals in seconds: 1 s bars unless given. */
  barIntervals?: readonly number[] | undefined;
  /** Events to a batch the sink is handed (attachSink's maxEvents): 1,000 unless given. */
  maxEvents?: number | undefined;
  /**
   * Attempts per batch once the run has ended (attachSink's closeAttempts): a test whose server
   * comes back only after the run may need more than the default on a loaded machine.
   */
  closeAttempts?: number | undefined;
  /** Called with the engine and the sink's handle before the run starts. */
  onEngine?: ((engine: RealtimeEngine, handle: H) => void) | undefined;
}

export interface PublishRun<Stats> extends EngineRun {
  /** The sink's stats at close. */
  stats: Stats;
}

/**
 * The simulated venue (2,000 packets/s) through an engine with `sink` attached by `attach`
 * (attachSink, overflow blocking): the engine's events and bars, and the sink's stats at close.
 */
export async function publishRun<S, H extends SinkHandleLike>(
  sink: S,
  attach: (engine: RealtimeEngine, sink: S, options: PublishAttachOptions) => H,
  options: PublishRunOptions<H> = {},
): Promise<PublishRun<Awaited<ReturnType<H['close']>>>> {
  const sim = new SimProvider({
    seed: options.seed ?? 4,
    clock: new VirtualClock(),
    durationNs: options.durationNs ?? 3_000_000_000n,
    packetsPerSecond: 2_000,
    faults: { gapEvery: options.gapEvery ?? 250 },
  });
  let handle: H | undefined;
  const run = await engineRun(sim, {
    barIntervals: options.barIntervals,
    onEngine: (engine) => {
      handle = attach(engine, sink, {
        overflow: 'block',
        maxEvents: options.maxEvents ?? 1_000,
        ...(options.closeAttempts === undefined ? {} : { closeAttempts: options.closeAttempts }),
      });
      options.onEngine?.(engine, handle);
    },
  });
  const stats = (await handle!.close()) as Awaited<ReturnType<H['close']>>;
  return { ...run, stats };
}

/** The PostgreSQL sink's columns per kind (its PG_TABLES), as far as reading them back needs. */
export type TableColumns = Readonly<Record<EventType, readonly { readonly name: string }[]>>;

export interface TableEventsOptions {
  /** The tables' columns: PG_TABLES of @mdcap/sinks. */
  tables: TableColumns;
  /** The tables' name prefix: `md_` unless given. */
  prefix?: string;
  /** Called for each numeric read with the scale of its text and the event's own scale (to assert they agree). */
  onScale?: (actual: number, expected: number) => void;
}

/**
 * A kind's table read back as events, in the order the server returns its rows (the columns are
 * exact: numeric text with the event's scale). `db` is a connected client, or a URL to connect to
 * for this read.
 */
export async function tableEvents(db: pg.Client | string, kind: EventType, options: TableEventsOptions): Promise<MarketEvent[]> {
  if (typeof db === 'string') {
    const client = new pg.Client({ connectionString: db });
    await client.connect();
    try {
      return await tableEvents(client, kind, options);
    } finally {
      await client.end();
    }
  }
  const cols = options.tables[kind].map((c) => `${c.name}::text AS ${c.name}`).join(', ');
  const { rows } = await db.query<Record<string, string | null>>(`SELECT ${cols} FROM ${options.prefix ?? 'md_'}${kind}`);
  const big = (v: string | null): bigint | null => (v === null ? null : BigInt(v));
  const num = (v: string | null, scale: number): bigint | null => {
    if (v === null) return null;
    const d = parseDecimalExact(v);
    options.onScale?.(d.scale, scale);
    return d.mantissa;
  };
  return rows.map((r) => {
    const head = {
      venue: r['venue']!,
      symbol: r['symbol']!,
      tsEvent: BigInt(r['ts_event']!),
      tsRecv: BigInt(r['ts_recv']!),
      seq: big(r['seq']!),
    };
    const ps = Number(r['price_scale']);
    const ss = Number(r['size_scale']);
    // A book level's or an order's tail, in the events' own key order.
    const level = () => ({
      side: r['side'],
      price: num(r['price']!, ps)!,
      size: num(r['size']!, ss)!,
      priceScale: ps,
      sizeScale: ss,
      flags: Number(r['flags']),
    });
    switch (kind) {
      case 'trade':
        return {
          type: 'trade',
          ...head,
          price: num(r['price']!, ps)!,
          size: num(r['size']!, ss)!,
          priceScale: ps,
          sizeScale: ss,
          side: r['side'],
          tradeId: r['trade_id'],
        } as MarketEvent;
      case 'quote':
        return {
          type: 'quote',
          ...head,
          bidPrice: num(r['bid_price']!, ps),
          bidSize: num(r['bid_size']!, ss)!,
          askPrice: num(r['ask_price']!, ps),
          askSize: num(r['ask_size']!, ss)!,
          priceScale: ps,
          sizeScale: ss,
        };
      case 'book':
        return { type: 'book', ...head, ...level() } as MarketEvent;
      case 'bar':
        return {
          type: 'bar',
          ...head,
          interval: Number(r['interval_s']),
          start: BigInt(r['bar_start']!),
          end: BigInt(r['bar_end']!),
          open: num(r['open']!, ps)!,
          high: num(r['high']!, ps)!,
          low: num(r['low']!, ps)!,
          close: num(r['close']!, ps)!,
          volume: num(r['volume']!, ss)!,
          trades: Number(r['trades']),
          priceScale: ps,
          sizeScale: ss,
          flags: Number(r['flags']),
        };
      case 'order':
        return {
          type: 'order',
          ...head,
          action: r['action'],
          orderId: r['order_id'] === null ? r['order_ref'] : BigInt(r['order_id']!),
          ...level(),
        } as MarketEvent;
      case 'status':
        return {
          type: 'status',
          ...head,
          kind: r['kind'],
          fromSeq: big(r['from_seq']!),
          toSeq: big(r['to_seq']!),
          ok: r['ok'] === null ? null : r['ok'] === 'true',
          detail: r['detail'],
        } as MarketEvent;
    }
  });
}
