import { ALL_SYMBOLS, LiveClock, MdcapError } from '@mdcap/core';
import type { Clock, DataProvider, EventSink, Instrument, MarketEvent, SequenceRule, SubscriptionKind } from '@mdcap/core';
import WebSocket from 'ws';
import { FeedOutput } from './feed-output.js';
import { StaleWatch } from './stale-watch.js';

/** What a venue's frame parser gives the transport: events out, plus requests it cannot act on itself. */
export interface FrameParser {
  /** Parses one text frame received at `tsRecv`; throws for a frame it cannot read (the transport reports it). */
  parse(text: string, tsRecv: bigint, out: (e: MarketEvent) => void): void;
  /**
   * Symbols whose book must be rebuilt from a new snapshot (a failed checksum, a lost frame): the
   * transport reports a `resync` for each and sends the venue's resnapshot messages.
   */
  readonly resyncs?: Set<string>;
  /** Symbols whose book needs a REST snapshot (Binance): the transport fetches it and calls {@link snapshot}. */
  readonly snapshotRequests?: Set<string>;
  /** A REST snapshot body for `symbol`, received at `tsRecv`. */
  snapshot?(symbol: string, body: string, tsRecv: bigint, out: (e: MarketEvent) => void): void;
  /** The transport subscribed `symbols` to `kinds` (a parser that needs REST snapshots asks for them now). */
  subscribed?(symbols: readonly string[], kinds: ReadonlySet<SubscriptionKind>): void;
  /** Forgets per-connection state (books, channel ids). */
  reset(): void;
  /**
   * The subscribed symbols a frame that could not be parsed is about, read with a tolerant look
   * at its text (it may not even be JSON); empty when the frame does not say.
   */
  symbolsOf?(text: string): readonly string[];
  /**
   * The book of `symbol` must come again from a new snapshot (a lost frame named it, and the
   * engine cleared the book): `symbol` goes into `resyncs`, and a parser whose snapshots come
   * from REST asks for one.
   */
  rebuild?(symbol: string): void;
}

/**
 * A venue on a WebSocket: everything the transport needs to know about it, and nothing the
 * transport does for every venue (connect, heartbeat, stale detection, close).
 */
export interface WsVenue {
  /** Venue name on the events. */
  readonly name: string;
  /** The public endpoint (overridable with the feed's `url`). */
  readonly url: string;
  readonly kinds: readonly SubscriptionKind[];
  /** How the venue numbers its messages (default `contiguous`). */
  readonly sequencing?: SequenceRule;
  /** Messages that subscribe `symbols` to `kinds`, sent once the socket is open and the engine is ready. */
  subscribeMessages(symbols: readonly string[], kinds: ReadonlySet<SubscriptionKind>): string[];
  /** Messages that make the venue send a new book snapshot for `symbol`. */
  resnapshotMessages(symbol: string): string[];
  /** A fresh parser (one per feed; `reset()` on every new connection). */
  createParser(): FrameParser;
  /** Messages that authenticate, sent as soon as the socket is open (Alpaca). */
  authMessages?(): string[];
  /**
   * Reads a frame received before authentication completed: `ok`, an error text (the connection
   * is refused: `connect` rejects with it), or null (not the answer yet).
   */
  authResult?(text: string): 'ok' | { error: string } | null;
  /** A venue error in a frame (rejected subscription, bad symbol): its text, or null. */
  errorOf?(text: string): { symbol: string | null; message: string } | null;
  /** The REST base URL, for venues that sync books to REST snapshots (overridable with the feed's `restUrl`). */
  readonly restUrl?: string;
  /** The REST snapshot request for `symbol` (a path and query, appended to the REST base URL). */
  snapshotPath?(symbol: string): string;
  /** Instruments (scales) known to the parser so far. */
  instruments?(parser: FrameParser): Instrument[];
}

export interface WsFeedOptions {
  /** Endpoint override (an emulator, a testnet). */
  readonly url?: string;
  /** The clock that stamps `tsRecv` (default: a new `LiveClock`). */
  readonly clock?: Clock;
  /** No frame for this long → a `stale` status and a reconnect (default 10 s). */
  readonly staleMs?: number;
  /** REST base URL override (an emulator, a testnet). */
  readonly restUrl?: string;
  /** WebSocket ping interval; 0 turns pings off (default 5 s). */
  readonly pingMs?: number;
  /** Every received frame with its receive time, before parsing (the raw tap for `record --raw`). */
  readonly onFrame?: (text: string, tsRecv: bigint) => void;
  /** Every REST response the feed used (a book snapshot), with its URL and receive time. */
  readonly onRest?: (url: string, body: string, tsRecv: bigint) => void;
}

export interface WsFeedStats {
  frames: number;
  malformed: number;
  venueErrors: number;
  staleDetections: number;
  connects: number;
}

/**
 * The DataProvider of a WebSocket venue: the engine's reconnect policy drives it (a dropped or
 * stale connection is reported with `sink.lost`; the engine calls `connect` and `subscribe`
 * again). Every event it cannot deliver as data it delivers as a status: `connected`, `stale`,
 * a `gap` for a frame that could not be read (the frame is lost; the gap names the symbols the
 * frame names, and their books are sent again), `resync` when it asks the venue for a new
 * snapshot, and the venue parser's own `checksum` and `gap` statuses.
 */
export class WsFeed implements DataProvider {
  readonly venue: string;
  readonly clock: Clock;
  readonly kinds: readonly SubscriptionKind[];
  readonly sequencing: SequenceRule;
  readonly validatesEvents = true;
  readonly stats: WsFeedStats = { frames: 0, malformed: 0, venueErrors: 0, staleDetections: 0, connects: 0 };
  readonly parser: FrameParser;
  private readonly url: string;
  private readonly stale: StaleWatch;
  private readonly pingMs: number;
  private socket: WebSocket | null = null;
  private sink: EventSink | null = null;
  private readonly symbols = new Map<string, Set<SubscriptionKind>>();
  private pingHandle: ReturnType<typeof setInterval> | null = null;
  private readonly fetching = new Set<string>();
  private readonly out: FeedOutput;

  constructor(
    private readonly spec: WsVenue,
    private readonly options: WsFeedOptions = {},
  ) {
    this.venue = spec.name;
    this.kinds = spec.kinds;
    this.sequencing = spec.sequencing ?? 'contiguous';
    this.clock = options.clock ?? new LiveClock();
    this.url = options.url ?? spec.url;
    this.stale = new StaleWatch(this.clock, options.staleMs ?? 10_000);
    this.pingMs = options.pingMs ?? 5_000;
    this.parser = spec.createParser();
    this.out = new FeedOutput(this.venue, this.clock, this.symbols, () => this.sink);
  }

  /** The WebSocket URL it connects to. */
  get endpoint(): string {
    return this.url;
  }

  instruments(): Iterable<Instrument> {
    return this.spec.instruments?.(this.parser) ?? [];
  }

  connect(sink: EventSink): Promise<void> {
    this.teardown(); // an abandoned earlier attempt
    this.sink = sink;
    this.parser.reset();
    this.stats.connects++;
    const socket = new WebSocket(this.url, { perMessageDeflate: false });
    this.socket = socket;
    return new Promise<void>((resolve, reject) => {
      let open = false;
      // Venues with authentication (Alpaca) are connected once the venue accepted the credentials.
      let authed = this.spec.authMessages === undefined;
      const connected = (): void => {
        open = true;
        this.out.status(ALL_SYMBOLS, 'connected', `${this.url}`);
        this.watch(socket);
        resolve();
      };
      socket.on('open', () => {
        if (this.socket !== socket) return;
        if (authed) return connected();
        for (const m of this.spec.authMessages!()) socket.send(m);
      });
      socket.on('message', (data) => {
        if (this.socket !== socket) return;
        const text = (data as Buffer).toString('utf8');
        if (!authed) {
          const r = this.spec.authResult === undefined ? 'ok' : this.spec.authResult(text);
          if (r === null) return;
          if (r !== 'ok') {
            this.teardown();
            socket.terminate();
            reject(
              new MdcapError('MDCAP_ERR_CONNECT_FAILED', `${this.venue}: expected the venue to accept the connection, found ${r.error}`),
            );
            return;
          }
          authed = true;
          connected();
          return;
        }
        this.onFrame(text);
      });
      socket.on('error', (error) => {
        if (this.socket !== socket) return;
        if (!open) {
          this.teardown();
          reject(
            new MdcapError('MDCAP_ERR_CONNECT_FAILED', `${this.venue}: expected a WebSocket at ${this.url}, found ${error.message}`, {
              cause: error,
            }),
          );
        }
        // after open, 'close' follows and reports the loss
      });
      socket.on('close', (code, reason) => {
        if (this.socket !== socket) return;
        const text = reason.toString('utf8');
        this.teardown();
        if (!open)
          reject(
            new MdcapError(
              'MDCAP_ERR_CONNECT_FAILED',
              `${this.venue}: ${this.url} closed before opening (code ${code}${text ? `, ${text}` : ''})`,
            ),
          );
        else sink.lost(new Error(`${this.venue}: connection closed by the venue (code ${code}${text ? `, ${text}` : ''})`));
      });
    });
  }

  subscribe(symbol: string, kinds: readonly SubscriptionKind[]): Promise<void> {
    this.symbols.set(symbol, new Set(kinds));
    return Promise.resolve();
  }

  unsubscribe(symbol: string): Promise<void> {
    this.symbols.delete(symbol);
    return Promise.resolve();
  }

  ready(): void {
    const socket = this.socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) return;
    // One subscription per distinct kind set (venues subscribe channels with symbol lists).
    const byKinds = new Map<string, { kinds: Set<SubscriptionKind>; symbols: string[] }>();
    for (const [symbol, kinds] of this.symbols) {
      const key = [...kinds].sort().join(',');
      const group = byKinds.get(key) ?? { kinds, symbols: [] };
      group.symbols.push(symbol);
      byKinds.set(key, group);
    }
    for (const { kinds, symbols } of byKinds.values()) {
      for (const m of this.spec.subscribeMessages(symbols, kinds)) socket.send(m);
      this.parser.subscribed?.(symbols, kinds);
    }
    this.fetchSnapshots();
  }

  disconnect(): Promise<void> {
    const socket = this.socket;
    this.teardown();
    this.sink = null;
    if (socket === null || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.close(1000, 'mdcap disconnect');
      // A venue that does not answer the close handshake: give up on it after a second.
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 1000).unref();
    });
  }

  /** `await using` support: disconnects at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  private onFrame(text: string): void {
    const tsRecv = this.out.now();
    this.stale.seen(tsRecv);
    this.stats.frames++;
    this.options.onFrame?.(text, tsRecv);
    const venueError = this.spec.errorOf?.(text) ?? null;
    if (venueError !== null) {
      this.stats.venueErrors++;
      this.out.status(venueError.symbol ?? ALL_SYMBOLS, 'gap', `${this.venue} error: ${venueError.message}`, tsRecv);
      return;
    }
    try {
      this.parser.parse(text, tsRecv, this.out.push);
    } catch (error) {
      // The frame is lost: say so, with the frame, and go on with the next one.
      this.stats.malformed++;
      const why = error instanceof Error ? error.message : String(error);
      this.lostFrame(text, `malformed frame skipped: ${why}`, tsRecv);
    }
    this.fetchSnapshots();
    const resyncs = this.parser.resyncs;
    if (resyncs !== undefined && resyncs.size > 0 && this.socket !== null) {
      for (const symbol of resyncs) {
        this.out.status(symbol, 'resync', `${this.venue}: requesting a new ${symbol} book snapshot`, tsRecv);
        for (const m of this.spec.resnapshotMessages(symbol)) this.socket.send(m);
      }
      resyncs.clear();
    }
  }

  /**
   * A frame that could not be read is lost: a `gap` for each subscribed symbol it names, or for
   * the whole venue (`*`) when it names none. The engine clears the books a gap names (every book
   * of the venue for `*`), so each of those is rebuilt from a new snapshot at once; the books of
   * other symbols are left alone.
   */
  private lostFrame(text: string, detail: string, tsRecv: bigint): void {
    const named = new Set((this.parser.symbolsOf?.(text) ?? []).filter((s) => this.symbols.has(s)));
    if (named.size === 0) this.out.status(ALL_SYMBOLS, 'gap', detail, tsRecv);
    for (const symbol of named) this.out.status(symbol, 'gap', detail, tsRecv);
    if (this.parser.rebuild === undefined) return;
    for (const [symbol, kinds] of this.symbols) {
      if (kinds.has('book') && (named.size === 0 || named.has(symbol))) this.parser.rebuild(symbol);
    }
  }

  /**
   * REST snapshots the parser asked for, one request per symbol at a time. The answer is
   * handed to the parser on arrival (if the connection that asked is still the current one);
   * a failed request is a `gap` status, and the parser's next frame asks again.
   */
  private fetchSnapshots(): void {
    const wanted = this.parser.snapshotRequests;
    const spec = this.spec;
    if (wanted === undefined || wanted.size === 0 || spec.snapshotPath === undefined) return;
    const base = this.options.restUrl ?? this.spec.restUrl ?? '';
    const socket = this.socket;
    for (const symbol of wanted) {
      if (this.fetching.has(symbol)) continue;
      this.fetching.add(symbol);
      const url = `${base}${spec.snapshotPath(symbol)}`;
      void (async () => {
        let body: string;
        try {
          const res = await fetch(url);
          body = await res.text();
          if (!res.ok) throw new Error(`HTTP ${res.status}: ${body.slice(0, 200)}`);
        } catch (error) {
          if (this.socket === socket)
            this.out.status(symbol, 'gap', `${this.venue}: depth snapshot ${url} failed: ${(error as Error).message}`);
          return;
        } finally {
          this.fetching.delete(symbol);
        }
        if (this.socket !== socket || this.sink === null) return;
        const tsRecv = this.out.now();
        this.options.onRest?.(url, body, tsRecv);
        try {
          this.parser.snapshot?.(symbol, body, tsRecv, this.out.push);
        } catch (error) {
          this.stats.malformed++;
          this.out.status(symbol, 'gap', `malformed snapshot skipped: ${(error as Error).message}`);
        }
      })();
    }
  }

  /** Stale detection on the injected clock, and WebSocket pings. */
  private watch(socket: WebSocket): void {
    this.stale.start(() => {
      if (this.socket !== socket) return;
      this.stats.staleDetections++;
      const sink = this.sink;
      this.out.status(ALL_SYMBOLS, 'stale', `${this.venue}: no frame for ${this.stale.ms} ms`);
      this.teardown();
      socket.terminate();
      sink?.lost(new Error(`${this.venue}: stale connection (no frame for ${this.stale.ms} ms)`));
    });
    if (this.pingMs > 0) {
      this.pingHandle = setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.ping();
      }, this.pingMs);
      this.pingHandle.unref();
    }
  }

  private teardown(): void {
    this.stale.stop();
    if (this.pingHandle !== null) clearInterval(this.pingHandle);
    this.pingHandle = null;
    const socket = this.socket;
    this.socket = null;
    if (socket !== null && socket.readyState === WebSocket.CONNECTING) socket.terminate();
  }
}
