import { createHash } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { ALL_SYMBOLS, LiveClock, MdcapError, nsToIso } from '@mdcap/core';
import type { Clock, DataProvider, EventSink, Instrument, SequenceRule, SubscriptionKind } from '@mdcap/core';
import { DBN_PRICE_SCALE, decodeMetadata, decodeRecordAt, DbnToEvents, RType, SymbolMap } from '@mdcap/dbn';
import type { DbnMetadata } from '@mdcap/dbn';
import { FeedOutput } from '../transport/feed-output.js';
import { StaleWatch } from '../transport/stale-watch.js';

export interface DatabentoFeedOptions {
  /** API key (the CLI reads `--key` or DATABENTO_API_KEY). */
  readonly key: string;
  /** Dataset, e.g. GLBX.MDP3 (also the venue name on the events). */
  readonly dataset: string;
  /** Schema to subscribe: trades, mbo, mbp-1, tbbo, bbo-1s, ohlcv-1m, status, definition… */
  readonly schema: string;
  /** Intraday replay: the gateway first sends what it has from this time (ns) on, then goes live. */
  readonly start?: bigint;
  /** Symbology of the symbols (default raw_symbol). */
  readonly stypeIn?: string;
  /** Gateway override: `tcp://host:port` (an emulator). Default: Databento's gateway of the dataset. */
  readonly url?: string;
  readonly clock?: Clock;
  /** No record (heartbeats included) for this long → a `stale` status and a reconnect (default 90 s: three heartbeats). */
  readonly staleMs?: number;
}

/** Databento's gateway for a dataset: `glbx-mdp3.lsg.databento.com:13000`. */
export function databentoGateway(dataset: string): string {
  return `tcp://${dataset.replace(/\./g, '-').toLowerCase()}.lsg.databento.com:13000`;
}

/**
 * Databento Live over its raw TCP protocol: a challenge-response login (the key itself never
 * crosses the wire), one subscription for the feed's schema and symbols, `start_session`, then
 * the DBN stream: metadata, symbol mappings, records and heartbeats. Records become events with
 * {@link DbnToEvents} (venue = the dataset), stamped with the local receive time.
 *
 * A dropped or stale connection is reported with `sink.lost`; the engine reconnects on its
 * backoff table. The time the feed was away is a `gap` status on the new connection (the
 * records of that window were not received), so a capture says so.
 */
export class DatabentoFeed implements DataProvider {
  readonly venue: string;
  readonly clock: Clock;
  readonly kinds: readonly SubscriptionKind[] = ['trade', 'quote', 'order', 'bar'];
  /** Records are numbered by their channel's packets: one number for the records of a packet, and a symbol sees some of them. */
  readonly sequencing: SequenceRule = 'monotonic-per-kind';
  readonly validatesEvents = true;
  readonly stats = { connects: 0, records: 0, heartbeats: 0, errors: 0, staleDetections: 0 };
  private readonly host: string;
  private readonly port: number;
  private readonly stale: StaleWatch;
  private socket: Socket | null = null;
  private sink: EventSink | null = null;
  private readonly symbols = new Set<string>();
  private readonly convert: DbnToEvents;
  private readonly symbolMap = new SymbolMap();
  private buffer: Uint8Array = new Uint8Array(0);
  private metadata: DbnMetadata | null = null;
  private lastRecordAt: bigint | null = null;
  private lastRecordRecv = 0n;
  private readonly out: FeedOutput;

  constructor(private readonly options: DatabentoFeedOptions) {
    this.venue = options.dataset;
    this.clock = options.clock ?? new LiveClock();
    const url = new URL(options.url ?? databentoGateway(options.dataset));
    if (url.protocol !== 'tcp:' || url.port === '') {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `databento --url: expected tcp://host:port, found ${options.url ?? ''}`);
    }
    this.host = url.hostname;
    this.port = Number(url.port);
    this.stale = new StaleWatch(this.clock, options.staleMs ?? 90_000);
    this.convert = new DbnToEvents(options.dataset, this.symbolMap);
    this.out = new FeedOutput(this.venue, this.clock, this.symbols, () => this.sink);
  }

  get endpoint(): string {
    return `tcp://${this.host}:${this.port}`;
  }

  instruments(): Iterable<Instrument> {
    const out: Instrument[] = [...this.convert.instruments.values()];
    for (const symbol of this.symbols) {
      if (!this.convert.instruments.has(symbol)) out.push({ venue: this.venue, symbol, priceScale: DBN_PRICE_SCALE, sizeScale: 0 });
    }
    return out;
  }

  connect(sink: EventSink): Promise<void> {
    this.teardown();
    this.sink = sink;
    this.stats.connects++;
    this.buffer = new Uint8Array(0);
    this.metadata = null;
    const socket = tcpConnect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    this.socket = socket;
    const where = `${this.venue} gateway ${this.endpoint}`;
    return new Promise<void>((resolve, reject) => {
      let authed = false;
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        if (this.socket !== socket) return;
        if (authed) return this.onBytes(chunk);
        text += chunk.toString('latin1');
        let nl: number;
        while (!authed && (nl = text.indexOf('\n')) >= 0) {
          const line = text.slice(0, nl);
          text = text.slice(nl + 1);
          const fields = new Map(
            line.split('|').map((kv) => (kv.includes('=') ? [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] : [kv, ''])),
          );
          if (fields.has('cram')) {
            const hash = createHash('sha256')
              .update(`${fields.get('cram')!}|${this.options.key}`)
              .digest('hex');
            socket.write(`auth=${hash}-${this.options.key.slice(-5)}|dataset=${this.options.dataset}|encoding=dbn|ts_out=0|client=mdcap\n`);
          } else if (fields.has('success')) {
            if (fields.get('success') !== '1') {
              this.teardown();
              socket.destroy();
              reject(
                new MdcapError(
                  'MDCAP_ERR_CONNECT_FAILED',
                  `${where}: expected the gateway to accept the API key, found ${fields.get('error') ?? line}`,
                ),
              );
              return;
            }
            authed = true;
            const now = this.out.now();
            this.out.status(ALL_SYMBOLS, 'connected', `${this.endpoint} (session ${fields.get('session_id') ?? '?'})`, now);
            if (this.lastRecordAt !== null) {
              // What the venue sent between the last record received and this new session is lost.
              this.out.status(
                ALL_SYMBOLS,
                'gap',
                `${this.venue}: records after ${nsToIso(this.lastRecordAt)} (venue time of the last one, received here at ${nsToIso(this.lastRecordRecv)}) until this new session at ${nsToIso(now)} were not received`,
                now,
              );
            }
            this.watch(socket);
            resolve();
            if (text.length > 0) this.onBytes(Buffer.from(text, 'latin1'));
          }
        }
      });
      socket.on('error', (error) => {
        if (this.socket !== socket) return;
        if (!authed) {
          this.teardown();
          reject(
            new MdcapError('MDCAP_ERR_CONNECT_FAILED', `${where}: expected a Databento Live gateway, found ${error.message}`, {
              cause: error,
            }),
          );
        }
      });
      socket.on('close', () => {
        if (this.socket !== socket) return;
        this.teardown();
        if (!authed) reject(new MdcapError('MDCAP_ERR_CONNECT_FAILED', `${where}: closed before authentication`));
        else sink.lost(new Error(`${where}: connection closed`));
      });
    });
  }

  subscribe(symbol: string): Promise<void> {
    this.symbols.add(symbol);
    return Promise.resolve();
  }

  unsubscribe(symbol: string): Promise<void> {
    this.symbols.delete(symbol);
    return Promise.resolve();
  }

  ready(): void {
    const socket = this.socket;
    if (socket === null) return;
    const symbols = [...this.symbols];
    // The gateway takes symbols in chunks; 500 per line keeps lines short.
    for (let i = 0; i < symbols.length; i += 500) {
      const last = i + 500 >= symbols.length ? 1 : 0;
      socket.write(
        `schema=${this.options.schema}|stype_in=${this.options.stypeIn ?? 'raw_symbol'}|symbols=${symbols.slice(i, i + 500).join(',')}${this.options.start === undefined ? '' : `|start=${this.options.start}`}|is_last=${last}\n`,
      );
    }
    socket.write('start_session=0\n');
  }

  disconnect(): Promise<void> {
    const socket = this.socket;
    this.teardown();
    this.sink = null;
    socket?.destroy();
    return Promise.resolve();
  }

  /** `await using` support: disconnects at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  /** The DBN stream: metadata first, then whole records as they arrive. */
  private onBytes(chunk: Uint8Array): void {
    const tsRecv = this.out.now();
    this.stale.seen(tsRecv);
    let buf = this.buffer;
    if (buf.length === 0) buf = chunk;
    else {
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      buf = joined;
    }
    let at = 0;
    if (this.metadata === null) {
      if (buf.length < 8) return void (this.buffer = buf);
      const need = 8 + new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(4, true);
      if (buf.length < need) return void (this.buffer = buf);
      try {
        this.metadata = decodeMetadata(buf.subarray(0, need), this.endpoint).metadata;
      } catch (error) {
        this.fail(error);
        return;
      }
      at = need;
    }
    const version = this.metadata.version;
    const tsOut = this.metadata.tsOut;
    while (at + 1 <= buf.length) {
      const length = buf[at]! * 4;
      if (length < 16) return this.fail(new Error(`${this.endpoint}: expected a record length of at least 16 bytes, found ${length}`));
      if (at + length > buf.length) break;
      // Records of a live stream are 8-byte multiples; copy to aligned memory only when needed.
      const r = decodeRecordAt(buf, at, version, tsOut);
      if (typeof r === 'string') {
        this.stats.errors++;
        this.out.status(this.symbolAt(buf, at), 'gap', `${this.venue}: a record could not be read and was skipped: ${r}`, tsRecv);
        at += length;
        continue;
      }
      at += length;
      const rtype = r['rtype'] as number;
      if (rtype === RType.System) {
        if (r['msg'] === 'Heartbeat' || r['code'] === 0) this.stats.heartbeats++;
        continue;
      }
      if (rtype === RType.Error) {
        this.stats.errors++;
        this.out.status(ALL_SYMBOLS, 'gap', `${this.venue} error: ${String(r['err'])}`, tsRecv);
        continue;
      }
      if (this.symbolMap.learn(r)) continue;
      this.stats.records++;
      this.lastRecordAt = r['ts_event'] as bigint;
      this.lastRecordRecv = tsRecv;
      this.convert.convert(r, this.out.push, this.options.schema, tsRecv); // live metadata has no schema: the subscription's
    }
    this.buffer = at === buf.length ? new Uint8Array(0) : buf.slice(at);
  }

  /**
   * The subscribed symbol of the record at `at`, by the instrument id in its header (a record
   * whose type or size is unknown still has the common header), or `*` if it names none.
   */
  private symbolAt(buf: Uint8Array, at: number): string {
    const header = new DataView(buf.buffer, buf.byteOffset + at, 16);
    const symbol = this.symbolMap.symbolOf({ instrument_id: header.getUint32(4, true), ts_event: header.getBigUint64(8, true) });
    return symbol !== null && this.symbols.has(symbol) ? symbol : ALL_SYMBOLS;
  }

  private fail(error: unknown): void {
    const socket = this.socket;
    const sink = this.sink;
    this.teardown();
    socket?.destroy();
    sink?.lost(error);
  }

  /** Stale detection on the injected clock: the gateway sends a heartbeat after each quiet interval. */
  private watch(socket: Socket): void {
    this.stale.start(() => {
      if (this.socket !== socket) return;
      this.stats.staleDetections++;
      this.out.status(ALL_SYMBOLS, 'stale', `${this.venue}: nothing from the gateway for ${this.stale.ms} ms`);
      this.fail(new Error(`${this.venue}: stale connection`));
    });
  }

  private teardown(): void {
    this.stale.stop();
    this.socket = null;
  }
}

/** A Databento Live feed: `new RealtimeEngine(databentoFeed({ key, dataset: 'GLBX.MDP3', schema: 'trades' }))`. */
export function databentoFeed(options: DatabentoFeedOptions): DatabentoFeed {
  return new DatabentoFeed(options);
}
