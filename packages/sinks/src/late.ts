import { createStatus } from '@mdcap/core';
import type { MarketEvent, Status } from '@mdcap/core';

/**
 * What a live merge of several ordered sources (venue streams, partitions) delivers in place of
 * an event that reached it after events received later had already gone out: the engine takes
 * events in receive-time order only, and re-stamping the event would falsify it, so its symbol
 * gets a `gap` status at the merge's time instead, saying what was left out and where it still is.
 */
export function lateStatus(e: MarketEvent, last: bigint, source: string): Status {
  return createStatus({
    venue: e.venue,
    symbol: e.symbol,
    tsEvent: last,
    tsRecv: last,
    kind: 'gap',
    detail: `${source}: a ${e.type} received at ${e.tsRecv} reached the merge after events received up to ${last} had gone out (${last - e.tsRecv} ns after its turn); it is left out here, and a bounded read has it`,
  });
}
