import type { MarketEvent, Status } from '@mdcap/core';
import type { GapEntry } from './manifest.js';

/** Statuses that mean data may be missing: a capture's gap summary (manifest `gaps`) lists them. */
export function isDataLoss(e: MarketEvent): e is Status {
  return (
    e.type === 'status' &&
    (e.kind === 'gap' || e.kind === 'resync' || e.kind === 'disconnected' || (e.kind === 'checksum' && e.ok === false))
  );
}

/** The gap summary keeps at most this many entries (the status files keep them all). */
export const MAX_GAP_ENTRIES = 10_000;

/** A data-loss status as an entry of the manifest's gap summary. */
export function gapEntry(e: Status): GapEntry {
  return {
    venue: e.venue,
    symbol: e.symbol,
    tsRecv: e.tsRecv.toString(),
    kind: e.kind,
    fromSeq: e.fromSeq?.toString() ?? null,
    toSeq: e.toSeq?.toString() ?? null,
    detail: e.detail,
  };
}
