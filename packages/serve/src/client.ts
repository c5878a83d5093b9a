import * as grpc from '@grpc/grpc-js';
import { EventKind, QueuePolicy as PbPolicy, SubscribeRequest } from './gen/mdcap/v1/market_data.js';
import type { ItemKind } from './fanout.js';
import { rawMethod } from './raw-method.js';
import { mdcapErrorFromStatus } from './status.js';
import type { QueuePolicy } from './subscriber.js';
import { decodeBatch } from './wire.js';
import type { StreamItem } from './wire.js';

/** Kind names as the `EventKind` of requests (Subscribe, and a Trade call's start). */
export const KIND_PB: Record<ItemKind, EventKind> = {
  trade: EventKind.EVENT_KIND_TRADE,
  quote: EventKind.EVENT_KIND_QUOTE,
  book: EventKind.EVENT_KIND_BOOK,
  order: EventKind.EVENT_KIND_ORDER,
  bar: EventKind.EVENT_KIND_BAR,
  status: EventKind.EVENT_KIND_STATUS,
  snapshot: EventKind.EVENT_KIND_SNAPSHOT,
  instrument: EventKind.EVENT_KIND_INSTRUMENT,
};

const POLICY_PB: Record<QueuePolicy, PbPolicy> = {
  block: PbPolicy.QUEUE_POLICY_BLOCK,
  'drop-oldest': PbPolicy.QUEUE_POLICY_DROP_OLDEST,
  disconnect: PbPolicy.QUEUE_POLICY_DISCONNECT,
};

export interface SubscribeOptions {
  /** A capture under the server's --captures directory… */
  readonly capture?: string;
  /** …or a live feed the server runs. */
  readonly live?: string;
  /** Capture replays: `max` (default) or `10x`, `0.5x`… */
  readonly speed?: string;
  readonly from?: bigint;
  readonly to?: bigint;
  readonly symbols?: readonly string[];
  /** Default: trade, quote, book, order, bar, status. */
  readonly kinds?: readonly ItemKind[];
  /** Bar intervals in seconds. */
  readonly bars?: readonly number[];
  /** Snapshots (kind `snapshot`): levels per side and the least ns between two of one symbol. */
  readonly depth?: number;
  readonly cadenceNs?: bigint;
  readonly policy?: QueuePolicy;
  readonly queueBatches?: number;
  readonly batchEvents?: number;
  readonly batchMicros?: number;
  readonly barGraceMs?: number;
  readonly barTimestamp?: 'tsEvent' | 'tsRecv';
  readonly token?: string;
  /** Root certificate (PEM) to trust: connect with TLS. */
  readonly tlsRoot?: Buffer;
  /** Called with each batch's `dropped` count when the server dropped events for this client. */
  readonly onDropped?: (dropped: bigint) => void;
}

/** The request bytes of {@link subscribe} (also what a test sends by hand). */
export function subscribeRequest(o: SubscribeOptions): SubscribeRequest {
  return {
    source:
      o.live !== undefined
        ? { $case: 'live', value: { feed: o.live, symbols: [...(o.symbols ?? [])] } }
        : o.capture !== undefined
          ? {
              $case: 'capture',
              value: { capture: o.capture, speed: o.speed ?? 'max', from: o.from, to: o.to, symbols: [...(o.symbols ?? [])] },
            }
          : undefined,
    kinds: (o.kinds ?? []).map((k) => KIND_PB[k]),
    barIntervals: [...(o.bars ?? [])],
    bookDepth: o.depth ?? 0,
    bookCadenceNs: o.cadenceNs ?? 0n,
    policy: POLICY_PB[o.policy ?? 'block'],
    queueBatches: o.queueBatches ?? 0,
    batchEvents: o.batchEvents ?? 0,
    batchMicros: o.batchMicros ?? 0,
    barGraceMs: o.barGraceMs,
    barTimestamp: o.barTimestamp ?? '',
  };
}

/** Client-side `Subscribe` with raw bytes, decoded by the hand-written reader. */
const SubscribeClient = grpc.makeGenericClientConstructor(
  { Subscribe: rawMethod('/mdcap.v1.MarketData/Subscribe', false, true) },
  'mdcap.v1.MarketData',
);

/** Channel credentials and per-call metadata for `token` / `tlsRoot`. */
export function connection(o: { token?: string; tlsRoot?: Buffer }): { credentials: grpc.ChannelCredentials; metadata: grpc.Metadata } {
  const metadata = new grpc.Metadata();
  if (o.token !== undefined) metadata.set('authorization', `Bearer ${o.token}`);
  const credentials = o.tlsRoot === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(o.tlsRoot);
  return { credentials, metadata };
}

/**
 * Subscribes to a `mdcap serve` and yields its stream: the engine's events (the same objects
 * `@mdcap/core` defines, bigints and all), book snapshots and instrument definitions, in the
 * server's dispatch order. Leaving the loop cancels the call. An error status is thrown as an
 * `MdcapError` with the server's `MDCAP_ERR_*` code.
 *
 * ```ts
 * for await (const e of subscribe('127.0.0.1:50051', { capture: 'demo', speed: '10x', bars: [60] })) {
 *   if (e.type === 'bar') console.log(e.symbol, e.close);
 * }
 * ```
 */
export async function* subscribe(address: string, options: SubscribeOptions): AsyncGenerator<StreamItem, void, undefined> {
  for await (const batch of subscribeBatches(address, options)) yield* batch;
}

/** Like {@link subscribe}, one array per `EventBatch` (less overhead per event). */
export async function* subscribeBatches(address: string, options: SubscribeOptions): AsyncGenerator<StreamItem[], void, undefined> {
  const { credentials, metadata } = connection(options);
  // A 4 MiB HTTP/2 window: with the default 64 KiB the server waits for a window update after
  // every batch or so, and the stream runs at the speed of the client's event loop turns.
  const client = new SubscribeClient(address, credentials, {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc-node.flow_control_window': 4 * 1024 * 1024,
  });
  const bytes = Buffer.from(SubscribeRequest.encode(subscribeRequest(options)).finish());
  const call = (client as unknown as { Subscribe(req: Buffer, md: grpc.Metadata): grpc.ClientReadableStream<Buffer> }).Subscribe(
    bytes,
    metadata,
  );
  try {
    for await (const chunk of call as AsyncIterable<Buffer>) {
      const { items, dropped } = decodeBatch(chunk);
      if (dropped > 0n) options.onDropped?.(dropped);
      yield items;
    }
  } catch (e) {
    const err = e as grpc.ServiceError;
    if (typeof err.code === 'number') throw mdcapErrorFromStatus(err);
    throw e;
  } finally {
    call.cancel();
    client.close();
  }
}
