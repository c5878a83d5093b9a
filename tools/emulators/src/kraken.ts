import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { parseFaults } from './faults.js';
import type { Fault } from './faults.js';
import type { RecordedLine } from './recording.js';

/**
 * Kraken spot WebSocket v1, emulated: a real WebSocket server that answers `subscribe` and
 * `unsubscribe` as Kraken does (`subscriptionStatus` with the channel id and name, an error for
 * a pair it has no data for), sends `systemStatus` on connect and heartbeats, and replays the
 * recorded channel messages on their original timeline (scaled by `speed`) to every client
 * subscribed to them.
 *
 * The market goes on without clients: the timeline starts at the first subscription and does
 * not wait. The emulator keeps each recorded book (levels as the venue's own strings, truncated
 * to the channel depth as Kraken's clients must), so a client that subscribes later, or
 * resubscribes after a failed checksum, gets a snapshot of the book as it is at that moment, and
 * the recorded updates and checksums that follow are consistent with it.
 */
export interface KrakenEmulatorOptions {
  /** The recording(s): lines of cryptofeed's format, any order (sorted by time here). */
  readonly lines: readonly RecordedLine[];
  readonly port?: number;
  readonly host?: string;
  /** Multiple of the recorded pace, or `max` (default 1). */
  readonly speed?: number | 'max';
  /** Faults to inject, each once (`drop:500`, `corrupt-checksum:100`, `malformed:50`, `stall:200`, `skip:300`). */
  readonly faults?: readonly Fault[] | string;
  /** The timeline starts this long after the first subscription, so that a client's other subscriptions arrive first (default 100 ms). */
  readonly startDelayMs?: number;
  /** Called for every frame sent (tests, `mdcap emulate --verbose`). */
  readonly onSend?: (text: string) => void;
}

export interface EmulatorStats {
  connections: number;
  framesSent: number;
  subscriptions: number;
  faultsFired: string[];
  timelineDone: boolean;
}

interface Frame {
  readonly ts: bigint;
  readonly text: string;
  /** `book:XBT/USD`, `trade:…`, `ticker:…`; null for heartbeats (sent to everyone). */
  readonly key: string | null;
  readonly pair: string | null;
  readonly parsed: unknown[] | null;
}

type Level = [string, string, string];

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

interface Client {
  readonly socket: WebSocket;
  readonly subs: Set<string>;
  sent: number;
  stalled: boolean;
}

/** Exact order of two decimal strings (no floats): by integer part, then by fraction. */
function compareDecimal(a: string, b: string): number {
  const [ai = '', af = ''] = a.split('.');
  const [bi = '', bf = ''] = b.split('.');
  const ia = BigInt(ai);
  const ib = BigInt(bi);
  if (ia !== ib) return ia < ib ? -1 : 1;
  const w = Math.max(af.length, bf.length);
  const fa = BigInt(af.padEnd(w, '0') || '0');
  const fb = BigInt(bf.padEnd(w, '0') || '0');
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

const isZero = (v: string): boolean => /^0*\.?0*$/.test(v);

function sorted(levels: Map<string, Level>, side: 'ask' | 'bid'): Level[] {
  const out = [...levels.values()];
  out.sort((x, y) => (side === 'ask' ? compareDecimal(x[0], y[0]) : compareDecimal(y[0], x[0])));
  return out;
}

/** Drops the worst levels beyond `depth` (one linear scan per level dropped: inserts add one at most). */
function truncate(levels: Map<string, Level>, side: 'ask' | 'bid', depth: number): void {
  while (levels.size > depth) {
    let worst: string | null = null;
    for (const p of levels.keys()) {
      if (worst === null || (side === 'ask' ? compareDecimal(p, worst) > 0 : compareDecimal(p, worst) < 0)) worst = p;
    }
    levels.delete(worst!);
  }
}

export class KrakenEmulator {
  readonly stats: EmulatorStats = { connections: 0, framesSent: 0, subscriptions: 0, faultsFired: [], timelineDone: false };
  private readonly frames: Frame[] = [];
  private readonly channels = new Map<string, Channel>();
  private readonly books = new Map<string, Book>();
  private readonly clients = new Set<Client>();
  private readonly faults: Fault[];
  private readonly fired = new Set<Fault>();
  private readonly speed: number | 'max';
  private readonly systemStatus: string;
  private cursor = 0;
  private startedAt: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private checksumFrames = 0;
  private closed = false;
  private startTimer: ReturnType<typeof setTimeout> | null = null;

  private constructor(
    private readonly server: WebSocketServer,
    private readonly options: KrakenEmulatorOptions,
  ) {
    this.speed = options.speed ?? 1;
    this.faults = typeof options.faults === 'string' ? parseFaults(options.faults) : [...(options.faults ?? [])];
    const lines = [...options.lines].filter((l) => l.kind === 'received').sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
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
        if (o['event'] === 'heartbeat') this.frames.push({ ts: l.ts, text, key: null, pair: null, parsed: null });
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
      const base = name.startsWith('book') ? 'book' : name;
      const key = `${base}:${pair}`;
      if (!this.channels.has(key)) this.channels.set(key, { id: a[0] as number, name });
      this.frames.push({ ts: l.ts, text, key, pair, parsed: a });
    }
    this.systemStatus = status ?? JSON.stringify({ connectionID: 1, event: 'systemStatus', status: 'online', version: '1.9.0' });
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Starts the server (port 0: any free port). */
  static async start(options: KrakenEmulatorOptions): Promise<KrakenEmulator> {
    const server = new WebSocketServer({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new KrakenEmulator(server, options);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://${this.options.host ?? '127.0.0.1'}:${this.port}`;
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

  /** Resolves once every recorded frame has been played. */
  async done(): Promise<void> {
    while (!this.stats.timelineDone && !this.closed) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.startTimer !== null) clearTimeout(this.startTimer);
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    for (const c of this.clients) c.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private fault(kind: Fault['kind'], n: number): Fault | null {
    for (const f of this.faults) {
      if (f.kind !== kind || this.fired.has(f) || f.n !== n) continue;
      this.fired.add(f);
      this.stats.faultsFired.push(`${f.kind}:${f.n}`);
      return f;
    }
    return null;
  }

  private send(c: Client, text: string): void {
    if (c.stalled || c.socket.readyState !== c.socket.OPEN) return;
    c.socket.send(text);
    this.stats.framesSent++;
    this.options.onSend?.(text);
  }

  private accept(socket: WebSocket): void {
    this.stats.connections++;
    const c: Client = { socket, subs: new Set(), sent: 0, stalled: false };
    this.clients.add(c);
    socket.on('close', () => this.clients.delete(c));
    socket.on('error', () => this.clients.delete(c));
    socket.on('message', (data) => this.onMessage(c, (data as Buffer).toString('utf8')));
    this.send(c, this.systemStatus);
  }

  private onMessage(c: Client, text: string): void {
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
      this.stats.subscriptions++;
      this.send(c, JSON.stringify({ ...base, status: 'subscribed' }));
      const book = this.books.get(pair);
      if (name === 'book' && book !== undefined && book.seen) {
        const snapshot = { as: sorted(book.asks, 'ask'), bs: sorted(book.bids, 'bid') };
        this.send(c, JSON.stringify([ch.id, snapshot, ch.name, pair]));
      }
    }
    if (this.startedAt === null && this.startTimer === null) {
      this.startTimer = setTimeout(() => this.startTimeline(), this.options.startDelayMs ?? 100);
    }
  }

  private startTimeline(): void {
    if (this.closed) return;
    this.startedAt = performance.now();
    this.heartbeat = setInterval(() => {
      if (!this.stats.timelineDone) return;
      for (const c of this.clients) this.send(c, '{"event":"heartbeat"}');
    }, 1000);
    this.heartbeat.unref();
    this.pump();
  }

  /** Wall ms after the start at which frame `i` is due. */
  private dueMs(i: number): number {
    if (this.speed === 'max') return 0;
    const t0 = this.frames[0]!.ts;
    return Number(this.frames[i]!.ts - t0) / 1e6 / this.speed;
  }

  private pump(): void {
    this.timer = null;
    if (this.closed) return;
    const elapsed = performance.now() - this.startedAt!;
    let n = 0;
    while (this.cursor < this.frames.length && this.dueMs(this.cursor) <= elapsed) {
      this.play(this.frames[this.cursor++]!);
      // At max speed, let the sockets drain now and then.
      if (++n >= 256 && this.speed === 'max') break;
    }
    if (this.cursor >= this.frames.length) {
      this.stats.timelineDone = true;
      return;
    }
    const busy = [...this.clients].some((c) => c.socket.bufferedAmount > 4 << 20);
    const wait = busy ? 5 : Math.max(0, this.dueMs(this.cursor) - (performance.now() - this.startedAt!));
    this.timer =
      wait === 0 ? (setImmediate(() => this.pump()) as unknown as ReturnType<typeof setTimeout>) : setTimeout(() => this.pump(), wait);
  }

  private play(f: Frame): void {
    if (f.pair !== null && f.key!.startsWith('book:')) this.applyBook(f);
    for (const c of this.clients) {
      if (f.key !== null && !c.subs.has(f.key)) continue;
      if (f.key === null) {
        this.send(c, f.text);
        continue;
      }
      const n = ++c.sent;
      if (this.fault('stall', n) !== null) c.stalled = true;
      if (this.fault('skip', n) !== null) continue;
      if (this.fault('malformed', n) !== null) this.send(c, '[1664,{"b":[["13.2');
      let text = f.text;
      if (text.includes('"c":"') && this.fault('corrupt-checksum', ++this.checksumFrames) !== null)
        text = text.replace(/"c":"\d+"/, '"c":"1"');
      this.send(c, text);
      if (this.fault('drop', n) !== null) c.socket.terminate();
    }
  }

  private applyBook(f: Frame): void {
    const a = f.parsed!;
    const pair = f.pair!;
    const name = a[a.length - 2] as string;
    const depth = Number(/^book-(\d+)$/.exec(name)?.[1] ?? 10);
    let book = this.books.get(pair);
    if (book === undefined) {
      book = { asks: new Map(), bids: new Map(), depth, seen: false };
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
          if (isZero(l[1])) levels.delete(l[0]);
          else levels.set(l[0], [l[0], l[1], l[2]]);
          truncate(levels, side, book.depth);
        }
      }
    }
  }
}
