import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { ConfigError, describeValue, MdcapError } from '@mdcap/core';
import { VIEW_APP_DIR } from '@mdcap/view-app';
import type { ClientMessage, EventJson, ServerMessage } from '@mdcap/view-app';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { Bounded, instrumentKey, seriesKey } from './collector.js';
import type { ViewSession } from './session.js';

export interface ViewServerOptions {
  readonly session: ViewSession;
  /** Where to listen (default 127.0.0.1; the viewer has no authentication: keep it local). */
  readonly host?: string;
  /** Port (default 0: any free one; `url` says which). */
  readonly port?: number;
  /** How often each page is sent what is new (default 100 ms of wall time; the data itself is exact whatever the cadence). */
  readonly flushMs?: number;
  /** The page's files (default the bundled `@mdcap/view-app`). */
  readonly assetsDir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
};

/** A page's state on the server: what it watches and how much of each stream it has been sent. */
interface Page {
  readonly ws: WebSocket;
  run: number;
  sub: { venue: string; symbol: string; interval: number } | null;
  /** Bars of the subscribed series sent (pushed count), or -1: send the series whole. */
  bars: number;
  statuses: number;
  tape: number;
  /** The next tape message replaces the page's tape (a new subscription). */
  tapeReset: boolean;
  book: number;
  instruments: number;
  lastState: string;
  lastStateAt: number;
}

/** A page that has this much unsent is skipped until it drains (its cursors wait; nothing is lost but what the limits trim). */
const HIGH_WATER = 4 * 1024 * 1024;
/** State is sent when it changes, and at least this often (a heartbeat the page and tests can count). */
const HEARTBEAT_MS = 500;

const send = (ws: WebSocket, m: ServerMessage): void => ws.send(JSON.stringify(m));
/** The series of an instrument and interval that has no bar yet (never pushed to). */
const NO_BARS: Bounded<EventJson> = new Bounded(1);

/**
 * The viewer's server: serves the page's static files on `/` and streams one engine session to
 * every page over a WebSocket on `/ws` (protocol in @mdcap/view-app). A bad message gets an
 * `error` message with its `MDCAP_ERR_*` code and changes nothing; a slow page is skipped until
 * it drains; neither can stop the server.
 */
export class ViewServer implements AsyncDisposable {
  private readonly pages = new Set<Page>();
  private timer: NodeJS.Timeout | null = null;
  private readonly files: Map<string, string>;
  private closed = false;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly session: ViewSession,
    files: Map<string, string>,
    private readonly hosts: ReadonlySet<string> | null,
  ) {
    this.files = files;
    session.onRestart(() => this.flush());
  }

  /**
   * Starts serving.
   * @throws {MdcapError} `MDCAP_ERR_IO` when the page's files are missing (not built), `MDCAP_ERR_ADDRESS` when it cannot listen.
   */
  static async start(options: ViewServerOptions): Promise<ViewServer> {
    const dir = options.assetsDir ?? VIEW_APP_DIR;
    if (!existsSync(join(dir, 'index.html'))) {
      throw new MdcapError('MDCAP_ERR_IO', `view: expected the page's files in ${dir} (made by npm run build), found no index.html`);
    }
    const files = new Map(readdirSync(dir).map((f) => [`/${f}`, join(dir, f)]));
    files.set('/', join(dir, 'index.html'));
    const host = options.host ?? '127.0.0.1';
    // The names a page may reach this server by (a DNS-rebound name is refused); any, when it listens on every address.
    const hosts =
      host === '0.0.0.0' || host === '::' ? null : new Set(['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host]);
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    const server = new ViewServer(http, wss, options.session, files, hosts);
    http.on('request', (req, res) => server.serve(req, res));
    http.on('upgrade', (req, socket, head) => {
      socket.on('error', () => socket.destroy()); // a client that resets mid-answer is not an error of the server
      if (server.closed || !server.allowed(req) || pathOf(req) !== '/ws') {
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => server.connect(ws));
    });
    await new Promise<void>((resolve, reject) => {
      const failed = (e: NodeJS.ErrnoException): void =>
        reject(
          new MdcapError('MDCAP_ERR_ADDRESS', `view: expected to listen on ${host}:${options.port ?? 0}, found ${e.code ?? e.message}`, {
            cause: e,
          }),
        );
      http.once('error', failed);
      http.listen(options.port ?? 0, host, () => {
        http.off('error', failed);
        // Later errors (EMFILE on accept…) end no page and not the process.
        http.on('error', () => {});
        resolve();
      });
    });
    server.timer = setInterval(() => server.flush(), options.flushMs ?? 100);
    return server;
  }

  /** Where the page is: `http://127.0.0.1:PORT/`. */
  get url(): string {
    const a = this.http.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}/`;
  }

  /** Pages connected now. */
  get connections(): number {
    return this.pages.size;
  }

  /**
   * A page of another site may not drive this server: a WebSocket's Origin, when sent, must be
   * this host, and the host must be a name of this server (not a name rebound to 127.0.0.1).
   */
  private allowed(req: IncomingMessage): boolean {
    const host = req.headers.host ?? '';
    if (this.hosts !== null && !this.hosts.has(host.replace(/:\d+$/, ''))) return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req);
    const file = this.files.get(path);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || file === undefined) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${req.method} ${path}: not here (the viewer serves /, its files and /ws)\n`);
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${path}: ${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private connect(ws: WebSocket): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    const page: Page = {
      ws,
      run: -1,
      sub: null,
      bars: -1,
      statuses: 0,
      tape: 0,
      tapeReset: true,
      book: 0,
      instruments: -1,
      lastState: '',
      lastStateAt: 0,
    };
    this.pages.add(page);
    ws.on('close', () => this.pages.delete(page));
    ws.on('error', () => this.pages.delete(page));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      void this.receive(page, data, isBinary);
    });
    this.flushPage(page);
  }

  private async receive(page: Page, data: RawData, isBinary: boolean): Promise<void> {
    try {
      const m = parseClientMessage(isBinary ? null : Buffer.isBuffer(data) ? data.toString('utf8') : null);
      const s = this.session;
      switch (m.type) {
        case 'subscribe': {
          if (!s.collector.instruments.has(instrumentKey(m.venue, m.symbol))) {
            throw new MdcapError(
              'MDCAP_ERR_UNKNOWN_SYMBOL',
              `subscribe: expected an instrument of the session (${[...s.collector.instruments.values()].map((i) => `${i.venue} ${i.symbol}`).join(', ')}), found ${m.venue} ${m.symbol}`,
            );
          }
          if (!s.intervals.includes(m.interval)) {
            throw new ConfigError(
              'MDCAP_ERR_INVALID_OPTION',
              `subscribe: expected a bar interval the session builds (${s.intervals.join(', ')} s), found ${m.interval}`,
            );
          }
          page.sub = { venue: m.venue, symbol: m.symbol, interval: m.interval };
          page.bars = -1;
          page.book = 0;
          page.tape = 0;
          page.tapeReset = true;
          break;
        }
        case 'play':
          s.play();
          break;
        case 'pause':
          s.pause();
          break;
        case 'speed':
          s.setSpeed(m.speed);
          break;
        case 'seek':
          await s.seek(m.to);
          break;
      }
      this.flushPage(page);
    } catch (e) {
      const err = e instanceof MdcapError ? e : new MdcapError('MDCAP_ERR_VIEW_REQUEST', (e as Error).message);
      if (page.ws.readyState === WebSocket.OPEN) send(page.ws, { type: 'error', code: err.code, message: err.message });
    }
  }

  private flush(): void {
    for (const page of this.pages) this.flushPage(page);
  }

  /** Sends a page what is new since it last looked (nothing while it has too much unsent). */
  private flushPage(page: Page): void {
    const ws = page.ws;
    if (this.closed || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > HIGH_WATER) return;
    const s = this.session;
    const c = s.collector;
    const run = s.run;
    if (page.run !== run) {
      page.run = run;
      page.bars = -1;
      page.statuses = -1;
      page.tape = 0;
      page.tapeReset = true;
      page.book = 0;
      page.instruments = -1;
      send(ws, {
        type: 'hello',
        mode: s.mode,
        source: s.source,
        instruments: [...c.instruments.values()],
        intervals: s.intervals,
        start: s.start === null ? null : s.start.toString(),
        end: s.end === null ? null : s.end.toString(),
        limits: s.limits,
        run,
      });
      page.instruments = c.instrumentsVersion;
      if (s.backtest !== null) send(ws, { type: 'backtest', run, ...s.backtest });
    }
    if (page.instruments !== c.instrumentsVersion) {
      page.instruments = c.instrumentsVersion;
      send(ws, { type: 'instruments', instruments: [...c.instruments.values()] });
    }
    const st = c.statuses;
    const statuses = st.delta(page.statuses);
    if (statuses !== null) send(ws, { type: 'statuses', run, reset: statuses.reset, trimmed: st.trimmed, statuses: statuses.items });
    page.statuses = st.total;
    const sub = page.sub;
    if (sub !== null) {
      // A series with no bar yet is an empty one: a new page is sent that, as a reset.
      const series = c.series.get(seriesKey(sub.venue, sub.symbol, sub.interval)) ?? NO_BARS;
      const bars = series.delta(page.bars);
      if (bars !== null) {
        send(ws, {
          type: 'bars',
          run,
          venue: sub.venue,
          symbol: sub.symbol,
          interval: sub.interval,
          reset: bars.reset,
          trimmed: series.trimmed,
          bars: bars.items,
        });
      }
      page.bars = series.total;
      const tape = c.tape(sub.venue, sub.symbol, page.tape, s.limits.tape);
      if (tape.trades.length > 0 || tape.skipped > 0 || page.tapeReset) {
        send(ws, {
          type: 'tape',
          run,
          venue: sub.venue,
          symbol: sub.symbol,
          reset: page.tapeReset,
          trades: tape.trades,
          skipped: tape.skipped,
        });
        page.tapeReset = false;
      }
      page.tape = tape.total;
      const book = c.book(sub.venue, sub.symbol, page.book);
      if (book !== null) {
        page.book = book.version;
        send(ws, {
          type: 'book',
          run,
          venue: sub.venue,
          symbol: sub.symbol,
          tsRecv: book.tsRecv,
          valid: book.valid,
          bids: book.bids,
          asks: book.asks,
        });
      }
    }
    const state: ServerMessage = {
      type: 'state',
      run,
      state: s.state,
      clock: s.now().toString(),
      speed: s.speed,
      events: s.events(),
      error: s.error,
    };
    const text = JSON.stringify(state);
    const now = performance.now();
    if (text !== page.lastState || now - page.lastStateAt >= HEARTBEAT_MS) {
      page.lastState = text;
      page.lastStateAt = now;
      ws.send(text);
    }
  }

  /** Closes every page, stops listening and closes the session. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const p of this.pages) p.ws.close(1001, 'the viewer is stopping');
    // A page that does not answer the close (a frozen tab) is cut after a moment.
    const cut = setTimeout(() => {
      for (const p of this.pages) p.ws.terminate();
    }, 1000);
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    clearTimeout(cut);
    await this.session.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The path of a request, or '' for a target that is not one (`//[`): never an exception. */
function pathOf(req: IncomingMessage): string {
  const target = req.url ?? '/';
  const q = target.search(/[?#]/);
  return q < 0 ? target : target.slice(0, q);
}

const SPEC: Record<ClientMessage['type'], readonly string[]> = {
  subscribe: ['venue', 'symbol', 'interval'],
  play: [],
  pause: [],
  speed: ['speed'],
  seek: ['to'],
};

/**
 * A page's message, checked: one JSON object of a known `type` with the fields it needs.
 * @throws {MdcapError} `MDCAP_ERR_VIEW_REQUEST` saying what was expected and what was found.
 */
export function parseClientMessage(text: string | null): ClientMessage {
  const bad = (found: string): MdcapError =>
    new MdcapError(
      'MDCAP_ERR_VIEW_REQUEST',
      `viewer message: expected a JSON object {"type": ${Object.keys(SPEC)
        .map((t) => `"${t}"`)
        .join(' | ')}, …}, found ${found}`,
    );
  if (text === null) throw bad('a binary frame');
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw bad(`text that is not JSON: ${describeValue(text.slice(0, 80))}`);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad(describeValue(m));
  const o = m as Record<string, unknown>;
  const fields = typeof o['type'] === 'string' ? SPEC[o['type'] as ClientMessage['type']] : undefined;
  if (fields === undefined || !Object.hasOwn(SPEC, o['type'] as string)) throw bad(`type ${describeValue(o['type'])}`);
  for (const f of fields) {
    const v = o[f];
    const ok = f === 'interval' ? Number.isSafeInteger(v) && (v as number) > 0 : typeof v === 'string' && v !== '';
    if (!ok) {
      throw new MdcapError(
        'MDCAP_ERR_VIEW_REQUEST',
        `viewer message "${String(o['type'])}": expected ${f} as ${f === 'interval' ? 'a positive integer of seconds' : 'a non-empty string'}, found ${describeValue(v)}`,
      );
    }
  }
  return o as unknown as ClientMessage;
}
