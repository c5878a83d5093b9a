import type { MarketEvent } from '@mdcap/core';

/**
 * What makes an event the same event when a sink sees it twice (a retried batch, a restarted
 * backfill, two recorders of one venue): its venue, symbol and kind, then the venue's sequence
 * number when the venue numbers its messages, else its receive time; and `n`, its place among the
 * consecutive events that share all of these (one venue message can carry several book levels).
 * PostgreSQL keeps it as a unique key, JetStream as the message id.
 */
export interface EventKey {
  /** True when `basis` is the venue's `seq`; false when it is `tsRecv`. */
  bySeq: boolean;
  basis: bigint;
  n: number;
}

/** A keyer's state, as `checkpoint()` saves it. */
export type KeyerCheckpoint = readonly (readonly [string, string, string, Readonly<Last>])[];

export interface Last {
  bySeq: boolean;
  basis: bigint;
  n: number;
}

/** Assigns {@link EventKey}s along one event stream (it remembers the last key per venue, symbol and kind). */
export class EventKeyer {
  /** The last key per venue, then symbol, then kind (nested maps: no string built per event). */
  private readonly last = new Map<string, Map<string, Map<string, Last>>>();
  /** The key of the last `key()` call, reused (copy what you keep). */
  readonly current: EventKey = { bySeq: false, basis: 0n, n: 0 };

  key(e: MarketEvent): EventKey {
    const bySeq = e.seq !== null;
    const basis = e.seq ?? e.tsRecv;
    let bySymbol = this.last.get(e.venue);
    if (bySymbol === undefined) this.last.set(e.venue, (bySymbol = new Map<string, Map<string, Last>>()));
    let byKind = bySymbol.get(e.symbol);
    if (byKind === undefined) bySymbol.set(e.symbol, (byKind = new Map<string, Last>()));
    const l = byKind.get(e.type);
    let n = 0;
    if (l === undefined) byKind.set(e.type, { bySeq, basis, n: 0 });
    else {
      if (l.bySeq === bySeq && l.basis === basis) n = l.n + 1;
      l.bySeq = bySeq;
      l.basis = basis;
      l.n = n;
    }
    const k = this.current;
    k.bySeq = bySeq;
    k.basis = basis;
    k.n = n;
    return k;
  }

  /**
   * The keyer's state, to restore when a batch fails: the retry must give its events the same
   * keys, or a half-written batch would be written again under new ones.
   */
  checkpoint(): KeyerCheckpoint {
    const copy: [string, string, string, Last][] = [];
    for (const [venue, bySymbol] of this.last) {
      for (const [symbol, byKind] of bySymbol) for (const [kind, l] of byKind) copy.push([venue, symbol, kind, { ...l }]);
    }
    return copy;
  }

  restore(checkpoint: KeyerCheckpoint): void {
    this.last.clear();
    for (const [venue, symbol, kind, l] of checkpoint) {
      let bySymbol = this.last.get(venue);
      if (bySymbol === undefined) this.last.set(venue, (bySymbol = new Map<string, Map<string, Last>>()));
      let byKind = bySymbol.get(symbol);
      if (byKind === undefined) bySymbol.set(symbol, (byKind = new Map<string, Last>()));
      byKind.set(kind, { ...l });
    }
  }

  /** The key as text: `<seq>.<n>` or `r<tsRecv>.<n>`, unique within a venue, symbol and kind. */
  text(e: MarketEvent): string {
    const k = this.key(e);
    return `${k.bySeq ? '' : 'r'}${k.basis}.${k.n}`;
  }
}
