import { ALL_SYMBOLS } from '@mdcap/core';
import type { MarketEvent, SubscriptionKind } from '@mdcap/core';

/**
 * What an engine subscribed on a provider that reads a whole stream or topic (JetStream, Kafka):
 * which of the events read to deliver. Statuses for every symbol always pass; a symbol's own
 * statuses pass when the symbol is subscribed, its other events when their kind is too.
 */
export class Subscriptions {
  private readonly wanted = new Map<string, ReadonlySet<string>>();

  set(symbol: string, kinds: readonly SubscriptionKind[]): void {
    this.wanted.set(symbol, new Set<string>([...kinds, 'status']));
  }

  delete(symbol: string): void {
    this.wanted.delete(symbol);
  }

  /** Every kind some symbol is subscribed to, statuses included. */
  kinds(): Set<string> {
    const out = new Set<string>(['status']);
    for (const k of this.wanted.values()) for (const kind of k) out.add(kind);
    return out;
  }

  wants(e: MarketEvent): boolean {
    if (e.type === 'status' && e.symbol === ALL_SYMBOLS) return true;
    const kinds = this.wanted.get(e.symbol);
    return kinds !== undefined && kinds.has(e.type);
  }
}
