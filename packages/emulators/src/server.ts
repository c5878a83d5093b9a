import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { parseFaults } from './faults.js';
import type { Fault } from './faults.js';

/** Options every emulator takes. */
export interface EmulatorOptions {
  readonly port?: number;
  readonly host?: string;
  /** Multiple of the recorded pace, or `max` (default 1). */
  readonly speed?: number | 'max';
  /** Faults to inject, each once (`drop:500`, `corrupt-checksum:100`, `malformed:50`, `stall:200`, `skip:300`). */
  readonly faults?: readonly Fault[] | string;
  /** The timeline starts this long after the first subscription, so that a client's other subscriptions arrive first (default 100 ms). */
  readonly startDelayMs?: number;
  /**
   * Play the recording this many times in a row (default 1): for load tests. Each repeat comes
   * after the previous one, on the recording's own pace (messages are sent as recorded).
   */
  readonly loops?: number;
  /** Called for every frame sent (tests, `mdcap emulate --verbose`). */
  readonly onSend?: (text: string) => void;
}

export interface EmulatorStats {
  connections: number;
  framesSent: number;
  subscriptions: number;
  restRequests: number;
  /** Each fault as it fired, `kind:N`, followed by the channel of the frame it hit (`malformed:500 book:XMR/USD`). */
  faultsFired: string[];
  timelineDone: boolean;
}

/** One recorded message on the timeline: sent to the clients subscribed to `key` (null: to every client). */
export interface TimelineFrame {
  readonly ts: bigint;
  readonly text: string;
  readonly key: string | null;
}

export interface Client {
  readonly socket: WebSocket;
  /** The path and query of the connection request. */
  readonly url: string;
  readonly subs: Set<string>;
  sent: number;
  stalled: boolean;
}

/**
 * What every emulator shares: an HTTP server (REST, where the venue has it) with a WebSocket
 * server on it, the clients and their subscriptions, the recorded timeline played at `speed`
 * from the first subscription on (the market goes on without clients), and fault injection.
 * A venue subclass parses its recording into the timeline, answers its clients' messages, and
 * keeps whatever state late subscribers need (books).
 */
export abstract class ReplayServer {
  readonly stats: EmulatorStats = {
    connections: 0,
    framesSent: 0,
    subscriptions: 0,
    restRequests: 0,
    faultsFired: [],
    timelineDone: false,
  };
  protected readonly frames: TimelineFrame[] = [];
  protected readonly clients: Set<Client> = new Set<Client>();
  private readonly faults: Fault[];
  private readonly fired = new Set<Fault>();
  private readonly speed: number | 'max';
  private readonly wss: WebSocketServer;
  private cursor = 0;
  private startedAt: number | null = null;
  private startTimer: ReturnType<typeof setTimeout> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setInterval> | null = null;
  private checksumFrames = 0;
  private closed = false;

  protected constructor(
    private readonly http: Server,
    protected readonly options: EmulatorOptions,
  ) {
    this.speed = options.speed ?? 1;
    this.faults = typeof options.faults === 'string' ? parseFaults(options.faults) : [...(options.faults ?? [])];
    this.wss = new WebSocketServer({ server: http });
    this.wss.on('connection', (socket, req) => this.accept(socket, req));
    http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.stats.restRequests++;
      const body = this.rest(req.method ?? 'GET', new URL(req.url ?? '/', 'http://emulator'));
      res.writeHead(body.status, { 'content-type': 'application/json' });
      res.end(body.text);
    });
  }

  /** An HTTP server listening on the options' host and port. */
  protected static async listen(options: EmulatorOptions): Promise<Server> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    return http;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The WebSocket base URL. */
  get url(): string {
    return `ws://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** The REST base URL (same port). */
  get restUrl(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** Resolves once every recorded frame has been played. */
  async done(): Promise<void> {
    while (!this.stats.timelineDone && !this.closed) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of [this.timer, this.startTimer]) if (t !== null) clearTimeout(t);
    if (this.idleTimer !== null) clearInterval(this.idleTimer);
    for (const c of this.clients) c.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** `await using` support: closes the server at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** A client connected (send a greeting, subscribe from the URL). */
  protected abstract onConnect(c: Client): void;
  /** A client sent `text`. */
  protected abstract onMessage(c: Client, text: string): void;
  /** A timeline frame is about to be played: update the venue state (books). */
  protected abstract apply(frame: TimelineFrame): void;
  /** A REST request (404 unless the venue has REST). */
  protected rest(_method: string, _url: URL): { status: number; text: string } {
    return { status: 404, text: JSON.stringify({ error: 'not found' }) };
  }
  /** The text of `frame` for client `c` (a venue may frame it per connection). */
  protected transform(_c: Client, frame: TimelineFrame): string {
    return frame.text;
  }
  /** `text` with its checksum made wrong, or null if the frame has none. */
  protected corruptChecksum(_text: string): string | null {
    return null;
  }
  /** Sent every second to each client once the recording is over (keeps stale detection quiet), or null. */
  protected idleMessage(): string | null {
    return null;
  }

  protected send(c: Client, text: string): void {
    if (c.stalled || c.socket.readyState !== c.socket.OPEN) return;
    c.socket.send(text);
    this.stats.framesSent++;
    this.options.onSend?.(text);
  }

  /** Call when a client subscribed: the first subscription starts the timeline. */
  protected subscribed(): void {
    this.stats.subscriptions++;
    if (this.startedAt === null && this.startTimer === null && !this.closed) {
      this.startTimer = setTimeout(() => this.startTimeline(), this.options.startDelayMs ?? 100);
    }
  }

  /** The recorded time the timeline has reached (null before it starts). */
  protected get timelineTs(): bigint | null {
    return this.cursor === 0 ? null : this.frames[this.cursor - 1]!.ts;
  }

  private accept(socket: WebSocket, req: IncomingMessage): void {
    this.stats.connections++;
    const c: Client = { socket, url: req.url ?? '/', subs: new Set(), sent: 0, stalled: false };
    this.clients.add(c);
    socket.on('close', () => this.clients.delete(c));
    socket.on('error', () => this.clients.delete(c));
    socket.on('message', (data) => this.onMessage(c, (data as Buffer).toString('utf8')));
    this.onConnect(c);
  }

  /** Whether fault `kind:n` fires now (each fires once); `key` is the channel of the frame it hits. */
  protected fault(kind: Fault['kind'], n: number, key: string | null = null): boolean {
    for (const f of this.faults) {
      if (f.kind !== kind || this.fired.has(f) || f.n !== n) continue;
      this.fired.add(f);
      this.stats.faultsFired.push(key === null ? `${f.kind}:${f.n}` : `${f.kind}:${f.n} ${key}`);
      return true;
    }
    return false;
  }

  private startTimeline(): void {
    if (this.closed) return;
    const loops = this.options.loops ?? 1;
    if (loops > 1 && this.frames.length > 0) {
      const once = [...this.frames];
      const span = once[once.length - 1]!.ts - once[0]!.ts + 1n;
      for (let k = 1; k < loops; k++) for (const f of once) this.frames.push(this.loopFrame(f, k, span * BigInt(k)));
    }
    this.startedAt = performance.now();
    this.idleTimer = setInterval(() => {
      const idle = this.idleMessage();
      if (this.stats.timelineDone && idle !== null) for (const c of this.clients) this.send(c, idle);
    }, 1000);
    this.idleTimer.unref();
    this.pump();
  }

  /**
   * Frame `f` of the recording as played in loop `k` (k ≥ 1), `shiftNs` later than recorded. By
   * default only its time moves; a venue whose messages carry sequence numbers renumbers them so
   * that the loops play as one continuing stream (no gaps, no duplicates in a load test).
   */
  protected loopFrame(f: TimelineFrame, _k: number, shiftNs: bigint): TimelineFrame {
    return { ...f, ts: f.ts + shiftNs };
  }

  /** Wall ms after the start at which frame `i` is due. */
  private dueMs(i: number): number {
    if (this.speed === 'max') return 0;
    return Number(this.frames[i]!.ts - this.frames[0]!.ts) / 1e6 / this.speed;
  }

  private pump(): void {
    this.timer = null;
    if (this.closed) return;
    const elapsed = performance.now() - this.startedAt!;
    let n = 0;
    // Frames due together go out in one write per client (ws writes each frame to its socket
    // at once otherwise): cork the TCP sockets for the batch.
    const sockets = [...this.clients].map((c) => (c.socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket);
    for (const t of sockets) t?.cork();
    while (this.cursor < this.frames.length && this.dueMs(this.cursor) <= elapsed) {
      this.play(this.frames[this.cursor++]!);
      if (++n >= 256 && this.speed === 'max') break; // let the sockets drain now and then
    }
    for (const t of sockets) t?.uncork();
    if (this.cursor >= this.frames.length) {
      this.stats.timelineDone = true;
      return;
    }
    const busy = [...this.clients].some((c) => c.socket.bufferedAmount > 4 << 20);
    const wait = busy ? 5 : Math.max(0, this.dueMs(this.cursor) - (performance.now() - this.startedAt!));
    if (wait === 0) setImmediate(() => this.pump());
    else this.timer = setTimeout(() => this.pump(), wait);
  }

  private play(f: TimelineFrame): void {
    this.apply(f);
    for (const c of this.clients) {
      if (f.key === null) {
        this.send(c, this.transform(c, f));
        continue;
      }
      if (!c.subs.has(f.key)) continue;
      const n = ++c.sent;
      const key = f.key;
      if (this.fault('stall', n, key)) c.stalled = true;
      if (this.fault('skip', n, key)) continue;
      let text = this.transform(c, f);
      if (this.fault('malformed', n, key)) this.send(c, malformedCopy(text));
      const corrupted = this.corruptChecksum(text);
      if (corrupted !== null && this.fault('corrupt-checksum', ++this.checksumFrames, key)) text = corrupted;
      this.send(c, text);
      if (this.fault('drop', n, key)) c.socket.terminate();
    }
  }
}

/**
 * What the `malformed` fault sends: the venue's frame with one byte lost, the first quote from
 * its middle on, so it is no longer JSON but still names its symbol where the venue puts it (a
 * frame without such a quote is cut short instead).
 */
function malformedCopy(text: string): string {
  for (let i = text.length >> 1; i < text.length; i++) {
    if (text[i] !== '"' || text[i - 1] === '\\') continue;
    const cut = text.slice(0, i) + text.slice(i + 1);
    try {
      JSON.parse(cut);
    } catch {
      return cut;
    }
    break;
  }
  return text.slice(0, Math.max(1, text.length >> 2));
}

/** Exact order of two decimal strings (no floats): by integer part, then by fraction. */
export function compareDecimal(a: string, b: string): number {
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

export const isZeroDecimal = (v: string): boolean => /^0*\.?0*$/.test(v);

/** A level as the venue's strings: `[price, size]` (Kraken adds a timestamp). */
export type TextLevel = readonly [string, string] | readonly [string, string, string];

/** A two-sided book of a venue's strings, keyed by price text. */
export interface TextBook<L extends TextLevel = readonly [string, string]> {
  readonly bids: Map<string, L>;
  readonly asks: Map<string, L>;
}

/** A side of a book as the venue's strings: price text → level. */
export type TextLevels<L extends readonly string[]> = Map<string, L>;

/** The levels best first: asks ascending, bids descending. */
export function sortedLevels<L extends readonly string[]>(levels: TextLevels<L>, side: 'ask' | 'bid'): L[] {
  const out = [...levels.values()];
  out.sort((x, y) => (side === 'ask' ? compareDecimal(x[0]!, y[0]!) : compareDecimal(y[0]!, x[0]!)));
  return out;
}

/** Drops the worst levels beyond `depth` (one linear scan per level dropped: inserts add one at most). */
export function truncateLevels<L extends readonly string[]>(levels: TextLevels<L>, side: 'ask' | 'bid', depth: number): void {
  while (levels.size > depth) {
    let worst: string | null = null;
    for (const p of levels.keys()) {
      if (worst === null || (side === 'ask' ? compareDecimal(p, worst) > 0 : compareDecimal(p, worst) < 0)) worst = p;
    }
    levels.delete(worst!);
  }
}
