import { execFileSync } from 'node:child_process';
import { ALL_SYMBOLS, VirtualClock, formatDecimal } from '@mdcap/core';
import type { EventType, MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { SimProvider } from '@mdcap/sim';
import { CopyBuffer, PG_TABLES, PostgresSink, attachSink } from '@mdcap/sinks';
import type { SinkHandle, SinkStats } from '@mdcap/sinks';
import { SIM_SYMBOLS, describeWithServers, publishRun, startPostgres, tableEvents, waitFor } from '@mdcap/test-utils';
import type { TestServer } from '@mdcap/test-utils';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, expect, it } from 'vitest';

// The PostgreSQL sink against a real server (a fresh cluster per file, on a random port).

let server: TestServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

function psql(sql: string): string {
  return execFileSync('psql', [server.url, '-XAtc', sql], { encoding: 'utf8' }).trim();
}

/** Reads a kind's table back as events, in the order they were written. */
function readBack(client: pg.Client, kind: EventType, prefix = 'md_'): Promise<MarketEvent[]> {
  return tableEvents(client, kind, {
    tables: PG_TABLES,
    prefix,
    onScale: (actual, expected) => expect(actual).toBe(expected), // the display scale is the event's own
  });
}

/** The simulated venue through an engine with a PostgreSQL sink attached: what the sink was handed, and its stats. */
async function simRun(
  sinkUrl: string,
  options: { prefix?: string; closeAttempts?: number; onEngine?: (e: RealtimeEngine, sink: SinkHandle) => void } = {},
): Promise<{ events: MarketEvent[]; stats: SinkStats }> {
  const sink = new PostgresSink({ url: sinkUrl, ...(options.prefix === undefined ? {} : { tablePrefix: options.prefix }) });
  const { stream, stats } = await publishRun(sink, attachSink, {
    seed: 5,
    durationNs: 4_000_000_000n,
    gapEvery: 300,
    barIntervals: [1, 2],
    maxEvents: 2_000,
    closeAttempts: options.closeAttempts,
    onEngine: options.onEngine,
  });
  return { events: stream, stats };
}

/** Rows of a table come back in no promised order: compare as sorted lists. */
function sorted(events: readonly MarketEvent[]): MarketEvent[] {
  const text = (e: MarketEvent): string =>
    JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString().padStart(24, '0') : v));
  return [...events].sort((a, b) =>
    a.tsRecv < b.tsRecv ? -1 : a.tsRecv > b.tsRecv ? 1 : text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0,
  );
}

const kindsOf = (events: readonly MarketEvent[]): EventType[] => [...new Set(events.map((e) => e.type))];

describeWithServers(['postgres'], 'PostgreSQL sink (binary COPY)', () => {
  it('numeric values cross binary COPY exactly, with their own display scale', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await client.query('CREATE TEMP TABLE n (m numeric, s int)');
      const cases: [bigint, number][] = [
        [0n, 0],
        [0n, 4],
        [1n, 0],
        [-1n, 0],
        [1n, 8],
        [-1n, 8],
        [10_000n, 0],
        [9_999n, 4],
        [123_456_789n, 3],
        [-50n, 2],
        [18_446_744_073_709_551_615n, 0],
        [-9_223_372_036_854_775_808n, 18],
        [100_000_000n, 8],
        [12_345n, 9],
        [1_000_000_000_000n, 4],
      ];
      const b = new CopyBuffer(16); // small: it must grow
      for (const [m, s] of cases) {
        b.row(2);
        b.numeric(m, s);
        b.int4(s);
      }
      const stream = client.query(copyFrom('COPY n FROM STDIN (FORMAT binary)'));
      await new Promise<void>((ok, fail) => {
        stream.on('finish', ok);
        stream.on('error', fail);
        stream.end(b.finish());
      });
      const { rows } = await client.query<{ m: string }>('SELECT m::text AS m FROM n ORDER BY ctid');
      expect(rows.map((r) => r.m)).toEqual(cases.map(([m, s]) => formatDecimal(m, s)));
    } finally {
      await client.end();
    }
  });

  it('writes every event of a run into its kind table, field for field; a second run of the same stream adds no row', async () => {
    const { events, stats } = await simRun(server.url);
    expect(stats).toMatchObject({ written: events.length, dropped: 0, failures: 0, gaps: 0, pending: 0 });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      for (const kind of kindsOf(events)) {
        const want = events.filter((e) => e.type === kind);
        expect(sorted(await readBack(client, kind))).toEqual(sorted(want));
      }
      expect(events.some((e) => e.type === 'status' && e.kind === 'gap')).toBe(true);
      expect(kindsOf(events).sort()).toEqual(['bar', 'book', 'quote', 'status', 'trade']);
      // The same stream again (a restarted backfill): every event is already there.
      const again = await simRun(server.url);
      expect(again.events).toEqual(events);
      for (const kind of kindsOf(events)) {
        expect(Number(psql(`select count(*) from md_${kind}`))).toBe(events.filter((e) => e.type === kind).length);
      }
    } finally {
      await client.end();
    }
  });

  it.each(['mark', 'key'] as const)(
    'order updates keep numeric and text order ids apart, and a batch written twice is stored once (dedupe %s)',
    async (dedupe) => {
      const base = { venue: 'XNAS', symbol: 'AAPL', tsEvent: 1n, tsRecv: 2n, side: 'bid', priceScale: 4, sizeScale: 0, flags: 8 } as const;
      const orders: MarketEvent[] = [
        { type: 'order', ...base, seq: 10n, action: 'add', orderId: 18_446_744_073_709_551_615n, price: 1_234_500n, size: 100n },
        { type: 'order', ...base, seq: 10n, action: 'add', orderId: '0x1f-ab', price: -5n, size: 0n },
        { type: 'order', ...base, seq: null, action: 'clear', orderId: 0n, price: 0n, size: 0n },
      ];
      const sink = new PostgresSink({ url: server.url, tablePrefix: `l3${dedupe}_`, dedupe });
      await sink.open();
      await sink.write(orders);
      await sink.reset();
      // A fresh sink (a restarted writer) sending the same batch: nothing new.
      const again = new PostgresSink({ url: server.url, tablePrefix: `l3${dedupe}_`, dedupe });
      await again.open();
      await again.write(orders);
      await again.close();
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        expect(sorted(await readBack(client, 'order', `l3${dedupe}_`))).toEqual(sorted(orders));
      } finally {
        await client.end();
      }
      expect(psql(`select n from l3${dedupe}_order order by n, order_ref nulls first`)).toBe('0\n0\n1');
    },
  );

  it('a server that goes down mid-run: the sink retries, catches up when it is back, and writes nothing twice', async () => {
    let downAt = -1;
    const { events, stats } = await simRun(server.url, {
      prefix: 'outage_',
      // The run can end before the server is back (a loaded machine restarts PostgreSQL slowly):
      // the sink then goes on retrying at close, not giving up after the default few attempts.
      closeAttempts: 1_000,
      onEngine: (engine, sink) => {
        let n = 0;
        let held = false;
        engine.onEvent(() => {
          if (++n !== 3_000 || held) return;
          held = true;
          downAt = n;
          // Hold the replay while the server is away, so the outage surely falls mid-run.
          engine.pause();
          void server.down().then(async () => {
            engine.resume();
            await waitFor(() => sink.stats().failures > 0, { what: 'a write to fail against the stopped server' });
            await server.up();
          });
        });
      },
    });
    expect(downAt).toBe(3_000);
    expect(stats.failures).toBeGreaterThan(0);
    expect(stats).toMatchObject({ written: events.length, dropped: 0, gaps: 0 });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      for (const kind of kindsOf(events))
        expect(sorted(await readBack(client, kind, 'outage_'))).toEqual(sorted(events.filter((e) => e.type === kind)));
    } finally {
      await client.end();
    }
  });

  it('drops with a counted gap when its queue is full and the server stays down', async () => {
    const sim = new SimProvider({ seed: 9, clock: new VirtualClock(), durationNs: 2_000_000_000n, packetsPerSecond: 1_000 });
    const engine = new RealtimeEngine(sim);
    const events: MarketEvent[] = [];
    engine.onEvent((e) => events.push(e));
    const sink = attachSink(engine, new PostgresSink({ url: `postgres://mdcap@127.0.0.1:1/postgres`, timeoutMs: 500 }), {
      maxEvents: 100,
      maxPending: 2,
      closeAttempts: 1,
      retryDelaysMs: [1],
    });
    await engine.run(SIM_SYMBOLS);
    const stats = await sink.close();
    expect(stats.written).toBe(0);
    expect(stats.dropped).toBe(events.length);
    expect(stats.failures).toBeGreaterThan(0);
    expect(stats.lastError).toMatch(/sink postgres \(postgres:\/\/mdcap@127\.0\.0\.1:1\/postgres\): .*ECONNREFUSED/);
    expect(ALL_SYMBOLS).toBe('*');
  });
});
