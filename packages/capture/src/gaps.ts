import type { MarketEvent, Status } from '@mdcap/core';

/** Statuses that mean data may be missing: a capture's gap summary (manifest `gaps`) lists them. */
export function isDataLoss(e: MarketEvent): e is Status {
  return (
    e.type === 'status' &&
    (e.kind === 'gap' || e.kind === 'resync' || e.kind === 'disconnected' || (e.kind === 'checksum' && e.ok === false))
  );
}

/** The gap summary keeps at most this many entries (the status files keep them all). */
export const MAX_GAP_ENTRIES = 10_000;
