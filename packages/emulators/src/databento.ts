import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { DbnReader, DbnToEvents, encodeMetadata, encodeRecords, RType, SCHEMA_RTYPES, SymbolMap, UNDEF_TIMESTAMP } from '@mdcap/dbn';
import type { DbnMetadata, DbnRecord } from '@mdcap/dbn';

/**
 * A local Databento Live gateway (LSG) over TCP, serving DBN files as a live session would:
 *
 * 1. On connect it greets (`lsg_version=…`) and sends a challenge (`cram=…`).
 * 2. The client answers `auth=<sha256(cram|key) hex>-<last 5 characters of the key>|dataset=…|
 *    encoding=dbn|ts_out=0`; the gateway says `success=1|session_id=…`, or `success=0|error=…`
 *    and closes.
 * 3. The client subscribes (`schema=…|stype_in=raw_symbol|symbols=A,B`, one line per
 *    subscription) and sends `start_session=0`.
 * 4. The gateway streams DBN v3: the metadata (schema none: a live session mixes them), a symbol-mapping
 *    record per symbol, then the files' records of those symbols and schemas on the files'
 *    timeline (scaled by `speed`), and a `Heartbeat` system record after each quiet interval.
 *    An unknown symbol gets an error record.
 *
 * The market goes on without clients: the timeline starts with the first session; a client
 * that reconnects joins it where it is (what it missed is lost, as live). Faults: `drop:N`
 * closes the connection after the N-th data record; `malformed:N` sends a copy of the N-th data
 * record before it with a record type no DBN version has (its header, instrument id included,
 * intact); `reject-auth` refuses the credentials.
 */
export interface DatabentoGatewayOptions {
  /** DBN files (any version, plain or zstd) whose records the gateway serves. */
  readonly files: readonly string[];
  /** The API key the gateway accepts (default: any key of 32 characters). */
  readonly key?: string;
  /** 1 = the recorded timing, 10 = ten times faster, 'max' = as fast as the socket takes them. */
  readonly speed?: number | 'max';
  /** `drop:N`, `malformed:N` (each once), `reject-auth`. */
  readonly faults?: string;
  readonly port?: number;
  /** Seconds of silence before a heartbeat (default 30, Databento's default). */
  readonly heartbeatS?: number;
}

/** A record type no DBN version defines (the `malformed` fault). */
const UNKNOWN_RTYPE = 0xee;

interface Session {
  readonly socket: Socket;
  readonly id: number;
  subscriptions: { schema: string; symbols: string[]; start: bigint | null }[];
  /** Instrument id → symbol, rtypes wanted. */
  wanted: Map<number, Set<number>>;
  streaming: boolean;
  sent: number;
  lastSentAt: number;
}

export class DatabentoGateway {
  readonly stats: { connections: number; sessions: number; recordsSent: number; faultsFired: string[]; timelineDone: boolean } = {
    connections: 0,
    sessions: 0,
    recordsSent: 0,
    faultsFired: [],
    timelineDone: false,
  };
  /** The records of all files, by the time each is known. */
  private readonly timeline: { record: DbnRecord; at: bigint }[] = [];
  /** Raw symbol → instrument id (from the files' mappings). */
  private readonly ids: ReadonlyMap<string, number>;
  private readonly sessions = new Set<Session>();
  private readonly dataset: string;
  private readonly speed: number | 'max';
  private dropAt: number | null = null;
  private malformedAt: number | null = null;
  private rejectAuth = false;
  private nextSession = 1;
  private cursor = 0;
  private startedAt: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private doneWaiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    private readonly options: DatabentoGatewayOptions,
  ) {
    this.speed = options.speed ?? 1;
    const datasets = new Set<string>();
    const symbols = new SymbolMap();
    for (const file of options.files) {
      const reader = new DbnReader(readFileSync(file), { file });
      if (reader.metadata !== null) {
        datasets.add(reader.metadata.dataset);
        symbols.merge(SymbolMap.fromMetadata(reader.metadata));
      }
      for (const record of reader.records()) {
        if (record['rtype'] === RType.SymbolMapping) continue;
        this.timeline.push({ record, at: DbnToEvents.recvOf(record) });
      }
    }
    this.ids = symbols.idsBySymbol();
    this.timeline.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    this.dataset = [...datasets][0] ?? 'GLBX.MDP3';
    for (const f of (options.faults ?? '').split(',').filter((x) => x !== '')) {
      if (f === 'reject-auth') this.rejectAuth = true;
      else if (/^drop:\d+$/.test(f)) this.dropAt = Number(f.slice(5));
      else if (/^malformed:\d+$/.test(f)) this.malformedAt = Number(f.slice(10));
      else throw new Error(`databento gateway faults: expected drop:N, malformed:N or reject-auth, found ${f}`);
    }
  }

  static async start(options: DatabentoGatewayOptions): Promise<DatabentoGateway> {
    const server = createServer();
    const gw = new DatabentoGateway(server, options);
    server.on('connection', (socket) => gw.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    gw.heartbeat = setInterval(() => gw.beat(), 250);
    gw.heartbeat.unref();
    return gw;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** `tcp://127.0.0.1:PORT`: what `mdcap record --feed databento --url` takes. */
  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** The raw symbols the gateway can serve. */
  symbolList(): string[] {
    return [...this.ids.keys()].sort();
  }

  /** Resolves once every record of the timeline was due (sent to whoever was streaming). */
  done(): Promise<void> {
    if (this.stats.timelineDone) return Promise.resolve();
    return new Promise((resolve) => this.doneWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    for (const s of this.sessions) s.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** `await using` support: closes the server at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private accept(socket: Socket): void {
    this.stats.connections++;
    socket.setNoDelay(true);
    const cram = randomBytes(24).toString('base64url').slice(0, 32);
    socket.write(`lsg_version=0.0.0-mdcap\ncram=${cram}\n`);
    let text = '';
    let session: Session | null = null;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (session !== null) this.sessions.delete(session);
    });
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        // `key=value|key=value`; a bare `start_session` (Rust and C++ clients) has no value.
        const fields = new Map(
          line.split('|').map((kv) => (kv.includes('=') ? [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] : [kv, ''])),
        );
        if (session === null) {
          if (!fields.has('auth')) continue;
          const ok = this.checkAuth(cram, fields.get('auth')!) && !this.rejectAuth;
          if (!ok) {
            if (this.rejectAuth) this.stats.faultsFired.push('reject-auth');
            socket.end('success=0|error=Authentication failed.\n');
            return;
          }
          session = {
            socket,
            id: this.nextSession++,
            subscriptions: [],
            wanted: new Map(),
            streaming: false,
            sent: 0,
            lastSentAt: Date.now(),
          };
          socket.write(`success=1|session_id=${session.id}\n`);
          continue;
        }
        if (fields.has('schema')) {
          session.subscriptions.push({
            schema: fields.get('schema')!,
            symbols: (fields.get('symbols') ?? '').split(',').filter((s) => s !== ''),
            start: fields.has('start') ? BigInt(fields.get('start')!) : null,
          });
        } else if (fields.has('start_session')) {
          this.startSession(session);
        }
      }
    });
  }

  private checkAuth(cram: string, auth: string): boolean {
    const dash = auth.lastIndexOf('-');
    const hash = auth.slice(0, dash);
    const bucket = auth.slice(dash + 1);
    const keys = this.options.key === undefined ? null : [this.options.key];
    if (keys === null) return hash.length === 64 && bucket.length === 5; // any well-formed answer
    return keys.some((k) => createHash('sha256').update(`${cram}|${k}`).digest('hex') === hash && k.slice(-5) === bucket);
  }

  private startSession(s: Session): void {
    this.stats.sessions++;
    const first = this.timeline[Math.min(this.cursor, this.timeline.length - 1)]?.at ?? 0n;
    const metadata: DbnMetadata = {
      version: 3,
      dataset: this.dataset,
      schema: null, // a live session mixes schemas (0xFFFF)
      start: first,
      end: null,
      limit: 0n,
      stypeIn: null,
      stypeOut: 'instrument_id',
      tsOut: false,
      symbolCstrLen: 71,
      symbols: [],
      partial: [],
      notFound: [],
      mappings: [],
    };
    const head: DbnRecord[] = [];
    for (const sub of s.subscriptions) {
      const rtypes = SCHEMA_RTYPES[sub.schema];
      for (const symbol of sub.symbols) {
        const id = this.ids.get(symbol);
        if (id === undefined || rtypes === undefined) {
          head.push({
            rtype: RType.Error,
            publisher_id: 0,
            instrument_id: 0,
            ts_event: first,
            err: rtypes === undefined ? `Unknown schema: ${sub.schema}` : `Failed to resolve symbol: ${symbol}`,
            code: 2,
            is_last: 1,
          });
          continue;
        }
        const set = s.wanted.get(id) ?? new Set<number>();
        for (const t of rtypes) set.add(t);
        s.wanted.set(id, set);
        head.push({
          rtype: RType.SymbolMapping,
          publisher_id: 0,
          instrument_id: id,
          ts_event: first,
          stype_in: 1,
          stype_in_symbol: symbol,
          stype_out: 0,
          stype_out_symbol: symbol,
          start_ts: UNDEF_TIMESTAMP,
          end_ts: UNDEF_TIMESTAMP,
        });
      }
    }
    s.socket.write(encodeMetadata(metadata));
    s.socket.write(encodeRecords(head, 3));
    // Intraday replay: what the timeline already passed, from `start` on, before going live.
    const starts = s.subscriptions.map((x) => x.start).filter((x): x is bigint => x !== null);
    if (starts.length > 0) {
      const from = starts.reduce((a, b) => (a < b ? a : b));
      const replay = this.timeline
        .slice(0, this.cursor)
        .filter(
          (item) => item.at >= from && s.wanted.get(item.record['instrument_id'] as number)?.has(item.record['rtype'] as number) === true,
        )
        .map((item) => item.record);
      replay.push({ rtype: RType.System, publisher_id: 0, instrument_id: 0, ts_event: first, msg: 'Finished replay', code: 3 });
      s.socket.write(encodeRecords(replay, 3));
    }
    s.streaming = true;
    s.lastSentAt = Date.now();
    this.sessions.add(s);
    if (this.startedAt === null) {
      this.startedAt = Date.now();
      this.schedule();
    }
  }

  /** Sends every record now due, then sleeps until the next one. */
  private schedule(): void {
    this.timer = null;
    const t0 = this.timeline[0]?.at ?? 0n;
    const elapsedMs = Date.now() - this.startedAt!;
    while (this.cursor < this.timeline.length) {
      const item = this.timeline[this.cursor]!;
      const dueMs = this.speed === 'max' ? 0 : Number(item.at - t0) / 1e6 / this.speed;
      if (dueMs > elapsedMs) {
        this.timer = setTimeout(() => this.schedule(), Math.max(1, Math.ceil(dueMs - elapsedMs)));
        return;
      }
      this.cursor++;
      this.send(item.record);
      if (this.speed === 'max' && (this.cursor & 1023) === 0) {
        this.timer = setTimeout(() => this.schedule(), 0); // let the sockets drain
        return;
      }
    }
    this.stats.timelineDone = true;
    for (const w of this.doneWaiters.splice(0)) w();
  }

  private send(r: DbnRecord): void {
    const id = r['instrument_id'] as number;
    const rtype = r['rtype'] as number;
    let bytes: Uint8Array | null = null;
    for (const s of this.sessions) {
      if (!s.streaming || s.wanted.get(id)?.has(rtype) !== true) continue;
      bytes ??= encodeRecords([r], 3);
      if (this.malformedAt !== null && s.sent + 1 === this.malformedAt) {
        this.stats.faultsFired.push(`malformed:${this.malformedAt}`);
        this.malformedAt = null;
        const bad = bytes.slice();
        bad[1] = UNKNOWN_RTYPE;
        s.socket.write(bad);
      }
      s.socket.write(bytes);
      s.sent++;
      s.lastSentAt = Date.now();
      this.stats.recordsSent++;
      if (this.dropAt !== null && s.sent === this.dropAt) {
        this.dropAt = null;
        this.stats.faultsFired.push('drop');
        this.sessions.delete(s);
        s.socket.destroy();
      }
    }
  }

  private beat(): void {
    const quietMs = (this.options.heartbeatS ?? 30) * 1000;
    const now = Date.now();
    for (const s of this.sessions) {
      if (!s.streaming || now - s.lastSentAt < quietMs) continue;
      s.lastSentAt = now;
      const ts = BigInt(now) * 1_000_000n;
      s.socket.write(
        encodeRecords([{ rtype: RType.System, publisher_id: 0, instrument_id: 0, ts_event: ts, msg: 'Heartbeat', code: 0 }], 3),
      );
    }
  }
}
