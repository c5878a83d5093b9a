import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatEventJson } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { decodeBatch } from '@mdcap/serve';
import { KafkaProvider, NatsProvider, NatsSink, PG_TABLES } from '@mdcap/sinks';
import {
  REPO_ROOT,
  describeWithServers,
  mdcap,
  mdcapAsync,
  startKafkaMock,
  startNats,
  startPostgres,
  startRedis,
  tableEvents,
  tempDir,
  twoVenueTrades,
  waitFor,
} from '@mdcap/test-utils';
import type { TestServer } from '@mdcap/test-utils';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';

/**
 * `mdcap record --sink …` against real servers, and the scale-out over JetStream: the rows and
 * messages downstream equal the capture's events field for field; two processes reading the
 * stream make the same bars; a third records it into a capture equal to the first; a relay
 * killed and restarted writes nothing twice.
 */
const dir = tempDir('sinks');
let postgres: TestServer;
let redis: TestServer;
let nats: TestServer;
beforeAll(async () => {
  [postgres, redis, nats] = await Promise.all([startPostgres(), startRedis(), startNats()]);
}, 120_000);
afterAll(async () => {
  await Promise.all([postgres?.stop(), redis?.stop(), nats?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** A capture's events, as a replay dispatches them. */
async function captureEvents(root: string): Promise<MarketEvent[]> {
  const engine = new RealtimeEngine(ReplayProvider.open(root));
  const out: MarketEvent[] = [];
  engine.onEvent((e) => out.push(e));
  await engine.run(engine.provider instanceof ReplayProvider ? engine.provider.reader.manifest.symbols : []);
  return out;
}

const text = (e: MarketEvent): string => formatEventJson(e);
const sorted = (events: readonly MarketEvent[]): string[] => events.map(text).sort();

/** An engine on the venue's JetStream stream, to its end. */
async function streamEvents(venue: string): Promise<MarketEvent[]> {
  const engine = new RealtimeEngine(new NatsProvider({ url: nats.url, venue, follow: false }));
  const out: MarketEvent[] = [];
  engine.onEvent((e) => out.push(e));
  const symbols = ['AAPL', 'MSFT', 'BTC-USD'];
  await engine.run(symbols);
  return out;
}

/** A process of its own reading the stream with 1 s bars: the hash of its bars, and how many. */
function barsInAnotherProcess(): Promise<{ hash: string; bars: number }> {
  const script = `
    import { formatEventJson } from '@mdcap/core';
    import { RealtimeEngine } from '@mdcap/engine';
    import { NatsProvider } from '@mdcap/sinks';
    const engine = new RealtimeEngine(new NatsProvider({ url: ${JSON.stringify(nats.url)}, venue: 'demo', follow: false }));
    engine.setBarInterval(1);
    engine.onBar((b) => process.stdout.write(formatEventJson(b) + '\\n'));
    await engine.run(['AAPL', 'MSFT', 'BTC-USD']);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: join(REPO_ROOT, 'packages', 'cli') });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolve({ hash: createHash('sha256').update(out).digest('hex'), bars: out.split('\n').length - 1 })
        : reject(new Error(`exit ${code}: ${err}`)),
    );
  });
}

describeWithServers(['postgres', 'redis', 'nats'], 'mdcap record --sink, and scale-out over JetStream', () => {
  const cap = join(dir, 'cap');

  it(
    'records the demo venue into a capture and, as it goes, into PostgreSQL, a Redis Stream and JetStream: each holds the capture, field for field',
    { timeout: 180_000 },
    async () => {
      const run = mdcap(
        [
          'record',
          '--feed',
          'demo',
          '--rate',
          '1500',
          '--gap-every',
          '400',
          '--duration',
          '3s',
          '--out',
          cap,
          '--sink',
          postgres.url,
          '--sink',
          redis.url,
          '--sink',
          nats.url,
          '--json',
        ],
        { timeoutMs: 120_000 },
      );
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const summary = JSON.parse(run.stdout) as { events: number; sinks: { kind: string; written: number; dropped: number }[] };
      expect(summary.sinks.map((s) => [s.kind, s.written, s.dropped])).toEqual([
        ['postgres', summary.events, 0],
        ['redis', summary.events, 0],
        ['nats', summary.events, 0],
      ]);
      const events = await captureEvents(cap);
      expect(events).toHaveLength(summary.events);
      expect(events.some((e) => e.type === 'status' && e.kind === 'gap')).toBe(true);
      // PostgreSQL: one table per kind.
      for (const kind of ['trade', 'quote', 'book', 'status'] as const) {
        expect(sorted(await tableEvents(postgres.url, kind, { tables: PG_TABLES }))).toEqual(sorted(events.filter((e) => e.type === kind)));
      }
      // Redis: a stream per venue and kind, in the capture's order.
      const r = new Redis(redis.url);
      try {
        for (const kind of ['trade', 'quote', 'book', 'status'] as const) {
          const entries = await r.xrangeBuffer(`md:demo:${kind}`, '-', '+');
          expect(entries.map(([, f]) => text(decodeBatch(f[1]!).items[0] as MarketEvent))).toEqual(
            events.filter((e) => e.type === kind).map(text),
          );
        }
      } finally {
        r.disconnect();
      }
      // JetStream: the venue's stream, read by an engine, is the capture's callback stream.
      expect((await streamEvents('demo')).map(text)).toEqual(events.map(text));
    },
  );

  it(
    'two processes reading the stream make the same bars; a third records it into a capture equal to the original',
    { timeout: 180_000 },
    async () => {
      const [a, b] = await Promise.all([barsInAnotherProcess(), barsInAnotherProcess()]);
      expect(a.bars).toBeGreaterThan(3);
      expect(b).toEqual(a);
      const copy = join(dir, 'copy');
      const run = mdcap(['record', '--from', `${nats.url}/demo`, '--no-follow', '--out', copy, '--json'], { timeoutMs: 120_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect((await captureEvents(copy)).map(text)).toEqual((await captureEvents(cap)).map(text));
      // verify finds in the copy exactly what it finds in the original: the same gaps, nothing else.
      const report = (root: string): unknown => {
        const v = mdcap(['verify', root, '--json']);
        return { ...(JSON.parse(v.stdout) as Record<string, unknown>), root: null, status: v.status };
      };
      const original = report(cap);
      expect(original).toMatchObject({
        readable: true,
        gapsRecorded: expect.any(Number) as number,
        gapsUnrecorded: 0,
        duplicates: 0,
        outOfOrder: 0,
      });
      expect(report(copy)).toEqual(original);
    },
  );

  it('a relay killed mid-run and started again writes nothing twice into PostgreSQL or JetStream', { timeout: 180_000 }, async () => {
    const relayDb = postgres.url.replace(/\/postgres$/, '/relay');
    const c = new pg.Client({ connectionString: postgres.url });
    await c.connect();
    await c.query('CREATE DATABASE relay');
    await c.end();
    const original = await captureEvents(cap);
    const streamBefore = (await streamEvents('demo')).length;
    // The relay reads the stream and writes it into PostgreSQL and back onto JetStream (where every
    // message is already: JetStream drops each by its id).
    const args = (out: string): string[] => [
      'record',
      '--from',
      `${nats.url}/demo`,
      '--no-follow',
      '--out',
      out,
      '--sink',
      relayDb,
      '--sink',
      nats.url,
    ];
    const killed = spawn(process.execPath, [join(REPO_ROOT, 'packages', 'cli', 'dist', 'main.js'), ...args(join(dir, 'relay1'))]);
    const rows = async (): Promise<number> => {
      const k = new pg.Client({ connectionString: relayDb });
      await k.connect();
      try {
        return Number((await k.query<{ n: string }>('SELECT count(*) AS n FROM md_book')).rows[0]!.n);
      } catch {
        return 0;
      } finally {
        await k.end();
      }
    };
    await waitFor(async () => (await rows()) > 0, { what: 'the relay to write its first rows', deadlineMs: 60_000 });
    killed.kill('SIGKILL');
    await new Promise((r) => killed.once('exit', r));
    const again = await mdcapAsync(args(join(dir, 'relay2')));
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    for (const kind of ['trade', 'quote', 'book', 'status'] as const) {
      expect(sorted(await tableEvents(relayDb, kind, { tables: PG_TABLES }))).toEqual(sorted(original.filter((e) => e.type === kind)));
    }
    expect((await streamEvents('demo')).length).toBe(streamBefore);
  });

  it(
    "record --from with several venues merges their streams into one capture, in the publisher's order",
    { timeout: 120_000 },
    async () => {
      const trades = twoVenueTrades(900);
      const sink = new NatsSink({ url: nats.url, messages: 'batch', batchEvents: 100 });
      await sink.open();
      for (let i = 0; i < trades.length; i += 300) await sink.write(trades.slice(i, i + 300));
      await sink.close();
      const out = join(dir, 'merged');
      const run = await mdcapAsync(['record', '--from', `${nats.url}/va,vb`, '--no-follow', '--out', out, '--json']);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ feed: 'va+vb', symbols: ['X', 'Y'] });
      expect((await captureEvents(out)).filter((e) => e.type === 'trade').map(text)).toEqual(trades.map(text));
      const v = mdcap(['verify', out, '--json']);
      expect(JSON.parse(v.stdout)).toMatchObject({ readable: true, gapsUnrecorded: 0, duplicates: 0, outOfOrder: 0 });
    },
  );
});

describeWithServers(['kafka'], 'mdcap record --sink kafka:// (librdkafka mock cluster)', () => {
  let kafka: TestServer;
  beforeAll(async () => {
    kafka = await startKafkaMock(['trade', 'quote', 'book', 'order', 'status', 'bar'].map((k) => `e2e.${k}`));
  }, 60_000);
  afterAll(async () => {
    await kafka?.stop();
  });

  it('the topics hold the capture of the same run, field for field, in its order', { timeout: 180_000 }, async () => {
    const cap = join(dir, 'kafka-cap');
    // The mock cannot give an idempotent producer its id (docs/sinks.md), hence idempotent=false.
    const url = `kafka://${kafka.url}`;
    const run = await mdcapAsync([
      'record',
      '--feed',
      'demo',
      '--rate',
      '1000',
      '--gap-every',
      '300',
      '--duration',
      '2s',
      '--out',
      cap,
      '--sink',
      `${url}?prefix=e2e&idempotent=false`,
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout) as { events: number; sinks: { kind: string; written: number; dropped: number }[] };
    expect(summary.sinks.map((s) => [s.kind, s.written, s.dropped])).toEqual([['kafka', summary.events, 0]]);
    const events = await captureEvents(cap);
    expect(events.some((e) => e.type === 'status' && e.kind === 'gap')).toBe(true);
    const provider = new KafkaProvider({ url, venue: 'demo', topicPrefix: 'e2e', follow: false });
    const engine = new RealtimeEngine(provider);
    const read: MarketEvent[] = [];
    engine.onEvent((e) => read.push(e));
    await engine.run(['AAPL', 'MSFT', 'BTC-USD']);
    expect(provider.counts).toMatchObject({ repeats: 0, late: 0 });
    expect(read.map(text)).toEqual(events.map(text));
  });
});
