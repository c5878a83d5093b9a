import { createHash } from 'node:crypto';
import { formatEventJson } from '@mdcap/core';
import type { MarketEvent, MdcapError } from '@mdcap/core';
import type { RealtimeEngine } from '@mdcap/engine';

export interface CallbackLog {
  /** One line per callback, in call order: the callback name and the event's canonical JSON. */
  readonly lines: string[];
  readonly errors: MdcapError[];
}

/**
 * Registers a callback of every kind on `engine` and logs each call as a line, the stream that
 * determinism and parity tests compare and hash.
 */
export function collectCallbacks(engine: RealtimeEngine): CallbackLog {
  const log: CallbackLog = { lines: [], errors: [] };
  const line = (name: string) => (e: MarketEvent) => void log.lines.push(`${name} ${formatEventJson(e)}`);
  engine.onTrade(line('trade'));
  engine.onQuote(line('quote'));
  engine.onBookUpdate((u, book) => {
    const top = `${book.bestBidPrice() ?? '-'}x${book.bestBidSize()} ${book.bestAskPrice() ?? '-'}x${book.bestAskSize()} ${book.valid ? 'valid' : 'invalid'}`;
    log.lines.push(`book ${formatEventJson(u)} ${top}`);
  });
  engine.onOrderUpdate(line('order'));
  engine.onBar(line('bar'));
  engine.onStatus(line('status'));
  engine.onGap(line('gap'));
  engine.onReconnect(line('reconnect'));
  engine.onError((e) => void log.errors.push(e));
  return log;
}

/** sha256 of lines joined by newlines. */
export function hashLines(lines: readonly string[]): string {
  const h = createHash('sha256');
  for (const l of lines) h.update(l).update('\n');
  return h.digest('hex');
}
