import { MdcapError, nsToIso } from '@mdcap/core';
import { parseSpeed } from '@mdcap/replay';
import type { ReplaySpeed } from '@mdcap/replay';
import type { ItemKind, Selection } from './fanout.js';
import { EventKind, QueuePolicy as PbPolicy, SubscribeRequest } from './gen/mdcap/v1/market_data.js';
import type { QueuePolicy, SubscriberOptions } from './subscriber.js';

/** Kinds streamed when a request names none: the engine's events, as `mdcap replay --json` prints them. */
export const DEFAULT_KINDS: readonly ItemKind[] = ['trade', 'quote', 'book', 'order', 'bar', 'status'];

export const KIND_OF: Record<number, ItemKind> = {
  [EventKind.EVENT_KIND_TRADE]: 'trade',
  [EventKind.EVENT_KIND_QUOTE]: 'quote',
  [EventKind.EVENT_KIND_BOOK]: 'book',
  [EventKind.EVENT_KIND_ORDER]: 'order',
  [EventKind.EVENT_KIND_BAR]: 'bar',
  [EventKind.EVENT_KIND_STATUS]: 'status',
  [EventKind.EVENT_KIND_SNAPSHOT]: 'snapshot',
  [EventKind.EVENT_KIND_INSTRUMENT]: 'instrument',
};

const POLICY_OF: Record<number, QueuePolicy> = {
  [PbPolicy.QUEUE_POLICY_BLOCK]: 'block',
  [PbPolicy.QUEUE_POLICY_DROP_OLDEST]: 'drop-oldest',
  [PbPolicy.QUEUE_POLICY_DISCONNECT]: 'disconnect',
};

export const LIMITS = {
  queueBatches: { default: 64, max: 65_536 },
  batchEvents: { default: 1024, max: 65_536 },
  batchMicros: { max: 1_000_000 },
  depth: { max: 1000 },
  interval: { max: 31_536_000 },
  graceMs: { default: 250, max: 86_400_000 },
} as const;

function bad(field: string, expected: string, found: string): MdcapError {
  return new MdcapError('MDCAP_ERR_BAD_REQUEST', `${field}: expected ${expected}, found ${found}`);
}

/** Decodes a `SubscribeRequest`; bytes that are not one are a bad request, not a crash. */
export function decodeSubscribeRequest(bytes: Buffer): SubscribeRequest {
  try {
    return SubscribeRequest.decode(bytes);
  } catch (e) {
    throw new MdcapError(
      'MDCAP_ERR_BAD_REQUEST',
      `expected a mdcap.v1.SubscribeRequest, found ${bytes.length} bytes that do not decode as one (${(e as Error).message})`,
    );
  }
}

/** The parts of a request that do not depend on the source. */
export interface StreamPlan {
  readonly selection: Selection;
  readonly subscriber: SubscriberOptions;
  readonly intervals: readonly number[];
  readonly graceMs: number;
  readonly barTimestamp: 'tsEvent' | 'tsRecv';
}

function bounded(field: string, v: number, dflt: number, max: number): number {
  if (v === 0) return dflt;
  if (v > max) throw bad(field, `at most ${max}`, String(v));
  return v;
}

export function planStream(req: SubscribeRequest): StreamPlan {
  const kinds = new Set<ItemKind>();
  for (const k of req.kinds) {
    const kind = KIND_OF[k];
    if (kind === undefined) throw bad('kinds', `EventKind values 1 to 8 (TRADE … INSTRUMENT)`, String(k));
    kinds.add(kind);
  }
  if (kinds.size === 0) for (const k of DEFAULT_KINDS) kinds.add(k);
  const intervals = [...new Set(req.barIntervals)].sort((a, b) => a - b);
  for (const i of intervals) {
    if (i < 1 || i > LIMITS.interval.max) {
      throw new MdcapError('MDCAP_ERR_BAR_INTERVAL', `bar_intervals: expected whole seconds from 1 to ${LIMITS.interval.max}, found ${i}`);
    }
  }
  if (req.kinds.includes(EventKind.EVENT_KIND_BAR) && intervals.length === 0) {
    // As `mdcap replay --print bars` without --bars: asked for bars, and none would ever come.
    throw bad('bar_intervals', 'the bar intervals to build (whole seconds) for kind BAR', 'none');
  }
  if (req.bookDepth > LIMITS.depth.max) throw bad('book_depth', `at most ${LIMITS.depth.max} levels`, String(req.bookDepth));
  if (kinds.has('snapshot') && req.bookDepth === 0) throw bad('book_depth', 'levels per side (1 or more) for kind SNAPSHOT', '0');
  if (req.bookCadenceNs < 0n) throw bad('book_cadence_ns', 'a duration of 0 or more', String(req.bookCadenceNs));
  const policy = POLICY_OF[req.policy];
  if (policy === undefined) throw bad('policy', 'BLOCK, DROP_OLDEST or DISCONNECT', String(req.policy));
  const graceMs = req.barGraceMs ?? LIMITS.graceMs.default;
  if (graceMs > LIMITS.graceMs.max) throw bad('bar_grace_ms', `at most ${LIMITS.graceMs.max}`, String(graceMs));
  const barTimestamp = req.barTimestamp === '' ? 'tsEvent' : req.barTimestamp;
  if (barTimestamp !== 'tsEvent' && barTimestamp !== 'tsRecv')
    throw bad('bar_timestamp', 'tsEvent or tsRecv', JSON.stringify(barTimestamp));
  if (req.batchMicros > LIMITS.batchMicros.max) throw bad('batch_micros', `at most ${LIMITS.batchMicros.max}`, String(req.batchMicros));
  return {
    selection: {
      kinds,
      symbols: null,
      bars: new Set(intervals),
      depth: kinds.has('snapshot') ? req.bookDepth : 0,
      cadenceNs: req.bookCadenceNs,
    },
    subscriber: {
      policy,
      queueBatches: bounded('queue_batches', req.queueBatches, LIMITS.queueBatches.default, LIMITS.queueBatches.max),
      batchEvents: bounded('batch_events', req.batchEvents, LIMITS.batchEvents.default, LIMITS.batchEvents.max),
      batchMicros: req.batchMicros,
    },
    intervals,
    graceMs,
    barTimestamp,
  };
}

/** A capture replay's range and symbols, checked against the capture's manifest. */
export interface ReplayPlan {
  readonly speed: ReplaySpeed;
  readonly from: bigint | undefined;
  readonly to: bigint | undefined;
  readonly symbols: readonly string[];
}

export function planReplay(
  src: { speed: string; from?: bigint | undefined; to?: bigint | undefined; symbols: readonly string[] },
  capture: { readonly symbols: readonly string[]; readonly name: string },
): ReplayPlan {
  const speed = parseSpeed(src.speed === '' ? 'max' : src.speed);
  const { from, to } = src;
  if (from !== undefined && to !== undefined && from >= to) {
    throw new MdcapError('MDCAP_ERR_REPLAY_RANGE', `from/to: expected from before to, found from ${nsToIso(from)} and to ${nsToIso(to)}`);
  }
  const symbols = src.symbols.length === 0 ? capture.symbols : src.symbols;
  checkSymbols(symbols, capture.symbols, `capture ${capture.name}`);
  if (symbols.length === 0) throw bad('symbols', 'a capture with symbols', `capture ${capture.name} with none`);
  return { speed, from, to, symbols };
}

export function checkSymbols(wanted: readonly string[], known: readonly string[], where: string): void {
  const unknown = wanted.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    throw new MdcapError(
      'MDCAP_ERR_UNKNOWN_SYMBOL',
      `symbols: expected symbols of ${where} (${known.join(', ')}), found ${unknown.join(', ')}`,
    );
  }
}
