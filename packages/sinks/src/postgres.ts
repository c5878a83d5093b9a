import { finished } from 'node:stream/promises';
import { MdcapError } from '@mdcap/core';
import type { EventType, MarketEvent } from '@mdcap/core';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EventKeyer } from './keys.js';
import type { EventKey } from './keys.js';
import { CopyBuffer } from './pg-copy.js';
import type { Sink } from './sink.js';
import { redactUrl } from './url.js';

/**
 * One table per kind, every value exact: prices and sizes as `numeric` with the event's own
 * display scale (and the scales in their own columns, so a quote without prices keeps them),
 * nanosecond times and sequence numbers as integers, the event key's `n` beside them. A unique
 * index on the event key (venue, symbol, seq or else ts_recv, n, ts_event) makes a written event
 * impossible to write twice.
 */
interface Column {
  readonly name: string;
  readonly type: string;
  readonly put: (b: CopyBuffer, e: MarketEvent, k: EventKey) => void;
}

type Of<T extends EventType> = Extract<MarketEvent, { type: T }>;

const HEADER: readonly Column[] = [
  { name: 'venue', type: 'text NOT NULL', put: (b, e) => b.text(e.venue) },
  { name: 'symbol', type: 'text NOT NULL', put: (b, e) => b.text(e.symbol) },
  { name: 'ts_event', type: 'bigint NOT NULL', put: (b, e) => b.int8(e.tsEvent) },
  { name: 'ts_recv', type: 'bigint NOT NULL', put: (b, e) => b.int8(e.tsRecv) },
  { name: 'seq', type: 'numeric(20, 0)', put: (b, e) => b.numeric(e.seq) },
  { name: 'n', type: 'integer NOT NULL', put: (b, _e, k) => b.int4(k.n) },
];

function cols<T extends EventType>(list: readonly [string, string, (b: CopyBuffer, e: Of<T>) => void][]): Column[] {
  return list.map(([name, type, put]) => ({ name, type, put: put as unknown as Column['put'] }));
}

type Scaled = { readonly priceScale: number; readonly sizeScale: number };
const SCALES = <T extends EventType>(): [string, string, (b: CopyBuffer, e: Of<T>) => void][] => [
  ['price_scale', 'smallint NOT NULL', (b, e) => b.int2((e as unknown as Scaled).priceScale)],
  ['size_scale', 'smallint NOT NULL', (b, e) => b.int2((e as unknown as Scaled).sizeScale)],
];

export const PG_TABLES: Readonly<Record<EventType, readonly Column[]>> = {
  trade: [
    ...HEADER,
    ...cols<'trade'>([
      ['price', 'numeric NOT NULL', (b, e) => b.numeric(e.price, e.priceScale)],
      ['size', 'numeric NOT NULL', (b, e) => b.numeric(e.size, e.sizeScale)],
      ...SCALES<'trade'>(),
      ['side', 'text NOT NULL', (b, e) => b.text(e.side)],
      ['trade_id', 'text', (b, e) => b.text(e.tradeId)],
    ]),
  ],
  quote: [
    ...HEADER,
    ...cols<'quote'>([
      ['bid_price', 'numeric', (b, e) => b.numeric(e.bidPrice, e.priceScale)],
      ['bid_size', 'numeric NOT NULL', (b, e) => b.numeric(e.bidSize, e.sizeScale)],
      ['ask_price', 'numeric', (b, e) => b.numeric(e.askPrice, e.priceScale)],
      ['ask_size', 'numeric NOT NULL', (b, e) => b.numeric(e.askSize, e.sizeScale)],
      ...SCALES<'quote'>(),
    ]),
  ],
  book: [
    ...HEADER,
    ...cols<'book'>([
      ['side', 'text NOT NULL', (b, e) => b.text(e.side)],
      ['price', 'numeric NOT NULL', (b, e) => b.numeric(e.price, e.priceScale)],
      ['size', 'numeric NOT NULL', (b, e) => b.numeric(e.size, e.sizeScale)],
      ...SCALES<'book'>(),
      ['flags', 'bigint NOT NULL', (b, e) => b.int8(BigInt(e.flags))],
    ]),
  ],
  order: [
    ...HEADER,
    ...cols<'order'>([
      ['action', 'text NOT NULL', (b, e) => b.text(e.action)],
      // Numeric order ids as numbers, others as text: which one it was survives the round trip.
      ['order_id', 'numeric(20, 0)', (b, e) => b.numeric(typeof e.orderId === 'bigint' ? e.orderId : null)],
      ['order_ref', 'text', (b, e) => b.text(typeof e.orderId === 'string' ? e.orderId : null)],
      ['side', 'text NOT NULL', (b, e) => b.text(e.side)],
      ['price', 'numeric NOT NULL', (b, e) => b.numeric(e.price, e.priceScale)],
      ['size', 'numeric NOT NULL', (b, e) => b.numeric(e.size, e.sizeScale)],
      ...SCALES<'order'>(),
      ['flags', 'bigint NOT NULL', (b, e) => b.int8(BigInt(e.flags))],
    ]),
  ],
  bar: [
    ...HEADER,
    ...cols<'bar'>([
      ['interval_s', 'integer NOT NULL', (b, e) => b.int4(e.interval)],
      ['bar_start', 'bigint NOT NULL', (b, e) => b.int8(e.start)],
      ['bar_end', 'bigint NOT NULL', (b, e) => b.int8(e.end)],
      ['open', 'numeric NOT NULL', (b, e) => b.numeric(e.open, e.priceScale)],
      ['high', 'numeric NOT NULL', (b, e) => b.numeric(e.high, e.priceScale)],
      ['low', 'numeric NOT NULL', (b, e) => b.numeric(e.low, e.priceScale)],
      ['close', 'numeric NOT NULL', (b, e) => b.numeric(e.close, e.priceScale)],
      ['volume', 'numeric NOT NULL', (b, e) => b.numeric(e.volume, e.sizeScale)],
      ['trades', 'bigint NOT NULL', (b, e) => b.int8(BigInt(e.trades))],
      ...SCALES<'bar'>(),
      ['flags', 'bigint NOT NULL', (b, e) => b.int8(BigInt(e.flags))],
    ]),
  ],
  status: [
    ...HEADER,
    ...cols<'status'>([
      ['kind', 'text NOT NULL', (b, e) => b.text(e.kind)],
      ['from_seq', 'numeric(20, 0)', (b, e) => b.numeric(e.fromSeq)],
      ['to_seq', 'numeric(20, 0)', (b, e) => b.numeric(e.toSeq)],
      ['ok', 'boolean', (b, e) => b.bool(e.ok)],
      ['detail', 'text NOT NULL', (b, e) => b.text(e.detail)],
    ]),
  ],
};

const KINDS = Object.keys(PG_TABLES) as EventType[];
/** COPY data goes to the server in chunks of about this many bytes. */
const CHUNK_BYTES = 256 * 1024;

interface Mark {
  /** Committed: the last receive time written, and how many events with it were written. */
  ts: bigint;
  count: number;
  /** This stream: the receive time it is at, and how many events with it it has seen. */
  passTs: bigint;
  seen: number;
}

export interface PostgresSinkOptions {
  /** `postgres://user:password@host:port/database` (libpq's variables fill in what it leaves out). */
  readonly url: string;
  /** Prefix of the table names (default `md_`: `md_trade`, `md_quote`, …). */
  readonly tablePrefix?: string;
  /** Schema of the tables (default the connection's search path, usually `public`). */
  readonly schema?: string;
  /**
   * How a batch sent twice (a retry, a restarted backfill) is kept from writing rows twice:
   * - `mark` (default): COPY straight into the tables, and in the same transaction a high-water
   *   mark per source and venue (the last receive time written, and how many events had it) in
   *   `<prefix>sink_marks`; events at or before the mark are skipped. Fast; one writer per source.
   * - `key`: a unique index on the event key, rows through a staging table and `INSERT … ON
   *   CONFLICT DO NOTHING`: also drops the same venue message from two recorders. Slower.
   * - `none`: COPY straight in, nothing checked.
   */
  readonly dedupe?: 'mark' | 'key' | 'none';
  /** Whose high-water marks these are (default `default`): writers of different streams into one database need their own. */
  readonly source?: string;
  /** Make hypertables when the TimescaleDB extension is available (default true). */
  readonly timescale?: boolean;
  /** A connect or statement that takes longer fails (and is retried) (default 10,000 ms). */
  readonly timeoutMs?: number;
}

function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * Writes batches into PostgreSQL with `COPY … FROM STDIN (FORMAT binary)`, one transaction per
 * batch. Creates its tables (and, with TimescaleDB present, hypertables on `ts_event`) on first
 * open; writes are idempotent through a high-water mark (default) or the event key (`dedupe`).
 */
export class PostgresSink implements Sink {
  readonly kind = 'postgres';
  readonly target: string;
  private client: pg.Client | null = null;
  private readonly keyer = new EventKeyer();
  private readonly copy = new CopyBuffer();
  private readonly prefix: string;
  private readonly schema: string | null;
  private readonly dedupe: 'mark' | 'key' | 'none';
  private readonly source: string;
  /** Per venue: the committed mark, and where this stream is at (receive time, events seen with it). */
  private marks = new Map<string, Mark>();
  private readonly timescale: boolean;
  private prepared = false;
  /** True once TimescaleDB made the tables hypertables. */
  hypertables = false;

  constructor(private readonly options: PostgresSinkOptions) {
    this.target = redactUrl(options.url);
    this.prefix = options.tablePrefix ?? 'md_';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(this.prefix)) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `postgres tablePrefix: expected letters, digits and _ (a SQL name), found "${this.prefix}"`,
      );
    }
    this.schema = options.schema ?? null;
    this.dedupe = options.dedupe ?? 'mark';
    this.source = options.source ?? 'default';
    this.timescale = options.timescale ?? true;
  }

  /** The qualified name of a kind's table. */
  table(kind: EventType): string {
    const t = ident(`${this.prefix}${kind}`);
    return this.schema === null ? t : `${ident(this.schema)}.${t}`;
  }

  async open(): Promise<void> {
    if (this.client !== null) return;
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: 'mdcap',
      connectionTimeoutMillis: this.options.timeoutMs ?? 10_000,
      query_timeout: this.options.timeoutMs ?? 10_000,
    });
    client.on('error', () => undefined); // a dropped connection fails the next query, which the runner retries
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    if (!this.prepared) {
      await this.createTables(client);
      this.prepared = true;
    }
    if (this.dedupe === 'mark') {
      const { rows } = await client.query<{ venue: string; ts_recv: string; at_ts: number }>(
        `SELECT venue, ts_recv::text AS ts_recv, at_ts FROM ${this.marksTable()} WHERE source = $1`,
        [this.source],
      );
      // The table's mark wins when it is ahead: a COMMIT can succeed on the server while the
      // client sees the connection fail, and then the retry must skip what was written.
      for (const r of rows) {
        const ts = BigInt(r.ts_recv);
        const m = this.marks.get(r.venue);
        if (m === undefined) this.marks.set(r.venue, { ts, count: r.at_ts, passTs: -1n, seen: 0 });
        else if (ts > m.ts || (ts === m.ts && r.at_ts > m.count)) {
          m.ts = ts;
          m.count = r.at_ts;
        }
      }
    }
    if (this.dedupe === 'key') {
      for (const kind of KINDS) {
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${ident(`stage_${kind}`)} (LIKE ${this.table(kind)}) ON COMMIT DELETE ROWS`);
      }
    }
  }

  private marksTable(): string {
    const t = ident(`${this.prefix}sink_marks`);
    return this.schema === null ? t : `${ident(this.schema)}.${t}`;
  }

  private async createTables(client: pg.Client): Promise<void> {
    const ts =
      this.timescale &&
      (await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).rowCount! > 0 &&
      (await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb').then(
        () => true,
        () => false,
      ));
    if (this.schema !== null) await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(this.schema)}`);
    for (const kind of KINDS) {
      const t = this.table(kind);
      const defs = PG_TABLES[kind].map((c) => `${ident(c.name)} ${c.type}`).join(', ');
      await client.query(`CREATE TABLE IF NOT EXISTS ${t} (${defs})`);
      if (this.dedupe !== 'key') {
        if (ts) await this.hypertable(client, t);
        continue;
      }
      // The event key: `seq` when the venue numbers its messages, else the receive time. Two
      // partial indexes on plain columns (cheaper to keep than one over an expression); both hold
      // ts_event, which a TimescaleDB hypertable needs in every unique index.
      await client.query(
        `CREATE UNIQUE INDEX IF NOT EXISTS ${ident(`${this.prefix}${kind}_seq_key`)} ON ${t} (venue, symbol, seq, n, ts_event) WHERE seq IS NOT NULL`,
      );
      await client.query(
        `CREATE UNIQUE INDEX IF NOT EXISTS ${ident(`${this.prefix}${kind}_recv_key`)} ON ${t} (venue, symbol, ts_recv, n, ts_event) WHERE seq IS NULL`,
      );
      if (ts) await this.hypertable(client, t);
    }
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${this.marksTable()} (source text NOT NULL, venue text NOT NULL, ts_recv bigint NOT NULL, at_ts integer NOT NULL, PRIMARY KEY (source, venue))`,
    );
    this.hypertables = ts;
  }

  private async hypertable(client: pg.Client, table: string): Promise<void> {
    await client.query(
      `SELECT create_hypertable($1, 'ts_event', chunk_time_interval => 86400000000000, if_not_exists => true, migrate_data => true)`,
      [table],
    );
  }

  /** Drops what the high-water marks say was written, and moves the marks over what is kept. */
  private unwritten(batch: readonly MarketEvent[]): MarketEvent[] {
    const out: MarketEvent[] = [];
    for (const e of batch) {
      let m = this.marks.get(e.venue);
      if (m === undefined) this.marks.set(e.venue, (m = { ts: -(2n ** 63n), count: 0, passTs: -1n, seen: 0 }));
      if (e.tsRecv !== m.passTs) {
        m.passTs = e.tsRecv;
        m.seen = 0;
      }
      m.seen++;
      if (e.tsRecv < m.ts || (e.tsRecv === m.ts && m.seen <= m.count)) continue;
      m.ts = e.tsRecv;
      m.count = m.seen;
      out.push(e);
    }
    return out;
  }

  private saveMarks(): Map<string, Mark> {
    return new Map([...this.marks].map(([k, v]) => [k, { ...v }]));
  }

  async write(batch: readonly MarketEvent[]): Promise<void> {
    const client = this.client;
    if (client === null) throw new MdcapError('MDCAP_ERR_SINK_WRITE', `sink postgres (${this.target}): write before open`);
    const checkpoint = this.keyer.checkpoint();
    const marks = this.dedupe === 'mark' ? this.saveMarks() : null;
    try {
      const rows = marks === null ? batch : this.unwritten(batch);
      const byKind = new Map<EventType, MarketEvent[]>();
      for (const e of rows) {
        let l = byKind.get(e.type);
        if (l === undefined) byKind.set(e.type, (l = []));
        l.push(e);
      }
      await client.query('BEGIN');
      for (const [kind, events] of byKind) await this.copyKind(client, kind, events);
      if (marks !== null && rows.length > 0) {
        const venues = [...new Set(rows.map((e) => e.venue))];
        for (const venue of venues) {
          const m = this.marks.get(venue)!;
          await client.query(
            `INSERT INTO ${this.marksTable()} VALUES ($1, $2, $3, $4) ON CONFLICT (source, venue) DO UPDATE SET ts_recv = excluded.ts_recv, at_ts = excluded.at_ts`,
            [this.source, venue, m.ts.toString(), m.count],
          );
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      this.keyer.restore(checkpoint);
      if (marks !== null) this.marks = marks;
      await client.query('ROLLBACK').catch(() => undefined);
      throw new MdcapError(
        'MDCAP_ERR_SINK_WRITE',
        `sink postgres (${this.target}): writing ${batch.length} events failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  private async copyKind(client: pg.Client, kind: EventType, events: readonly MarketEvent[]): Promise<void> {
    const columns = PG_TABLES[kind];
    const b = this.copy;
    const into = this.dedupe === 'key' ? ident(`stage_${kind}`) : this.table(kind);
    const stream = client.query(copyFrom(`COPY ${into} FROM STDIN (FORMAT binary)`));
    const done = finished(stream);
    done.catch(() => undefined); // awaited below; a failure part-way must not go unhandled meanwhile
    b.reset();
    // Sent in chunks as they fill, so the server parses one while the next is encoded.
    for (const e of events) {
      const k = this.keyer.key(e);
      b.row(columns.length);
      for (const c of columns) c.put(b, e, k);
      if (b.size >= CHUNK_BYTES && !stream.write(b.take())) await new Promise((r) => stream.once('drain', r));
    }
    stream.end(Buffer.from(b.finish()));
    await done;
    if (this.dedupe === 'key') await client.query(`INSERT INTO ${this.table(kind)} SELECT * FROM ${into} ON CONFLICT DO NOTHING`);
  }

  async reset(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.reset();
  }
}
