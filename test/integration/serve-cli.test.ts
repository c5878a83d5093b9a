import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { subscribe } from '@mdcap/serve';
import { mdcap, mdcapServer, recordEvents, simulatedEvents, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `mdcap serve` as a command: what it prints, --stats and --metrics, flags it refuses. */

let root: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  root = tempDir('serve-cli');
  await recordEvents(join(root, 'sim'), await simulatedEvents(3));
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('mdcap serve', () => {
  it('prints where it listens, serves, and at SIGTERM prints --stats (latency per stage) and exits 0', async () => {
    const { child, firstLine } = await mdcapServer([
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--captures',
      root,
      '--stats',
      '1h',
      '--metrics',
      '127.0.0.1:0',
      '--json',
    ]);
    children.push(child);
    const info = JSON.parse(firstLine) as { event: string; address: string; metrics: string };
    expect(info).toMatchObject({ event: 'listening', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    let n = 0;
    for await (const _ of subscribe(info.address, { capture: 'sim' })) n++;
    expect(n).toBeGreaterThan(100);
    const metrics = await (await fetch(`http://${info.metrics}/metrics`)).text();
    expect(metrics).toContain(`mdcap_serve_events_sent_total ${n}`);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stats = JSON.parse(stderr.trim().split('\n').at(-1)!) as {
      event: string;
      eventsSent: number;
      latency: { stage: string; count: number }[];
    };
    expect(stats).toMatchObject({ event: 'stats', eventsSent: n });
    expect(stats.latency.find((s) => s.stage === 'dispatch_to_encoded')!.count).toBe(n);
  });

  it('refuses what it cannot serve, saying so: nothing to serve, a missing captures directory, a port in use', async () => {
    const none = mdcap(['serve']);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/--captures \/ --feed: expected something to serve/);
    const missing = mdcap(['serve', '--captures', join(root, 'nope')]);
    expect(missing.stderr).toMatch(/MDCAP_ERR_CAPTURE_NOT_FOUND/);
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const taken = mdcap(['serve', '--captures', root, '--listen', `127.0.0.1:${port}`]);
      expect(taken.status).not.toBe(0);
      expect(taken.stderr).toMatch(/MDCAP_ERR_ADDRESS/);
    } finally {
      busy.close();
    }
    const tls = mdcap(['serve', '--captures', root, '--tls-cert', 'x.pem']);
    expect(tls.stderr).toMatch(/--tls-cert \/ --tls-key: expected both/);
  });

  it('with a token, a client without it is refused and the server goes on', async () => {
    const { child, firstLine } = await mdcapServer(['serve', '--listen', '127.0.0.1:0', '--captures', root, '--json'], {
      MDCAP_TOKEN: 'tok',
    });
    children.push(child);
    const { address, token } = JSON.parse(firstLine) as { address: string; token: boolean };
    expect(token).toBe(true);
    await expect(
      (async () => {
        for await (const _ of subscribe(address, { capture: 'sim' })) break;
      })(),
    ).rejects.toMatchObject({ code: 'MDCAP_ERR_UNAUTHENTICATED' });
    let n = 0;
    for await (const _ of subscribe(address, { capture: 'sim', token: 'tok' })) n++;
    expect(n).toBeGreaterThan(100);
    await waitFor(() => child.exitCode === null, { what: 'the server to be still running' });
    child.kill('SIGTERM');
  });
});
