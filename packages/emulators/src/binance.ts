import { byTime } from './recording.js';
import type { RecordedLine } from './recording.js';
import { isZeroDecimal, ReplayServer, sortedLevels } from './server.js';
import type { Client, EmulatorOptions, TextBook, TimelineFrame } from './server.js';

/**
 * Binance spot, emulated: WebSocket market streams on `/stream` (combined payloads
 * `{"stream", "data"}`) and `/ws` (bare payloads), subscribed by URL (`?streams=a/b`) or with
 * `SUBSCRIBE` / `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` requests, plus the REST depth snapshot
 * `GET /api/v3/depth?symbol=…&limit=…` on the same port.
 *
 * The REST snapshots are consistent with the streams: before the timeline reaches the moment a
 * recorded snapshot was taken, that snapshot is served as recorded (its `lastUpdateId` is ahead
 * of the diffs sent so far, as when it was taken); after it, the emulator serves the book it
 * keeps by applying the recorded diffs to the recorded snapshot, with `lastUpdateId` = the last
 * diff's `u`. An unknown symbol gets Binance's `{"code":-1121,"msg":"Invalid symbol."}`.
 */
export interface BinanceEmulatorOptions extends EmulatorOptions {
  /** The recordings: the stream lines and the REST depth snapshots (cryptofeed format). */
  readonly lines: readonly RecordedLine[];
}

type Level = readonly [string, string];

interface Book extends TextBook {
  lastUpdateId: bigint;
}

interface Snapshot {
  readonly ts: bigint;
  readonly body: string;
  readonly lastUpdateId: bigint;
}

interface BinanceFrame extends TimelineFrame {
  readonly data: Record<string, unknown>;
  readonly dataText: string;
}

const STREAM = /^[a-z0-9]+@[a-zA-Z0-9_@]+$/;

export class BinanceEmulator extends ReplayServer {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly books = new Map<string, Book>();

  private constructor(http: Awaited<ReturnType<typeof ReplayServer.listen>>, options: BinanceEmulatorOptions) {
    super(http, options);
    const lines = [...options.lines].sort(byTime);
    for (const l of lines) {
      if (l.kind === 'rest' && l.url !== null && l.url.includes('/api/v3/depth')) {
        const symbol = new URL(l.url).searchParams.get('symbol');
        const body = JSON.parse(l.text) as { lastUpdateId: number };
        if (symbol !== null && !this.snapshots.has(symbol))
          this.snapshots.set(symbol, { ts: l.ts, body: l.text, lastUpdateId: BigInt(body.lastUpdateId) });
        continue;
      }
      if (l.kind !== 'received') continue;
      let o: { stream?: string; data?: Record<string, unknown> };
      try {
        o = JSON.parse(l.text) as typeof o;
      } catch {
        continue;
      }
      if (typeof o.stream !== 'string' || typeof o.data !== 'object') continue;
      this.frames.push({ ts: l.ts, text: l.text, key: o.stream, data: o.data, dataText: JSON.stringify(o.data) } as BinanceFrame);
    }
  }

  /** Per symbol, how far update ids (`U`/`u`), aggregate trade ids and trade ids move per loop; and event times, in ms. */
  private loopShift: { ids: Map<string, [updates: number, aggs: number, trades: number]>; ms: number } | null = null;

  /**
   * A loop renumbers what Binance numbers, per symbol, so that loop k continues loop k − 1: depth
   * diffs and book tickers by the symbol's span of update ids, aggregate and trade ids by theirs,
   * and event times by the recording's span rounded up to whole minutes (klines stay on minutes).
   */
  protected override loopFrame(frame: TimelineFrame, k: number): TimelineFrame {
    this.loopShift ??= this.loopSpans();
    const f = frame as BinanceFrame;
    const d = f.data;
    const ids = this.loopShift.ids.get(d['s'] as string) ?? [0, 0, 0];
    const ms = this.loopShift.ms * k;
    const id = (v: unknown, span: number): unknown => (typeof v === 'number' ? v + span * k : v);
    const data: Record<string, unknown> = { ...d };
    for (const key of ['E', 'T']) data[key] = id(d[key], this.loopShift.ms);
    if (d['e'] === 'depthUpdate' || d['e'] === undefined) for (const key of ['U', 'u', 'pu']) data[key] = id(d[key], ids[0]);
    if (d['e'] === 'aggTrade') {
      data['a'] = id(d['a'], ids[1]);
      for (const key of ['f', 'l']) data[key] = id(d[key], ids[2]);
    }
    if (d['e'] === 'trade') data['t'] = id(d['t'], ids[2]);
    if (d['e'] === 'kline' && typeof d['k'] === 'object' && d['k'] !== null) {
      const kl = { ...(d['k'] as Record<string, unknown>) };
      for (const key of ['t', 'T']) kl[key] = id(kl[key], this.loopShift.ms);
      for (const key of ['f', 'L']) kl[key] = id(kl[key], ids[2]);
      data['k'] = kl;
    }
    const dataText = JSON.stringify(data);
    return {
      ts: f.ts + BigInt(ms) * 1_000_000n,
      text: `{"stream":${JSON.stringify(f.key)},"data":${dataText}}`,
      key: f.key,
      data,
      dataText,
    } as BinanceFrame;
  }

  private loopSpans(): NonNullable<BinanceEmulator['loopShift']> {
    const lo = new Map<string, number[]>();
    const hi = new Map<string, number[]>();
    const see = (symbol: string, i: number, a: unknown, b: unknown): void => {
      if (typeof a !== 'number' || typeof b !== 'number') return;
      const l = lo.get(symbol) ?? [Infinity, Infinity, Infinity];
      const h = hi.get(symbol) ?? [-Infinity, -Infinity, -Infinity];
      l[i] = Math.min(l[i]!, a);
      h[i] = Math.max(h[i]!, b);
      lo.set(symbol, l);
      hi.set(symbol, h);
    };
    for (const frame of this.frames) {
      const d = (frame as BinanceFrame).data;
      const s = d['s'] as string;
      if (d['e'] === 'depthUpdate') see(s, 0, d['U'], d['u']);
      if (d['e'] === undefined) see(s, 0, d['u'], d['u']);
      if (d['e'] === 'aggTrade') {
        see(s, 1, d['a'], d['a']);
        see(s, 2, d['f'], d['l']);
      }
      if (d['e'] === 'trade') see(s, 2, d['t'], d['t']);
    }
    const ids = new Map<string, [number, number, number]>();
    for (const [s, l] of lo) {
      const h = hi.get(s)!;
      const span = (i: number): number => (Number.isFinite(l[i]!) ? h[i]! - l[i]! + 1 : 0);
      ids.set(s, [span(0), span(1), span(2)]);
    }
    const first = this.frames[0]!.ts;
    const last = this.frames[this.frames.length - 1]!.ts;
    const minutes = Math.ceil(Number((last - first) / 1_000_000n + 1n) / 60_000);
    return { ids, ms: minutes * 60_000 };
  }

  static async start(options: BinanceEmulatorOptions): Promise<BinanceEmulator> {
    return new BinanceEmulator(await ReplayServer.listen(options), options);
  }

  /** Streams with recorded data. */
  streams(): string[] {
    return [...new Set(this.frames.map((f) => f.key!))].sort();
  }

  protected override onConnect(c: Client): void {
    const url = new URL(c.url, 'http://emulator');
    const streams = url.searchParams.get('streams') ?? (url.pathname.startsWith('/ws/') ? url.pathname.slice(4) : '');
    for (const s of streams.split('/').filter((x) => x !== '')) this.subscribe(c, s);
  }

  private subscribe(c: Client, stream: string): void {
    c.subs.add(stream);
    this.subscribed();
  }

  protected override onMessage(c: Client, text: string): void {
    let m: { method?: unknown; params?: unknown; id?: unknown };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      this.send(c, JSON.stringify({ error: { code: 3, msg: 'Invalid JSON: expected value at line 1 column 1' } }));
      return;
    }
    const id = m.id ?? null;
    const params = Array.isArray(m.params) ? (m.params as unknown[]) : [];
    const invalid = params.find((p) => typeof p !== 'string' || !STREAM.test(p));
    if (m.method === 'LIST_SUBSCRIPTIONS') {
      this.send(c, JSON.stringify({ result: [...c.subs], id }));
      return;
    }
    if ((m.method !== 'SUBSCRIBE' && m.method !== 'UNSUBSCRIBE') || invalid !== undefined || params.length === 0) {
      this.send(
        c,
        JSON.stringify({
          error: {
            code: 2,
            msg: `Invalid request: ${invalid === undefined ? 'unknown method or no params' : `invalid stream ${JSON.stringify(invalid)}`}`,
          },
          id,
        }),
      );
      return;
    }
    for (const p of params as string[]) {
      if (m.method === 'SUBSCRIBE') this.subscribe(c, p);
      else c.subs.delete(p);
    }
    this.send(c, JSON.stringify({ result: null, id }));
  }

  protected override transform(c: Client, frame: TimelineFrame): string {
    return c.url.startsWith('/ws') ? (frame as BinanceFrame).dataText : frame.text;
  }

  protected override apply(frame: TimelineFrame): void {
    const f = frame as BinanceFrame;
    const d = f.data;
    if (d['e'] !== 'depthUpdate') return;
    const symbol = d['s'] as string;
    let book = this.books.get(symbol);
    const snap = this.snapshots.get(symbol);
    if (book === undefined) {
      // The book starts at the recorded snapshot, once the timeline has reached it.
      if (snap === undefined || f.ts < snap.ts) return;
      const body = JSON.parse(snap.body) as { bids: Level[]; asks: Level[] };
      book = {
        bids: new Map(body.bids.map((l) => [l[0], l])),
        asks: new Map(body.asks.map((l) => [l[0], l])),
        lastUpdateId: snap.lastUpdateId,
      };
      this.books.set(symbol, book);
    }
    const u = BigInt(d['u'] as number);
    if (u <= book.lastUpdateId) return;
    for (const [key, side] of [
      ['b', book.bids],
      ['a', book.asks],
    ] as const) {
      for (const l of d[key] as Level[]) {
        if (isZeroDecimal(l[1])) side.delete(l[0]);
        else side.set(l[0], l);
      }
    }
    book.lastUpdateId = u;
  }

  protected override rest(method: string, url: URL): { status: number; text: string } {
    if (method !== 'GET' || url.pathname !== '/api/v3/depth') return { status: 404, text: JSON.stringify({ code: -1, msg: 'not found' }) };
    const symbol = url.searchParams.get('symbol') ?? '';
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 100) || 100, 5000);
    const snap = this.snapshots.get(symbol);
    if (snap === undefined) return { status: 400, text: JSON.stringify({ code: -1121, msg: 'Invalid symbol.' }) };
    const book = this.books.get(symbol);
    if (book === undefined) return { status: 200, text: snap.body };
    return {
      status: 200,
      text: JSON.stringify({
        lastUpdateId: Number(book.lastUpdateId),
        bids: sortedLevels(book.bids, 'bid').slice(0, limit),
        asks: sortedLevels(book.asks, 'ask').slice(0, limit),
      }),
    };
  }
}
