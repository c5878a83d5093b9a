import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { describeWithServers, startKafkaMock, startNats, startPostgres, startRedis, waitFor } from '@mdcap/test-utils';
import type { TestServer } from '@mdcap/test-utils';
import { expect, it } from 'vitest';

// The servers the sink and scale-out tests start (issue 13): each on a random port of
// 127.0.0.1, in its own temp dir, answering its own protocol, and gone when stopped.

/** Sends `request` (if any) and resolves with what the server wrote until `done` says it is enough. */
function exchange(server: TestServer, request: Buffer | null, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: server.host, port: server.port });
    let text = '';
    sock.on('connect', () => {
      if (request !== null) sock.write(request);
    });
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (done(text)) {
        sock.destroy();
        resolve(text);
      }
    });
    sock.on('error', reject);
  });
}

async function gone(server: TestServer): Promise<void> {
  await server.stop();
  expect(existsSync(server.dir)).toBe(false);
  // Nothing listens on the port any more, and the process is gone.
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = createConnection({ host: server.host, port: server.port });
        s.on('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.on('error', () => resolve(true));
      }),
    { what: `${server.kind} to stop listening on ${server.port}` },
  );
  expect(() => process.kill(server.pid, 0)).toThrow();
}

describeWithServers(['redis'], 'test servers: redis-server', () => {
  it('answers PING on its own port, not 6379, and is gone when stopped', async () => {
    const redis = await startRedis();
    expect(redis.port).not.toBe(6379);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await exchange(redis, Buffer.from('*1\r\n$4\r\nPING\r\n'), (t) => t.includes('\r\n'))).toBe('+PONG\r\n');
    await gone(redis);
  });
});

describeWithServers(['nats'], 'test servers: nats-server with JetStream', () => {
  it('greets with INFO saying JetStream is on, and is gone when stopped', async () => {
    const nats = await startNats();
    expect(nats.port).not.toBe(4222);
    const info = await exchange(nats, null, (t) => t.includes('\r\n'));
    expect(info.startsWith('INFO ')).toBe(true);
    expect(JSON.parse(info.slice(5).trim())).toMatchObject({ jetstream: true, host: '127.0.0.1', port: nats.port });
    await gone(nats);
  });
});

describeWithServers(['postgres'], 'test servers: PostgreSQL', () => {
  it('a fresh cluster answers SQL as user mdcap on its own port, and is gone when stopped', async () => {
    await using pg = await startPostgres();
    expect(pg.port).not.toBe(5432);
    const out = execFileSync('psql', [pg.url, '-XAtc', 'select current_user, version()'], { encoding: 'utf8' });
    expect(out).toMatch(/^mdcap\|PostgreSQL \d+/);
    await gone(pg);
  });
});

describeWithServers(['kafka'], "test servers: librdkafka's mock Kafka cluster", () => {
  it('answers a Kafka ApiVersions request on the bootstrap port, and is gone when stopped', async () => {
    const kafka = await startKafkaMock(['md.trades']);
    expect(kafka.url).toBe(`127.0.0.1:${kafka.port}`);
    // ApiVersions v0: size, api_key 18, version 0, correlation id 7, client id "t".
    const req = Buffer.from([0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 7, 0, 1, 0x74]);
    const reply = Buffer.from(
      await exchange(kafka, req, (t) => t.length >= 4 && t.length >= 4 + Buffer.from(t, 'latin1').readUInt32BE(0)),
      'latin1',
    );
    expect(reply.readInt32BE(4)).toBe(7); // our correlation id
    expect(reply.readInt16BE(8)).toBe(0); // no error
    expect(reply.readInt32BE(10)).toBeGreaterThan(10); // the API keys it serves
    await gone(kafka);
  });
});
