import * as grpc from '@grpc/grpc-js';
import type { BacktestSummary, FeeSpec, QueueModelSpec } from '@mdcap/backtest';
import { MdcapError } from '@mdcap/core';
import type {
  Bar,
  BookUpdate,
  Fill,
  Instrument,
  MdcapErrorCode,
  OrderRequest,
  OrderState,
  OrderUpdate,
  Quote,
  ReplaceRequest,
  Status,
  Trade,
} from '@mdcap/core';
import { connection, KIND_PB } from './client.js';
import type { ItemKind } from './fanout.js';
import { EventBatch } from './gen/mdcap/v1/events.js';
import { TradeRequest, TradeResponse } from './gen/mdcap/v1/market_data.js';
import type { FeeRates, TradeItem, TradeStart, TradeWindow } from './gen/mdcap/v1/market_data.js';
import { rawMethod } from './raw-method.js';
import { mdcapErrorFromStatus } from './status.js';
import { cancelToPb, fillFromPb, orderRequestToPb, orderStateFromPb, replaceToPb, summaryFromPb } from './trade-codec.js';
import type { DecisionKind } from './trade-session.js';
import { decodeBatch } from './wire.js';
import type { BookSnapshot } from './wire.js';

export interface TradeOptions {
  /** A capture under the server's --captures directory. */
  readonly capture: string;
  /** Default: every symbol of the capture. */
  readonly symbols?: readonly string[];
  /** Only events with tsRecv at or after / before these (ns). */
  readonly from?: bigint;
  readonly to?: bigint;
  /** Market kinds streamed (default trade, quote, book, order, bar, status); `snapshot` needs `depth`. */
  readonly kinds?: readonly ItemKind[];
  readonly bars?: readonly number[];
  readonly depth?: number;
  /** Market kinds the strategy sends orders on (default: every one streamed); its order updates and fills always are. */
  readonly decideOn?: readonly DecisionKind[];
  /** Constant latencies, ns (default 0). */
  readonly latency?: { readonly entry?: bigint; readonly ack?: bigint; readonly feed?: bigint };
  readonly queue?: QueueModelSpec;
  readonly fees?: FeeSpec;
  /** Largest absolute position as decimal text, by `SYMBOL`, `VENUE:SYMBOL` or `*`. */
  readonly maxPosition?: Readonly<Record<string, string>>;
  readonly seed?: number;
  /** Seconds between equity points (default 60). */
  readonly interval?: number;
  readonly barGraceMs?: number;
  readonly barTimestamp?: 'tsEvent' | 'tsRecv';
  readonly token?: string;
  readonly tlsRoot?: Buffer;
}

/**
 * What a remote strategy's callbacks get with each item: the clock, and (only in the callback of
 * the item that ends a window, until it returns) the broker. Await each call: a submit resolves
 * with the order as sent, after any reports it made at once have been through the callbacks.
 */
export interface TradeContext {
  /** The clock time at which anything sent now is sent. */
  readonly now: bigint;
  /** True in the callback of an item that may send orders (a `decideOn` kind, an order update, a fill). */
  readonly canTrade: boolean;
  /** @throws {MdcapError} `MDCAP_ERR_INVALID_ORDER` for a malformed request, as `broker.submit` throws it. */
  submit(request: OrderRequest): Promise<OrderState>;
  cancel(orderId: number): Promise<void>;
  replace(orderId: number, request: ReplaceRequest): Promise<void>;
}

type Cb<T> = (item: T, ctx: TradeContext) => void | Promise<void>;

/** A strategy on the far side of a Trade call: the callbacks of a TypeScript strategy, async. */
export interface RemoteStrategy {
  readonly onTrade?: Cb<Trade>;
  readonly onQuote?: Cb<Quote>;
  readonly onBookUpdate?: Cb<BookUpdate>;
  readonly onOrderUpdate?: Cb<OrderUpdate>;
  readonly onBar?: Cb<Bar>;
  readonly onStatus?: Cb<Status>;
  readonly onSnapshot?: Cb<BookSnapshot>;
  readonly onInstrument?: Cb<Instrument>;
  /** The strategy's own order updates. */
  readonly onOrder?: Cb<OrderState>;
  readonly onFill?: Cb<Fill>;
}

export interface TradeResult {
  readonly summary: BacktestSummary;
  readonly fills: Fill[];
  readonly orders: OrderState[];
}

function feeRates(r: { maker?: string; taker?: string } | undefined): FeeRates {
  return { maker: r?.maker ?? '', taker: r?.taker ?? '' };
}

/** The `TradeStart` message of {@link trade}'s options. */
export function tradeStart(o: TradeOptions): TradeStart {
  const q = o.queue;
  const model = q === undefined ? '' : typeof q === 'string' ? q : q.kind;
  const power = typeof q === 'object' && q.kind === 'prob' ? (q.power ?? 0) : 0;
  const mapRates = (m: Readonly<Record<string, { maker?: string; taker?: string }>> | undefined): Record<string, FeeRates> =>
    Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, feeRates(v)]));
  return {
    capture: { capture: o.capture, speed: 'max', from: o.from, to: o.to, symbols: [...(o.symbols ?? [])] },
    kinds: (o.kinds ?? []).map((k) => KIND_PB[k]),
    barIntervals: [...(o.bars ?? [])],
    bookDepth: o.depth ?? 0,
    decideOn: (o.decideOn ?? []).map((k) => KIND_PB[k]),
    broker: {
      latencyEntryNs: o.latency?.entry ?? 0n,
      latencyAckNs: o.latency?.ack ?? 0n,
      latencyFeedNs: o.latency?.feed ?? 0n,
      queueModel: model,
      queuePower: power,
      fees: feeRates(o.fees),
      venueFees: mapRates(o.fees?.venues),
      symbolFees: mapRates(o.fees?.symbols),
      maxPosition: { ...(o.maxPosition ?? {}) },
      seed: o.seed ?? 0,
    },
    equityInterval: o.interval ?? 0,
    barGraceMs: o.barGraceMs,
    barTimestamp: o.barTimestamp ?? '',
  };
}

const TradeClient = grpc.makeGenericClientConstructor(
  { Trade: rawMethod('/mdcap.v1.MarketData/Trade', true, true) },
  'mdcap.v1.MarketData',
);

function protocol(message: string): MdcapError {
  return new MdcapError('MDCAP_ERR_PROTOCOL', message);
}

/**
 * Runs `strategy` against a capture on a `mdcap serve`, through the server's simulated venue
 * (the `Trade` call): its callbacks receive what a TypeScript strategy's would, in the same
 * order, and its orders take effect at the clock time of the callback that sent them, so the
 * fills are those of the same strategy run in-process on a `BacktestSession`.
 *
 * ```ts
 * let n = 0;
 * const { summary, fills } = await trade('127.0.0.1:50051', { capture: 'demo', symbols: ['AAPL'], kinds: ['trade'],
 *   latency: { entry: 1_000_000n } }, {
 *   async onTrade(t, ctx) {
 *     if (++n % 50 === 0) await ctx.submit({ symbol: t.symbol, side: 'buy', price: t.price, size: '100' });
 *   },
 * });
 * ```
 * @throws {MdcapError} the server's `MDCAP_ERR_*` when it refuses the run or it fails.
 */
export async function trade(address: string, options: TradeOptions, strategy: RemoteStrategy): Promise<TradeResult> {
  const { credentials, metadata } = connection(options);
  const client = new TradeClient(address, credentials, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const call = (client as unknown as { Trade(md: grpc.Metadata): grpc.ClientDuplexStream<Buffer, Buffer> }).Trade(metadata);
  const responses = (call as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const fills: Fill[] = [];
  const orders: OrderState[] = [];
  let done = false;

  const send = (window: bigint, request: TradeRequest['request']): void => {
    call.write(Buffer.from(TradeRequest.encode({ window, request }).finish()));
  };
  const next = async (): Promise<TradeResponse['response']> => {
    const r = await responses.next();
    if (r.done === true) throw protocol('expected the Trade call to go on until its summary, found its end');
    return TradeResponse.decode(r.value).response;
  };

  const context = (w: TradeWindow, canTrade: boolean): TradeContext & { settled(): Promise<void> } => {
    let chain: Promise<unknown> = Promise.resolve();
    let open = canTrade;
    const act = async (request: TradeRequest['request']): Promise<OrderState | null> => {
      if (!open) {
        throw new MdcapError(
          'MDCAP_ERR_INVALID_ORDER',
          'orders: expected a call from the callback of an item that ends a window (a decideOn kind, an order update or a fill) before it returns, found one from elsewhere',
        );
      }
      send(w.seq, request);
      for (;;) {
        const m = await next();
        if (m?.$case === 'window') {
          await runWindow(m.value);
        } else if (m?.$case === 'result') {
          const res = m.value;
          if (res.window !== w.seq)
            throw protocol(`expected the result of a request of window ${w.seq}, found one of window ${res.window}`);
          if (res.errorCode !== '') throw new MdcapError(res.errorCode as MdcapErrorCode, res.errorMessage);
          return res.order === undefined ? null : orderStateFromPb(res.order);
        } else {
          throw protocol(`expected the result of a request of window ${w.seq}, found ${m?.$case ?? 'an empty response'}`);
        }
      }
    };
    // One request at a time, in call order, even if the strategy does not await each.
    const serial = <T>(run: () => Promise<T>): Promise<T> => {
      const p = chain.then(run);
      chain = p.catch(() => undefined);
      return p;
    };
    return {
      now: w.clock,
      canTrade,
      submit: (r) => serial(async () => (await act({ $case: 'submit', value: orderRequestToPb(r) }))!),
      cancel: (id) => serial(async () => void (await act({ $case: 'cancel', value: cancelToPb(id) }))),
      replace: (id, r) => serial(async () => void (await act({ $case: 'replace', value: replaceToPb(id, r) }))),
      settled: async () => {
        await chain;
        open = false;
      },
    };
  };

  const dispatch = async (item: TradeItem, ctx: TradeContext): Promise<void> => {
    const x = item.item;
    if (x === undefined) return;
    if (x.$case === 'order') {
      const o = orderStateFromPb(x.value);
      orders.push(o);
      await strategy.onOrder?.(o, ctx);
      return;
    }
    if (x.$case === 'fill') {
      const f = fillFromPb(x.value);
      fills.push(f);
      await strategy.onFill?.(f, ctx);
      return;
    }
    const [e] = decodeBatch(EventBatch.encode({ events: [x.value], dropped: 0n }).finish()).items;
    switch (e?.type) {
      case 'trade':
        return strategy.onTrade?.(e, ctx);
      case 'quote':
        return strategy.onQuote?.(e, ctx);
      case 'book':
        return strategy.onBookUpdate?.(e, ctx);
      case 'order':
        return strategy.onOrderUpdate?.(e, ctx);
      case 'bar':
        return strategy.onBar?.(e, ctx);
      case 'status':
        return strategy.onStatus?.(e, ctx);
      case 'snapshot':
        return strategy.onSnapshot?.(e, ctx);
      case 'instrument':
        return strategy.onInstrument?.(e.instrument, ctx);
      case undefined:
        return;
    }
  };

  const runWindow = async (w: TradeWindow): Promise<void> => {
    const n = w.items.length;
    for (let i = 0; i < n; i++) {
      const ctx = context(w, w.decide && i === n - 1);
      await dispatch(w.items[i]!, ctx);
      await ctx.settled();
    }
    if (w.decide) send(w.seq, { $case: 'done', value: {} });
  };

  try {
    send(0n, { $case: 'start', value: tradeStart(options) });
    for (;;) {
      const m = await next();
      if (m?.$case === 'window') {
        await runWindow(m.value);
      } else if (m?.$case === 'summary') {
        done = true;
        return { summary: summaryFromPb(m.value), fills, orders };
      } else {
        throw protocol(`expected a window or the summary, found ${m?.$case ?? 'an empty response'}`);
      }
    }
  } catch (e) {
    const err = e as grpc.ServiceError;
    if (typeof err.code === 'number' && err.metadata !== undefined) throw mdcapErrorFromStatus(err);
    throw e;
  } finally {
    if (done) call.end();
    else call.cancel();
    client.close();
  }
}
