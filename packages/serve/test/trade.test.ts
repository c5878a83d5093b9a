import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { BacktestSession } from '@mdcap/backtest';
import type { BacktestOptions, BacktestSummary } from '@mdcap/backtest';
import type { Broker, Fill, OrderRequest, OrderState, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { MarketDataServer, trade } from '@mdcap/serve';
import type { RemoteStrategy, TradeContext, TradeOptions } from '@mdcap/serve';
import { SimProvider } from '@mdcap/sim';
import { recordEvents, simulatedEvents, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradeRequest } from '../src/gen/mdcap/v1/market_data.js';
import { rawMethod } from '../src/raw-method.js';

/**
 * The Trade call: a strategy over gRPC gets the fills the same strategy gets in-process on a
 * BacktestSession (hash of the fills, and the summary), with order latency (windows matter) and
 * without (a submit's reports nest in its callback); bad starts and a client that leaves.
 */

let root: string;
let server: MarketDataServer;
const MS = 1_000_000n;

beforeAll(async () => {
  root = tempDir('serve-trade');
  const events = await simulatedEvents(10, { faults: { gapEvery: 150 } });
  await recordEvents(join(root, 'sim'), events, { instruments: new SimProvider({ seed: 3 }).instruments() });
  server = await MarketDataServer.start({ listen: '127.0.0.1:0', captures: root, replayThreads: 0 });
});

afterAll(async () => {
  await server?.close();
});

/** The canonical text of fills, one line each, and its SHA-256 (what the Python test prints too). */
function fillsText(fills: readonly Fill[]): string {
  return fills
    .map((f) => `${f.fillId} ${f.orderId} ${f.side} ${f.price} ${f.size} ${f.liquidity} ${f.fee} ${f.tsVenue} ${f.tsRecv}\n`)
    .join('');
}
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The test strategy, written once over a tiny broker interface so that the in-process and the
 * remote runs share its logic: every 20th AAPL trade, a limit buy two ticks below the trade's price and a
 * market sell by turns; every third time, a cancel of the oldest limit order still open; with
 * `chase`, an IOC sell at the price of every third fill, from the fill's callback.
 */
interface Actions {
  submit(r: OrderRequest): unknown;
  cancel(id: number): unknown;
}
function strategyState(chase: boolean): {
  onTrade(t: Trade, a: Actions): Promise<void>;
  onOrder(o: OrderState): void;
  onFill(f: Fill, a: Actions): Promise<void>;
} {
  let n = 0;
  let k = 0;
  const open: number[] = [];
  return {
    async onTrade(t, a) {
      if (t.symbol !== 'AAPL' || ++n % 20 !== 0) return;
      k++;
      if (k % 3 === 0 && open.length > 0) await a.cancel(open.shift()!);
      if (k % 2 === 1) await a.submit({ symbol: 'AAPL', side: 'buy', price: t.price - 2n, size: '100', clientId: `L${k}` });
      else await a.submit({ symbol: 'AAPL', side: 'sell', size: '100', clientId: `M${k}` });
    },
    onOrder(o) {
      const i = open.indexOf(o.id);
      if (o.type === 'limit' && o.tif === 'gtc' && o.status === 'open' && i < 0) open.push(o.id);
      if (o.status !== 'open' && o.status !== 'pending' && i >= 0) open.splice(i, 1);
    },
    async onFill(f, a) {
      if (chase && f.fillId % 3 === 0) {
        await a.submit({ symbol: f.symbol, side: 'sell', price: f.price, size: '100', tif: 'ioc', clientId: `F${f.fillId}` });
      }
    },
  };
}

async function inProcess(options: BacktestOptions, chase: boolean): Promise<{ fills: Fill[]; summary: BacktestSummary }> {
  const provider = ReplayProvider.open(join(root, 'sim'), { speed: 'max' });
  const engine = new RealtimeEngine(provider, { books: true, barGraceMs: 250, barTimestamp: 'tsEvent' });
  const session = new BacktestSession(engine, options);
  const s = strategyState(chase);
  const broker: Broker = engine.orders;
  engine.onTrade((t) => void s.onTrade(t, broker));
  engine.onOrder((o) => s.onOrder(o));
  engine.onFill((f) => void s.onFill(f, broker));
  await engine.run(provider.symbols);
  session.finish();
  return { fills: session.fills, summary: session.summary() };
}

function remote(chase: boolean): RemoteStrategy {
  const s = strategyState(chase);
  return {
    onTrade: (t, ctx: TradeContext) => s.onTrade(t, ctx),
    onOrder: (o) => s.onOrder(o),
    onFill: (f, ctx) => s.onFill(f, ctx),
  };
}

describe('Trade: the same strategy over gRPC and in-process gets the same fills', () => {
  const cases: [string, bigint, bigint, boolean][] = [
    ['1 ms entry latency, 200 µs ack: windows of one decision each, orders land 1 ms later', MS, 200_000n, false],
    ['no latency, orders from fills: reports of a submit come inside it (nested windows)', 0n, 0n, true],
  ];
  for (const [what, entry, ack, chase] of cases) {
    it(what, async () => {
      const options: BacktestOptions = { latency: { entry, ack }, fees: { maker: '-0.0001', taker: '0.0003' } };
      const local = await inProcess(options, chase);
      const topts: TradeOptions = {
        capture: 'sim',
        kinds: ['trade'],
        latency: { entry, ack },
        fees: { maker: '-0.0001', taker: '0.0003' },
      };
      const got = await trade(server.address, topts, remote(chase));
      expect(local.fills.length).toBeGreaterThan(5);
      expect(local.summary.cancelled).toBeGreaterThan(0);
      if (chase) expect(local.fills.some((f) => f.clientId?.startsWith('F') === true)).toBe(true);
      expect(sha256(fillsText(got.fills))).toBe(sha256(fillsText(local.fills)));
      expect(got.fills).toEqual(local.fills);
      expect(got.summary).toEqual(local.summary);
      expect(got.orders.length).toBeGreaterThan(got.fills.length);
    });
  }

  it('books, snapshots and instruments travel ahead of the decisions (decideOn trade): still the same fills', async () => {
    const local = await inProcess({ latency: { entry: MS } }, false);
    let snapshots = 0;
    let instruments = 0;
    const s = remote(false);
    const got = await trade(
      server.address,
      {
        capture: 'sim',
        kinds: ['trade', 'book', 'snapshot', 'instrument', 'status'],
        depth: 1,
        decideOn: ['trade'],
        latency: { entry: MS },
      },
      {
        ...s,
        onSnapshot: (_, ctx) => {
          snapshots++;
          expect(ctx.canTrade).toBe(false);
        },
        onInstrument: () => void instruments++,
      },
    );
    expect(got.fills).toEqual(local.fills);
    expect(snapshots).toBeGreaterThan(1000);
    expect(instruments).toBe(3);
  });
});

describe('Trade: what it refuses', () => {
  async function failure(o: TradeOptions): Promise<{ code: string; grpc: unknown }> {
    try {
      await trade(server.address, o, {});
    } catch (e) {
      const err = e as { code: string; details?: { grpcCode: unknown } };
      return { code: err.code, grpc: err.details?.grpcCode };
    }
    throw new Error(`expected ${JSON.stringify(o, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))} to fail`);
  }
  const cases: [string, TradeOptions, string, grpc.status][] = [
    ['an unknown capture', { capture: 'nope' }, 'MDCAP_ERR_SOURCE_NOT_FOUND', grpc.status.NOT_FOUND],
    ['an unknown symbol', { capture: 'sim', symbols: ['TSLA'] }, 'MDCAP_ERR_UNKNOWN_SYMBOL', grpc.status.NOT_FOUND],
    ['a fee that is not a decimal', { capture: 'sim', fees: { taker: '2bp' } }, 'MDCAP_ERR_INVALID_OPTION', grpc.status.INVALID_ARGUMENT],
    ['an unknown queue model', { capture: 'sim', queue: 'fifo' as 'prob' }, 'MDCAP_ERR_INVALID_OPTION', grpc.status.INVALID_ARGUMENT],
    [
      'a queue power out of range',
      { capture: 'sim', queue: { kind: 'prob', power: 9 } },
      'MDCAP_ERR_INVALID_OPTION',
      grpc.status.INVALID_ARGUMENT,
    ],
    [
      'deciding on a kind not streamed',
      { capture: 'sim', kinds: ['trade'], decideOn: ['book'] },
      'MDCAP_ERR_BAD_REQUEST',
      grpc.status.INVALID_ARGUMENT,
    ],
    ['a reversed range', { capture: 'sim', from: 2n, to: 1n }, 'MDCAP_ERR_REPLAY_RANGE', grpc.status.INVALID_ARGUMENT],
  ];
  for (const [what, o, code, status] of cases) {
    it(`${what}: ${grpc.status[status]} with ${code}`, async () => {
      expect(await failure(o)).toEqual({ code, grpc: status });
    });
  }

  it('a malformed order is the strategy’s error (MDCAP_ERR_INVALID_ORDER, as broker.submit throws it); the run goes on', async () => {
    const errors: string[] = [];
    let sells = 0;
    const got = await trade(
      server.address,
      { capture: 'sim', symbols: ['AAPL'], kinds: ['trade'] },
      {
        async onTrade(t, ctx) {
          if (errors.length === 0) {
            await ctx
              .submit({ symbol: 'AAPL', side: 'sideways' as 'buy', size: '100' })
              .catch((e: { code: string }) => errors.push(e.code));
          } else if (sells++ === 0) {
            const o = await ctx.submit({ symbol: 'AAPL', side: 'sell', size: '100', clientId: 'ok' });
            expect(o).toMatchObject({ id: 1, status: 'pending', clientId: 'ok', tsSubmit: t.tsRecv });
          }
        },
        onBookUpdate: () => undefined,
      },
    );
    expect(errors).toEqual(['MDCAP_ERR_INVALID_ORDER']);
    expect(got.summary.orders).toBe(1);
  });

  it('orders from a callback that cannot send them are refused in the client', async () => {
    let refused = '';
    await trade(
      server.address,
      { capture: 'sim', symbols: ['AAPL'], kinds: ['trade', 'book'], decideOn: ['trade'] },
      {
        async onBookUpdate(_, ctx) {
          if (refused !== '') return;
          await ctx.submit({ symbol: 'AAPL', side: 'buy', size: '100' }).catch((e: Error) => (refused = e.message));
        },
      },
    );
    expect(refused).toMatch(/expected a call from the callback of an item that ends a window/);
  });

  it('requests that break the protocol end the call with MDCAP_ERR_BAD_REQUEST', async () => {
    const Raw = grpc.makeGenericClientConstructor({ Trade: rawMethod('/mdcap.v1.MarketData/Trade', true, true) }, 'raw');
    const client = new Raw(server.address, grpc.credentials.createInsecure());
    const statusOf = async (first: Buffer, second?: (window: bigint) => Buffer): Promise<grpc.ServiceError> => {
      const call = (client as unknown as { Trade(): grpc.ClientDuplexStream<Buffer, Buffer> }).Trade();
      const err = new Promise<grpc.ServiceError>((resolve) => {
        call.on('data', () => {
          if (second !== undefined) call.write(second(999n));
          second = undefined;
        });
        call.on('error', resolve);
      });
      call.write(first);
      return err;
    };
    const start = Buffer.from(
      TradeRequest.encode(TradeRequest.fromPartial({ request: { $case: 'start', value: { capture: { capture: 'sim' } } } })).finish(),
    );
    const notStart = Buffer.from(TradeRequest.encode(TradeRequest.fromPartial({ request: { $case: 'done', value: {} } })).finish());
    const cases = [
      await statusOf(Buffer.from([0x0a, 0xff, 0xff])),
      await statusOf(notStart),
      await statusOf(start, (w) => Buffer.from(TradeRequest.encode({ window: w, request: { $case: 'done', value: {} } }).finish())),
    ];
    client.close();
    for (const e of cases) {
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.metadata.get('mdcap-error-code')).toEqual(['MDCAP_ERR_BAD_REQUEST']);
    }
    expect(cases[2]!.details).toMatch(/window: expected an answer to window 1 \(the one waiting\), found one to window 999/);
  });
});

describe('Trade: a client that leaves mid-run', () => {
  it('ends its run (the worker stops); the server serves the next one in full', async () => {
    let seen = 0;
    await expect(
      trade(
        server.address,
        { capture: 'sim', kinds: ['trade'] },
        {
          onTrade: () => {
            if (++seen === 20) throw new Error('strategy gave up');
          },
        },
      ),
    ).rejects.toThrow('strategy gave up');
    const again = await trade(server.address, { capture: 'sim', symbols: ['AAPL'], kinds: ['trade'] }, {});
    expect(again.summary.orders).toBe(0);
    expect(again.summary.end).not.toBeNull();
  });

  it('the server stopping ends a waiting run with UNAVAILABLE (MDCAP_ERR_SHUTDOWN)', async () => {
    const own = await MarketDataServer.start({ listen: '127.0.0.1:0', captures: root, replayThreads: 0 });
    let release: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (release = resolve));
    let reached = false;
    const run = trade(
      own.address,
      { capture: 'sim', kinds: ['trade'] },
      {
        onTrade: async () => {
          reached = true;
          await waiting;
        },
      },
    ).catch((e: { code: string }) => e.code);
    await waitFor(() => reached, { what: 'the first window' });
    await own.close();
    release();
    expect(await run).toBe('MDCAP_ERR_SHUTDOWN');
  });
});

describe('Trade: as many calls at once as the server allows', () => {
  it('one more is refused with RESOURCE_EXHAUSTED (MDCAP_ERR_BUSY); the running one goes on; its place is free when it ends', async () => {
    const own = await MarketDataServer.start({ listen: '127.0.0.1:0', captures: root, replayThreads: 0, maxTrades: 1 });
    try {
      let release: () => void = () => undefined;
      const waiting = new Promise<void>((resolve) => (release = resolve));
      let reached = false;
      const first = trade(
        own.address,
        { capture: 'sim', symbols: ['AAPL'], kinds: ['trade'] },
        {
          onTrade: async () => {
            if (reached) return;
            reached = true;
            await waiting;
          },
        },
      );
      await waitFor(() => reached, { what: 'the first call’s first window' });
      const refused = await trade(own.address, { capture: 'sim', symbols: ['AAPL'], kinds: ['trade'] }, {}).then(
        () => null,
        (e: { code: string; details?: { grpcCode: unknown } }) => ({ code: e.code, grpc: e.details?.grpcCode }),
      );
      expect(refused).toEqual({ code: 'MDCAP_ERR_BUSY', grpc: grpc.status.RESOURCE_EXHAUSTED });
      release();
      expect((await first).summary.end).not.toBeNull();
      const next = await trade(own.address, { capture: 'sim', symbols: ['AAPL'], kinds: ['trade'] }, {});
      expect(next.summary.end).toEqual((await first).summary.end);
    } finally {
      await own.close();
    }
  });
});
