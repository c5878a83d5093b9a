import { ALL_SYMBOLS, createStatus } from '@mdcap/core';
import type { Clock, EventSink, MarketEvent, StatusKind } from '@mdcap/core';

/**
 * What every live feed does with what it produces: stamps receive times that never go back
 * (contract rule 2, even if the clock did), passes on only subscribed symbols (statuses
 * always), and writes its own statuses.
 */
export class FeedOutput {
  private lastTs = 0n;

  constructor(
    private readonly venue: string,
    private readonly clock: Clock,
    private readonly symbols: { has(symbol: string): boolean },
    private readonly sinkOf: () => EventSink | null,
  ) {}

  /** The receive time to stamp now. */
  now(): bigint {
    const t = this.clock.now();
    if (t > this.lastTs) this.lastTs = t;
    return this.lastTs;
  }

  readonly push = (e: MarketEvent): void => {
    const sink = this.sinkOf();
    if (sink === null) return;
    if (e.type === 'status' || e.symbol === ALL_SYMBOLS || this.symbols.has(e.symbol)) sink.push(e);
  };

  status(symbol: string, kind: StatusKind, detail: string, ts: bigint = this.now()): void {
    this.push(createStatus({ venue: this.venue, symbol, tsEvent: ts, tsRecv: ts, kind, detail }));
  }
}
