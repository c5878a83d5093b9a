import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type * as grpc from '@grpc/grpc-js';
import type { BacktestOptions, QueueModelSpec } from '@mdcap/backtest';
import { queueModel } from '@mdcap/backtest';
import type { Manifest } from '@mdcap/capture';
import { ConfigError, MdcapError, parseDecimalExact } from '@mdcap/core';
import type { MdcapErrorCode } from '@mdcap/core';
import { SubscribeRequest, TradeRequest } from './gen/mdcap/v1/market_data.js';
import type { BrokerConfig, FeeRates, TradeStart } from './gen/mdcap/v1/market_data.js';
import { KIND_OF, planReplay, planStream } from './request.js';
import type { DecisionKind, TradeSpec } from './trade-session.js';
import { SIGNAL } from './trade-worker-signal.js';
import type { FromTradeWorker, TradeWorkerData } from './trade-worker-signal.js';

/** What the server lends a Trade call. */
export interface TradeHost {
  /** @throws MDCAP_ERR_UNAUTHENTICATED */
  authorize(metadata: grpc.Metadata): void;
  /** A capture by name. @throws MDCAP_ERR_SOURCE_NOT_FOUND, MDCAP_ERR_BAD_REQUEST */
  capture(name: string): { dir: string; manifest: Manifest };
  /** The status to end a call with (counted as a refusal). */
  reject(error: unknown): Partial<grpc.ServiceError>;
  /**
   * Lists a running call for close(): `stop` ends it with that error; returns the unlisting.
   * @throws MDCAP_ERR_BUSY when as many calls run as the server allows
   */
  track(stop: (error: MdcapError) => void): () => void;
}

function bad(field: string, expected: string, found: string): MdcapError {
  return new MdcapError('MDCAP_ERR_BAD_REQUEST', `${field}: expected ${expected}, found ${found}`);
}

function badOption(field: string, expected: string, found: string): ConfigError {
  return new ConfigError('MDCAP_ERR_INVALID_OPTION', `${field}: expected ${expected}, found ${found}`);
}

const DECISION_KINDS: ReadonlySet<string> = new Set<DecisionKind>(['trade', 'quote', 'book', 'order', 'bar', 'status']);

/** A TradeStart checked and turned into the worker's run (errors name the field). */
export function planTrade(start: TradeStart, capture: (name: string) => { dir: string; manifest: Manifest }): TradeSpec {
  const src = start.capture;
  if (src === undefined) throw bad('start.capture', 'the capture to trade on', 'none');
  const { dir, manifest } = capture(src.capture);
  if (src.speed !== '' && src.speed !== 'max') {
    throw bad('start.capture.speed', '"max" or nothing (a Trade call runs as fast as its client answers)', JSON.stringify(src.speed));
  }
  const replay = planReplay(src, { symbols: manifest.symbols, name: src.capture });
  const stream = planStream(
    SubscribeRequest.fromPartial({
      kinds: start.kinds,
      barIntervals: start.barIntervals,
      bookDepth: start.bookDepth,
      barGraceMs: start.barGraceMs,
      barTimestamp: start.barTimestamp,
    }),
  );
  const kinds = stream.selection.kinds;
  const decideOn: DecisionKind[] = [];
  for (const k of start.decideOn) {
    const kind = KIND_OF[k];
    if (kind === undefined || !DECISION_KINDS.has(kind)) {
      throw bad('start.decide_on', 'kinds TRADE, QUOTE, BOOK, ORDER, BAR or STATUS', kind === undefined ? String(k) : kind.toUpperCase());
    }
    if (!kinds.has(kind)) throw bad('start.decide_on', `kinds that are streamed (${[...kinds].join(', ')})`, kind);
    decideOn.push(kind as DecisionKind);
  }
  if (start.decideOn.length === 0) for (const k of kinds) if (DECISION_KINDS.has(k)) decideOn.push(k as DecisionKind);
  return {
    dir,
    from: replay.from,
    to: replay.to,
    symbols: replay.symbols,
    kinds: [...kinds],
    intervals: stream.intervals,
    depth: stream.selection.depth,
    decideOn,
    graceMs: stream.graceMs,
    barTimestamp: stream.barTimestamp,
    backtest: backtestOptions(start.broker, start.equityInterval),
  };
}

function decimal(field: string, text: string, example: string): string {
  try {
    parseDecimalExact(text);
  } catch {
    throw badOption(field, `decimal text such as "${example}"`, JSON.stringify(text));
  }
  return text;
}

function rates(field: string, r: FeeRates | undefined): { maker?: string; taker?: string } {
  const out: { maker?: string; taker?: string } = {};
  if (r !== undefined && r.maker !== '') out.maker = decimal(`${field}.maker`, r.maker, '0.0002');
  if (r !== undefined && r.taker !== '') out.taker = decimal(`${field}.taker`, r.taker, '0.0002');
  return out;
}

/** The broker's options of a BrokerConfig: constant latencies, the queue model, fees, limits. */
export function backtestOptions(config: BrokerConfig | undefined, interval: number): BacktestOptions {
  const c = config;
  const model = c === undefined || c.queueModel === '' ? 'conservative' : c.queueModel;
  let queue: QueueModelSpec;
  if (model === 'conservative') queue = 'conservative';
  else if (model === 'prob') queue = { kind: 'prob', power: c?.queuePower || 2 };
  else throw badOption('broker.queue_model', 'conservative or prob', JSON.stringify(model));
  queueModel(queue); // the power's range
  const venues: Record<string, { maker?: string; taker?: string }> = {};
  const symbols: Record<string, { maker?: string; taker?: string }> = {};
  for (const [k, v] of Object.entries(c?.venueFees ?? {})) venues[k] = rates(`broker.venue_fees[${k}]`, v);
  for (const [k, v] of Object.entries(c?.symbolFees ?? {})) symbols[k] = rates(`broker.symbol_fees[${k}]`, v);
  const maxPosition: Record<string, string> = {};
  for (const [k, v] of Object.entries(c?.maxPosition ?? {})) maxPosition[k] = decimal(`broker.max_position[${k}]`, v, '100');
  return {
    latency: { entry: c?.latencyEntryNs ?? 0n, ack: c?.latencyAckNs ?? 0n, feed: c?.latencyFeedNs ?? 0n },
    queue,
    fees: { ...rates('broker.fees', c?.fees), venues, symbols },
    maxPosition,
    seed: c?.seed || 1,
    interval: interval || 60,
  };
}

function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../dist/trade-worker.js', here) : new URL('./trade-worker.js', here);
}

/**
 * Serves one `Trade` call: the first request (`start`) is checked here, then a worker thread of
 * its own runs the backtest (trade-session.ts), posting each response, and blocks at each window
 * until the client's requests, passed on here, answer it. The call ends with the summary, or
 * with an error status; a client that goes away stops the worker.
 */
export function serveTrade(call: grpc.ServerDuplexStream<Buffer, Buffer>, host: TradeHost): void {
  let worker: Worker | null = null;
  let requests: MessagePort | null = null;
  let signal: Int32Array | null = null;
  let over = false;
  let untrack = (): void => undefined;

  const stopWorker = (): void => {
    if (signal !== null) {
      Atomics.store(signal, SIGNAL.STOP, 1);
      Atomics.add(signal, SIGNAL.POSTED, 1);
      Atomics.notify(signal, SIGNAL.POSTED);
      Atomics.notify(signal, SIGNAL.WRITTEN);
    }
    const w = worker;
    worker = null;
    if (w !== null) void w.terminate();
    requests?.close();
    requests = null;
  };
  const close = (): void => {
    over = true;
    stopWorker();
    untrack();
  };
  const fail = (error: unknown): void => {
    if (over) return;
    close();
    if (!call.cancelled) call.emit('error', host.reject(error));
  };

  call.on('cancelled', close);
  call.on('error', close);
  call.on('end', () => {
    // The client closed its side: it sends no more answers, so a run still going cannot go on.
    if (!over) fail(bad('requests', 'answers until the summary', 'the client closing its side of the call before it'));
  });
  try {
    host.authorize(call.metadata);
  } catch (e) {
    fail(e);
    return;
  }

  const begin = (spec: TradeSpec): void => {
    untrack = host.track((error) => fail(error));
    const shared = new SharedArrayBuffer(4 * 3);
    const sig = new Int32Array(shared);
    const channel = new MessageChannel();
    const data: TradeWorkerData = { spec, signal: shared, requests: channel.port2 };
    const w = new Worker(workerUrl(), { workerData: data, transferList: [channel.port2] });
    worker = w;
    signal = sig;
    requests = channel.port1;
    w.on('message', (m: FromTradeWorker) => {
      if (over) return;
      if (m.type === 'send') {
        call.write(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength), () => {
          Atomics.add(sig, SIGNAL.WRITTEN, 1);
          Atomics.notify(sig, SIGNAL.WRITTEN);
        });
      } else if (m.error !== null) {
        fail(new MdcapError(m.error.code as MdcapErrorCode, m.error.message));
      } else {
        close();
        call.end();
      }
    });
    w.on('error', (e) => fail(e));
    w.on('exit', (code) => {
      if (worker === w) fail(new MdcapError('MDCAP_ERR_IO', `the Trade call's worker thread exited (code ${code}) before its run ended`));
    });
  };

  call.on('data', (bytes: Buffer) => {
    if (over) return;
    let req: TradeRequest;
    try {
      req = TradeRequest.decode(bytes);
    } catch (e) {
      fail(bad('request', 'a mdcap.v1.TradeRequest', `${bytes.length} bytes that do not decode as one (${(e as Error).message})`));
      return;
    }
    const r = req.request;
    if (worker === null) {
      try {
        if (r?.$case !== 'start') throw bad('request', 'start first', r === undefined ? 'an empty request' : r.$case);
        begin(planTrade(r.value, (name) => host.capture(name)));
      } catch (e) {
        fail(e);
      }
      return;
    }
    if (r?.$case === 'start') {
      fail(bad('request', 'one start per call', 'a second one'));
      return;
    }
    requests!.postMessage(req);
    Atomics.add(signal!, SIGNAL.POSTED, 1);
    Atomics.notify(signal!, SIGNAL.POSTED);
  });
}
