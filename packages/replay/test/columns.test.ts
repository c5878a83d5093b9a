import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createTrade, eventToJson, streamProvider, TradeBatchView, VirtualClock } from '@mdcap/core';
import type { DataProvider, EventSink, MarketEvent, Trade, TradeBatch, TradeColumns } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import type { EngineOptions } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import type { ReplayOptions } from '@mdcap/replay';
import { CaptureColumns } from '@mdcap/capture';
import { recordEvents, SIM_SYMBOLS, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEC = 1_000_000_000n;
const dir = tempDir('columns');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let events: MarketEvent[] = [];
let trades: Trade[] = [];
const cap = join(dir, 'cap');
/** The trades alone: long runs of one kind, so batches of many rows. */
const tradesOnly = join(dir, 'trades');
beforeAll(async () => {
  events = await simulatedEvents(30);
  trades = events.filter((e): e is Trade => e.type === 'trade');
  await recordEvents(cap, events, { rotateNs: 7n * SEC });
  await recordEvents(tradesOnly, trades, { rotateNs: 7n * SEC });
}, 60_000);

function hash(list: readonly MarketEvent[]): string {
  const h = createHash('sha256');
  for (const e of list) h.update(`${JSON.stringify(eventToJson(e))}\n`);
  return h.digest('hex');
}

/** Runs a replay of the capture with 2 s bars; `setup` registers the callbacks. */
async function run(
  setup: (engine: RealtimeEngine) => void,
  options: EngineOptions = {},
  root: string = cap,
): Promise<{ bars: MarketEvent[]; errors: string[] }> {
  const engine = new RealtimeEngine(ReplayProvider.open(root), options);
  engine.setBarInterval(2);
  const bars: MarketEvent[] = [];
  const errors: string[] = [];
  engine.onBar((b) => bars.push(b));
  engine.onError((e) => errors.push(e.toString()));
  setup(engine);
  await engine.run(SIM_SYMBOLS);
  return { bars, errors };
}

describe('trades as column batches (engine.onTrades)', () => {
  it.each([
    ['every kind', cap],
    ['trades alone', tradesOnly],
  ])('the rows of the batches are the recorded trades, and the bars are those of a run with onTrade (%s)', async (_name, root) => {
    const one: Trade[] = [];
    const a = await run((e) => e.onTrade((t) => one.push(t)), {}, root);
    const rows: Trade[] = [];
    let batches = 0;
    const b = await run(
      (e) =>
        e.onTrades((batch) => {
          batches++;
          for (let i = batch.start; i < batch.end; i++) rows.push(batch.trade(i));
        }),
      {},
      root,
    );
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    expect(one).toEqual(trades);
    expect(hash(rows)).toBe(hash(trades));
    expect(a.bars.length).toBeGreaterThan(10);
    expect(hash(b.bars)).toBe(hash(a.bars));
    // Runs of consecutive trades come as one batch (cut at bar closes); interleaved kinds give rows one by one.
    if (root === tradesOnly) expect(batches).toBeLessThan(a.bars.length + 20);
  });

  it('cuts batches at the timers: every row before a bar close is earlier than it, every row after is not', async () => {
    const seen: { kind: 'row' | 'bar'; t: bigint }[] = [];
    let engine: RealtimeEngine | null = null;
    const r = await run((e) => {
      engine = e;
      e.onTrades((b) => {
        for (let i = b.start; i < b.end; i++) seen.push({ kind: 'row', t: b.tsRecv[i]! });
      });
      e.onBar(() => seen.push({ kind: 'bar', t: engine!.clock.now() }));
    });
    expect(r.errors).toEqual([]);
    let bars = 0;
    for (let k = 1; k < seen.length; k++) {
      const [x, y] = [seen[k - 1]!, seen[k]!];
      if (y.kind === 'bar' && x.kind === 'row') expect(x.t).toBeLessThan(y.t);
      if (x.kind === 'bar' && y.kind === 'row') expect(y.t).toBeGreaterThanOrEqual(x.t);
      if (y.kind === 'bar') bars++;
    }
    expect(bars).toBeGreaterThan(10);
  });

  it('a callback removed after the 5th trade is not called a 6th time, also inside a batch', async () => {
    for (const reuseEvents of [false, true]) {
      let n = 0;
      await run(
        (e) => {
          const off = e.onTrade(() => {
            if (++n === 5) off();
          });
        },
        { reuseEvents },
        tradesOnly,
      );
      expect(n).toBe(5);
    }
  });

  it('a seek from a timer (a bar close) comes after the trade that fired the timer, as event by event', async () => {
    const provider = ReplayProvider.open(tradesOnly);
    const engine = new RealtimeEngine(provider);
    engine.setBarInterval(2);
    const got: MarketEvent[] = [];
    let due: bigint | null = null;
    engine.onEvent((e) => got.push(e));
    engine.onBar(() => {
      if (due !== null) return;
      due = engine.clock.now();
      provider.seek(due + 5n * SEC);
    });
    await engine.run(SIM_SYMBOLS);
    const at = got.findIndex((e) => e.type === 'status' && e.kind === 'gap');
    // The trade whose arrival ran the bar's timer is delivered, then the jump.
    const firing = trades.find((t) => t.tsRecv >= due!)!;
    expect(got[at - 1]).toEqual(firing);
    expect(got.slice(0, at)).toEqual(trades.filter((t) => t.tsRecv <= firing.tsRecv));
  });

  it('with reuseEvents, onTrade gets one reused object whose values are each recorded trade', async () => {
    const objects = new Set<Trade>();
    const copies: Trade[] = [];
    const r = await run(
      (e) =>
        e.onTrade((t) => {
          objects.add(t);
          copies.push({ ...t });
        }),
      { reuseEvents: true },
    );
    expect(r.errors).toEqual([]);
    expect(objects.size).toBe(1);
    expect(hash(copies)).toBe(hash(trades));
  });

  it('onTrade, onEvent and onTrades together: fresh events for the first two, the same rows for the last', async () => {
    const one: Trade[] = [];
    const all: MarketEvent[] = [];
    const rows: Trade[] = [];
    const r = await run(
      (e) => {
        e.onTrade((t) => one.push(t));
        e.onEvent((x) => all.push(x));
        e.onTrades((b) => {
          for (let i = b.start; i < b.end; i++) rows.push(b.trade(i));
        });
      },
      { reuseEvents: true },
    );
    expect(r.errors).toEqual([]);
    expect(new Set(one).size).toBe(one.length);
    expect(one).toEqual(trades);
    expect(all).toEqual(events);
    expect(rows).toEqual(trades);
  });

  it('a callback that stops the engine ends the batch there', async () => {
    let rows = 0;
    let after = 0;
    let stopped = false;
    await run((e) =>
      e.onTrades((b) => {
        if (stopped) after++;
        rows += b.end - b.start;
        if (rows > 100 && !stopped) {
          stopped = true;
          void e.stop();
        }
      }),
    );
    expect(stopped).toBe(true);
    expect(after).toBe(0);
  });
});

describe('a capture decoded into memory (CaptureColumns)', () => {
  it('replays exactly as from disk, whole or in part, as often as asked, and on a worker thread from the same memory', async () => {
    const columns = await CaptureColumns.load(cap);
    expect(columns.rows).toBe(events.length);
    expect(columns.bytes).toBeGreaterThan(0);
    const replay = async (source: string | CaptureColumns, options: ReplayOptions = {}): Promise<MarketEvent[]> => {
      const engine = new RealtimeEngine(ReplayProvider.open(source, options));
      const out: MarketEvent[] = [];
      engine.onEvent((e) => out.push(e));
      await engine.run(SIM_SYMBOLS);
      return out;
    };
    expect(await replay(columns)).toEqual(events);
    expect(await replay(columns)).toEqual(events);
    const from = events[0]!.tsRecv + 11n * SEC;
    const to = from + 9n * SEC;
    expect(hash(await replay(columns, { from, to }))).toBe(hash(await replay(cap, { from, to })));
    // Columns of part of the capture replay that part, and refuse to pretend they hold more.
    const part = await CaptureColumns.load(cap, { from, to, symbols: new Set(['MSFT']) });
    expect(part.loaded).toEqual({ from, to, symbols: ['MSFT'] });
    expect(part.rows).toBeLessThan(columns.rows);
    const partEngine = new RealtimeEngine(ReplayProvider.open(part, { from, to }));
    const fromPart: MarketEvent[] = [];
    partEngine.onEvent((e) => fromPart.push(e));
    await partEngine.run(['MSFT']);
    const fromDisk = new RealtimeEngine(ReplayProvider.open(cap, { from, to }));
    const want: MarketEvent[] = [];
    fromDisk.onEvent((e) => want.push(e));
    await fromDisk.run(['MSFT']);
    expect(hash(fromPart)).toBe(hash(want));
    expect(() => ReplayProvider.open(part)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_REPLAY_RANGE' }));
    expect(() => ReplayProvider.open(part, { from: from - 1n, to })).toThrow(/expected a range within the columns loaded/);
    await expect(new RealtimeEngine(ReplayProvider.open(part, { from, to })).start(['AAPL'])).rejects.toMatchObject({
      code: 'MDCAP_ERR_UNKNOWN_SYMBOL',
    });
    // A worker thread given the data replays the same memory (SharedArrayBuffer: nothing copied).
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { CaptureColumns } = await import(${JSON.stringify(import.meta.resolve('@mdcap/capture'))});
        const { ReplayProvider } = await import(${JSON.stringify(import.meta.resolve('@mdcap/replay'))});
        const { RealtimeEngine } = await import(${JSON.stringify(import.meta.resolve('@mdcap/engine'))});
        const { eventToJson } = await import(${JSON.stringify(import.meta.resolve('@mdcap/core'))});
        const { createHash } = require('node:crypto');
        const engine = new RealtimeEngine(ReplayProvider.open(CaptureColumns.from(workerData)));
        const h = createHash('sha256');
        engine.onEvent((e) => h.update(JSON.stringify(eventToJson(e)) + '\\n'));
        await engine.run(${JSON.stringify(SIM_SYMBOLS)});
        parentPort.postMessage(h.digest('hex'));
      })();`;
    const worker = new Worker(code, { eval: true, workerData: columns.data });
    const fromWorker = await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(fromWorker).toBe(hash(events));
  });
});

/** A provider that delivers hand-made trade columns in one pushTrades call. */
function columnsProvider(rows: Trade[], symbols: readonly string[]): DataProvider {
  const clock = new VirtualClock(0n);
  let sink: EventSink | null = null;
  const cols: TradeColumns = {
    tsRecv: BigInt64Array.from(rows.map((t) => t.tsRecv)),
    tsEvent: BigInt64Array.from(rows.map((t) => t.tsEvent)),
    price: BigInt64Array.from(rows.map((t) => t.price)),
    size: BigInt64Array.from(rows.map((t) => t.size)),
    priceScale: Uint8Array.from(rows.map((t) => t.priceScale)),
    sizeScale: Uint8Array.from(rows.map((t) => t.sizeScale)),
    venueCodes: new Int32Array(rows.length),
    venues: ['v'],
    symbolCodes: Int32Array.from(rows.map((t) => symbols.indexOf(t.symbol))),
    symbols,
    sideCodes: Int32Array.from(rows.map((t) => (t.side === 'buy' ? 0 : 1))),
    sides: ['buy', 'sell'],
    trade: (i) => rows[i]!,
    seqAt: (i) => rows[i]!.seq,
    tradeIdAt: (i) => rows[i]!.tradeId,
  };
  return {
    venue: 'v',
    clock,
    kinds: ['trade'],
    validatesEvents: true,
    connect: (s) => {
      sink = s;
      return Promise.resolve();
    },
    subscribe: () => Promise.resolve(),
    ready: () => {
      queueMicrotask(() => {
        void sink!.pushTrades!(new TradeBatchView().set(cols, 0, rows.length));
        sink!.end();
      });
    },
    disconnect: () => Promise.resolve(),
  };
}

describe('onTrades with a provider of events (not columns)', () => {
  it('gets each trade as a batch of one, after its onTrade callbacks', async () => {
    const rows: Trade[] = [];
    const order: string[] = [];
    const engine = new RealtimeEngine(streamProvider({ events: () => trades.slice(0, 500) }));
    engine.onTrade(() => order.push('trade'));
    engine.onTrades((b) => {
      expect(b.end - b.start).toBe(1);
      order.push('batch');
      rows.push(b.trade(b.start));
      expect(b.price[b.start]).toBe(rows[rows.length - 1]!.price);
      expect(b.symbols[b.symbolCodes[b.start]!]).toBe(rows[rows.length - 1]!.symbol);
    });
    await engine.run(SIM_SYMBOLS);
    expect(rows).toEqual(trades.slice(0, 500));
    expect(order.slice(0, 4)).toEqual(['trade', 'batch', 'trade', 'batch']);
  });
});

describe('pushTrades in the engine', () => {
  const t = (i: number, symbol: string, ts: bigint): Trade =>
    createTrade({
      venue: 'v',
      symbol,
      tsEvent: ts,
      tsRecv: ts,
      seq: BigInt(i + 1),
      price: 100n + BigInt(i),
      size: 1n,
      priceScale: 2,
      sizeScale: 0,
      side: i % 2 === 0 ? 'buy' : 'sell',
    });

  it('rows out of order or of a symbol not subscribed are rejected and reported as if pushed one by one', async () => {
    const rows = [t(0, 'A', 10n), t(1, 'A', 20n), t(2, 'B', 30n), t(3, 'A', 15n), t(4, 'A', 40n)];
    const engine = new RealtimeEngine(columnsProvider(rows, ['A', 'B']));
    const got: Trade[] = [];
    const errors: string[] = [];
    engine.onTrades((b: TradeBatch) => {
      for (let i = b.start; i < b.end; i++) got.push(b.trade(i));
    });
    engine.onError((e) => errors.push(e.code));
    await engine.run(['A']);
    expect(got).toEqual([rows[0], rows[1], rows[4]]);
    expect(errors.sort()).toEqual(['MDCAP_ERR_OUT_OF_ORDER', 'MDCAP_ERR_PROVIDER_CONTRACT']);
    expect(engine.stats().events.trade).toBe(3);
  });

  const sparse = (n: number): Trade[] => Array.from({ length: n }, (_, i) => t(i, 'A', 1_000n + BigInt(i) * 130n * SEC));

  it('bars of sparse trades in one batch close as they do event by event (timers set inside a batch cut it)', async () => {
    const rows = sparse(30);
    const barsOf = async (provider: DataProvider, setup: (e: RealtimeEngine) => void): Promise<string> => {
      const engine = new RealtimeEngine(provider);
      engine.setBarInterval(60);
      const bars: MarketEvent[] = [];
      engine.onBar((b) => bars.push(b));
      setup(engine);
      await engine.run(['A']);
      return hash(bars);
    };
    const want = await barsOf(streamProvider({ events: () => rows }), (e) => e.onTrade(() => undefined));
    expect(await barsOf(columnsProvider(rows, ['A']), (e) => e.onTrades(() => undefined))).toBe(want);
    expect(await barsOf(columnsProvider(rows, ['A']), (e) => e.onTrade(() => undefined))).toBe(want);
    // Each batch lies between two bar closes, never across one.
    const seen: { kind: 'row' | 'bar'; t: bigint }[] = [];
    const cut = new RealtimeEngine(columnsProvider(rows, ['A']));
    cut.setBarInterval(60);
    cut.onTrades((b) => {
      for (let i = b.start; i < b.end; i++) seen.push({ kind: 'row', t: b.tsRecv[i]! });
    });
    cut.onBar(() => seen.push({ kind: 'bar', t: cut.clock.now() }));
    await cut.run(['A']);
    expect(seen.filter((x) => x.kind === 'bar').length).toBeGreaterThan(20);
    for (let k = 1; k < seen.length; k++) expect(seen[k]!.t).toBeGreaterThanOrEqual(seen[k - 1]!.t);
    const reuse = new RealtimeEngine(columnsProvider(rows, ['A']), { reuseEvents: true });
    reuse.setBarInterval(60);
    const bars: MarketEvent[] = [];
    reuse.onBar((b) => bars.push(b));
    reuse.onTrade(() => undefined);
    await reuse.run(['A']);
    expect(hash(bars)).toBe(want);
  });

  it('the clock is at each trade when its callback runs, and a timer a callback sets fires before later trades', async () => {
    const rows = sparse(10);
    for (const reuseEvents of [false, true]) {
      const engine = new RealtimeEngine(columnsProvider(rows, ['A']), { reuseEvents });
      const seen: string[] = [];
      engine.onTrade((x) => {
        expect(engine.clock.now()).toBe(x.tsRecv);
        seen.push(`trade ${x.seq}`);
        if (x.seq === 3n) engine.setTimer(x.tsRecv + 1n, () => seen.push('timer'));
      });
      await engine.run(['A']);
      expect(seen.slice(2, 5)).toEqual(['trade 3', 'timer', 'trade 4']);
    }
  });
});
