import { byTime } from './recording.js';
import type { RecordedLine } from './recording.js';
import { isZeroDecimal, ReplayServer, sortedLevels } from './server.js';
import type { Client, EmulatorOptions, TextBook, TimelineFrame } from './server.js';

/**
 * The Coinbase Exchange WebSocket feed, emulated: `subscribe` / `unsubscribe` with
 * `product_ids` and `channels` (`level2`, `matches`, `ticker`, `heartbeat`), answered with a
 * `subscriptions` message; an `error` for an unknown product or channel; the recorded messages
 * replayed on their timeline to the clients subscribed to their channel and product. The
 * emulator keeps every level2 book, so a late or repeated `level2` subscription gets a snapshot
 * of the book as it is then.
 */
export interface CoinbaseEmulatorOptions extends EmulatorOptions {
  readonly lines: readonly RecordedLine[];
}

type Level = readonly [string, string];
type Book = TextBook;

interface CoinbaseFrame extends TimelineFrame {
  readonly m: Record<string, unknown>;
}

const CHANNEL_OF: Record<string, string> = {
  snapshot: 'level2',
  l2update: 'level2',
  match: 'matches',
  last_match: 'matches',
  ticker: 'ticker',
  heartbeat: 'heartbeat',
};
const CHANNELS = new Set(Object.values(CHANNEL_OF));

export class CoinbaseEmulator extends ReplayServer {
  private readonly products = new Set<string>();
  private readonly books = new Map<string, Book>();

  private constructor(http: Awaited<ReturnType<typeof ReplayServer.listen>>, options: CoinbaseEmulatorOptions) {
    super(http, options);
    const lines = [...options.lines].filter((l) => l.kind === 'received').sort(byTime);
    for (const l of lines) {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(l.text) as Record<string, unknown>;
      } catch {
        continue;
      }
      const channel = CHANNEL_OF[m['type'] as string];
      const product = m['product_id'];
      if (channel === undefined || typeof product !== 'string') continue;
      this.products.add(product);
      this.frames.push({ ts: l.ts, text: l.text, key: `${channel}:${product}`, m } as CoinbaseFrame);
    }
  }

  static async start(options: CoinbaseEmulatorOptions): Promise<CoinbaseEmulator> {
    return new CoinbaseEmulator(await ReplayServer.listen(options), options);
  }

  /** Products with recorded data. */
  productIds(): string[] {
    return [...this.products].sort();
  }

  protected override onConnect(_c: Client): void {}

  protected override onMessage(c: Client, text: string): void {
    let m: { type?: unknown; product_ids?: unknown; channels?: unknown };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      this.send(c, JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason: 'malformed JSON' }));
      return;
    }
    const products = Array.isArray(m.product_ids) ? (m.product_ids as unknown[]).map(String) : [];
    const channels = Array.isArray(m.channels)
      ? (m.channels as unknown[]).map((x) => (typeof x === 'string' ? x : String((x as { name?: string }).name)))
      : [];
    if ((m.type !== 'subscribe' && m.type !== 'unsubscribe') || products.length === 0 || channels.length === 0) {
      this.send(
        c,
        JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason: 'type, product_ids and channels are required' }),
      );
      return;
    }
    const unknown = products.find((p) => !this.products.has(p)) ?? channels.find((ch) => !CHANNELS.has(ch));
    if (unknown !== undefined) {
      this.send(c, JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason: `${unknown} is not a valid product` }));
      return;
    }
    for (const ch of channels) {
      for (const p of products) {
        const key = `${ch}:${p}`;
        if (m.type === 'unsubscribe') {
          c.subs.delete(key);
          continue;
        }
        c.subs.add(key);
        const book = this.books.get(p);
        if (ch === 'level2' && book !== undefined) {
          this.send(
            c,
            JSON.stringify({ type: 'snapshot', product_id: p, bids: sortedLevels(book.bids, 'bid'), asks: sortedLevels(book.asks, 'ask') }),
          );
        }
      }
    }
    const subscribed = new Map<string, string[]>();
    for (const key of c.subs) {
      const [ch, p] = key.split(/:(.*)/s) as [string, string];
      subscribed.set(ch, [...(subscribed.get(ch) ?? []), p]);
    }
    this.send(
      c,
      JSON.stringify({ type: 'subscriptions', channels: [...subscribed].map(([name, product_ids]) => ({ name, product_ids })) }),
    );
    if (m.type === 'subscribe') this.subscribed();
  }

  protected override idleMessage(): string | null {
    return null;
  }

  protected override apply(frame: TimelineFrame): void {
    const m = (frame as CoinbaseFrame).m;
    const product = m['product_id'] as string;
    if (m['type'] === 'snapshot') {
      const book: Book = { bids: new Map(), asks: new Map() };
      for (const l of m['bids'] as Level[]) book.bids.set(l[0], l);
      for (const l of m['asks'] as Level[]) book.asks.set(l[0], l);
      this.books.set(product, book);
    } else if (m['type'] === 'l2update') {
      const book = this.books.get(product);
      if (book === undefined) return;
      for (const [side, price, size] of m['changes'] as [string, string, string][]) {
        const levels = side === 'buy' ? book.bids : book.asks;
        if (isZeroDecimal(size)) levels.delete(price);
        else levels.set(price, [price, size]);
      }
    }
  }
}
