import { ReplayServer, isZeroDecimal, sortedLevels, truncateLevels } from './server.js';
import type { Client, EmulatorOptions, TimelineFrame } from './server.js';
import { byTime } from './recording.js';
import type { RecordedLine } from './recording.js';

/**
 * Kraken spot WebSocket v1, emulated: a real WebSocket server that answers `subscribe` and
 * `unsubscribe` as Kraken does (`subscriptionStatus` with the channel id and name, an error for
 * a pair it has no data for), sends `systemStatus` on connect and heartbeats, answers `ping`,
 * and replays the recorded channel messages on their original timeline (scaled by `speed`) to
 * every client subscribed to them.
 *
 * It keeps each recorded book (levels as the venue's own strings, cut to the channel depth as
 * Kraken's clients must), so a client that subscribes late, or resubscribes after a failed
 * checksum, gets a snapshot of the book as it is at that moment, and the recorded updates and
 * checksums that follow are consistent with it.
 */
export interface KrakenEmulatorOptions extends EmulatorOptions {
  /** The recording(s): lines of cryptofeed's format, any order (sorted by time here). */
  readonly lines: readonly RecordedLine[];
}

type Level = readonly [string, string, string];

interface Book {
  readonly asks: Map<string, Level>;
  readonly bids: Map<string, Level>;
  depth: number;
  seen: boolean;
}

interface Channel {
  readonly id: number;
  readonly name: string;
}

interface KrakenFrame extends TimelineFrame {
  readonly pair: string | null;
  readonly parsed: unknown[] | null;
}

export class KrakenEmulator extends ReplayServer {
  private readonly channels = new Map<string, Channel>();
  private readonly books = new Map<string, Book>();
  private readonly systemStatus: string;

  private constructor(http: Awaited<ReturnType<typeof ReplayServer.listen>>, options: KrakenEmulatorOptions) {
    super(http, options);
    const lines = [...options.lines].filter((l) => l.kind === 'received').sort(byTime);
    let status: string | null = null;
    for (const l of lines) {
      const text = l.text;
      if (text.startsWith('{')) {
        let o: Record<string, unknown>;
        try {
          o = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (o['event'] === 'heartbeat') this.frames.push({ ts: l.ts, text, key: null, pair: null, parsed: null } as KrakenFrame);
        else if (o['event'] === 'systemStatus') status ??= text;
        else if (o['event'] === 'subscriptionStatus' && o['status'] === 'subscribed') {
          // A channel the venue had, with its id, even if no message of it was recorded.
          const sub = o['subscription'] as { name?: string } | undefined;
          const key = `${sub?.name ?? ''}:${String(o['pair'])}`;
          if (!this.channels.has(key)) this.channels.set(key, { id: o['channelID'] as number, name: o['channelName'] as string });
        }
        continue;
      }
      if (!text.startsWith('[')) continue;
      let a: unknown[];
      try {
        a = JSON.parse(text) as unknown[];
      } catch {
        continue;
      }
      const n = a.length;
      const name = a[n - 2] as string;
      const pair = a[n - 1] as string;
      const key = `${name.startsWith('book') ? 'book' : name}:${pair}`;
      if (!this.channels.has(key)) this.channels.set(key, { id: a[0] as number, name });
      this.frames.push({ ts: l.ts, text, key, pair, parsed: a } as KrakenFrame);
    }
    this.systemStatus = status ?? JSON.stringify({ connectionID: 1, event: 'systemStatus', status: 'online', version: '1.9.0' });
  }

  /** Starts the server (port 0: any free port). */
  static async start(options: KrakenEmulatorOptions): Promise<KrakenEmulator> {
    return new KrakenEmulator(await ReplayServer.listen(options), options);
  }

  /** Pairs with recorded data, per channel (`book`, `trade`, `ticker`). */
  pairs(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const key of this.channels.keys()) {
      const [base, pair] = key.split(/:(.*)/s) as [string, string];
      out.set(base, [...(out.get(base) ?? []), pair]);
    }
    return out;
  }

  protected override onConnect(c: Client): void {
    this.send(c, this.systemStatus);
  }

  protected override idleMessage(): string {
    return '{"event":"heartbeat"}';
  }

  protected override corruptChecksum(text: string): string | null {
    return text.includes('"c":"') ? text.replace(/"c":"\d+"/, '"c":"1"') : null;
  }

  protected override onMessage(c: Client, text: string): void {
    let m: { event?: string; pair?: unknown; subscription?: { name?: string; depth?: number }; reqid?: number };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      this.send(c, JSON.stringify({ event: 'error', errorMessage: 'Malformed request', status: 'error' }));
      return;
    }
    if (m.event === 'ping') {
      this.send(c, JSON.stringify({ event: 'pong', ...(m.reqid === undefined ? {} : { reqid: m.reqid }) }));
      return;
    }
    if (m.event !== 'subscribe' && m.event !== 'unsubscribe') {
      this.send(c, JSON.stringify({ event: 'error', errorMessage: `Unsupported event ${String(m.event)}`, status: 'error' }));
      return;
    }
    const name = m.subscription?.name;
    const pairs = Array.isArray(m.pair) ? (m.pair as unknown[]).filter((p): p is string => typeof p === 'string') : [];
    if (name === undefined || pairs.length === 0) {
      this.send(c, JSON.stringify({ errorMessage: 'Subscription name and pair required', event: 'subscriptionStatus', status: 'error' }));
      return;
    }
    for (const pair of pairs) {
      const key = `${name}:${pair}`;
      const ch = this.channels.get(key);
      const subscription = { ...(m.subscription ?? {}), name };
      if (ch === undefined) {
        this.send(
          c,
          JSON.stringify({ errorMessage: 'Currency pair not supported', event: 'subscriptionStatus', pair, status: 'error', subscription }),
        );
        continue;
      }
      const base = { channelID: ch.id, channelName: ch.name, event: 'subscriptionStatus', pair, subscription };
      if (m.event === 'unsubscribe') {
        c.subs.delete(key);
        this.send(c, JSON.stringify({ ...base, status: 'unsubscribed' }));
        continue;
      }
      c.subs.add(key);
      this.send(c, JSON.stringify({ ...base, status: 'subscribed' }));
      const book = this.books.get(pair);
      if (name === 'book' && book !== undefined && book.seen) {
        const snapshot = { as: sortedLevels(book.asks, 'ask'), bs: sortedLevels(book.bids, 'bid') };
        this.send(c, JSON.stringify([ch.id, snapshot, ch.name, pair]));
      }
      this.subscribed();
    }
  }

  protected override apply(frame: TimelineFrame): void {
    const f = frame as KrakenFrame;
    if (f.pair === null || !f.key!.startsWith('book:')) return;
    const a = f.parsed!;
    const pair = f.pair;
    const name = a[a.length - 2] as string;
    let book = this.books.get(pair);
    if (book === undefined) {
      book = { asks: new Map(), bids: new Map(), depth: Number(/^book-(\d+)$/.exec(name)?.[1] ?? 10), seen: false };
      this.books.set(pair, book);
    }
    for (const part of a.slice(1, a.length - 2) as Record<string, Level[] | string>[]) {
      if ('as' in part || 'bs' in part) {
        book.asks.clear();
        book.bids.clear();
        book.seen = true;
        for (const l of (part['as'] as Level[] | undefined) ?? []) book.asks.set(l[0], [l[0], l[1], l[2]]);
        for (const l of (part['bs'] as Level[] | undefined) ?? []) book.bids.set(l[0], [l[0], l[1], l[2]]);
        continue;
      }
      for (const [k, side, levels] of [
        ['a', 'ask', book.asks],
        ['b', 'bid', book.bids],
      ] as const) {
        for (const l of (part[k] as Level[] | undefined) ?? []) {
          if (isZeroDecimal(l[1])) levels.delete(l[0]);
          else levels.set(l[0], [l[0], l[1], l[2]]);
          truncateLevels(levels, side, book.depth);
        }
      }
    }
  }
}
