import type { MarketEvent } from '@mdcap/core';
import { decodeBatch } from '@mdcap/serve';
import { RedisSink, attachSink } from '@mdcap/sinks';
import type { SinkStats } from '@mdcap/sinks';
import { describeWithServers, publishRun, startRedis, waitFor } from '@mdcap/test-utils';
import type { TestServer } from '@mdcap/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';

// The Redis sink against a real redis-server started for this file.

let server: TestServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

/** The simulated venue through an engine with a Redis sink attached: what the sink was handed, and its stats. */
async function run(): Promise<{ events: MarketEvent[]; stats: SinkStats }> {
  const { stream, stats } = await publishRun(new RedisSink({ url: server.url, maxLen: 100_000 }), attachSink, {
    seed: 6,
    durationNs: 2_000_000_000n,
  });
  return { events: stream, stats };
}

function decode(data: Buffer): MarketEvent {
  const items = decodeBatch(data).items;
  expect(items).toHaveLength(1);
  return items[0] as MarketEvent;
}

describeWithServers(['redis'], 'Redis sink: pub/sub per symbol, a stream per venue and kind', () => {
  it('every event reaches its symbol channel and its stream, exactly; a repeated run adds no stream entry', async () => {
    const sub = new Redis(server.url);
    const heard: MarketEvent[] = [];
    sub.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, data: Buffer) => heard.push(decode(data)));
    await sub.psubscribe('md:demo:*');
    try {
      const { events, stats } = await run();
      expect(stats.lastError).toBeNull();
      expect(stats).toMatchObject({ written: events.length, dropped: 0, failures: 0 });
      await waitFor(() => heard.length >= events.length, { what: 'every published event to arrive' });
      expect(heard).toEqual(events);
      const client = new Redis(server.url);
      try {
        const kinds = [...new Set(events.map((e) => e.type))];
        for (const kind of kinds) {
          const entries = await client.xrangeBuffer(`md:demo:${kind}`, '-', '+');
          expect(entries.map(([, fields]) => decode(fields[1]!))).toEqual(events.filter((e) => e.type === kind));
        }
        const lengths = await Promise.all(kinds.map((k) => client.xlen(`md:demo:${k}`)));
        await run(); // the same stream again (a restarted backfill)
        expect(await Promise.all(kinds.map((k) => client.xlen(`md:demo:${k}`)))).toEqual(lengths);
      } finally {
        client.disconnect();
      }
    } finally {
      sub.disconnect();
    }
  });
});
