import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { recordEvents, simulatedEvents, tempDir, waitFor } from '@mdcap/test-utils';
import { Bounded, parseClientMessage, ReplayViewSession, seriesKey, ViewServer } from '@mdcap/view';
import type { ServerMessage } from '@mdcap/view-app';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/** A page's side of the WebSocket, in Node: every message it was sent. */
async function page(server: ViewServer, origin?: string): Promise<{ ws: WebSocket; got: ServerMessage[] }> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}ws`, origin === undefined ? {} : { origin });
  const got: ServerMessage[] = [];
  ws.on('message', (d: Buffer) => got.push(JSON.parse(d.toString()) as ServerMessage));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, got };
}

const of = <T extends ServerMessage['type']>(got: ServerMessage[], type: T): Extract<ServerMessage, { type: T }>[] =>
  got.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);

async function capture(): Promise<string> {
  const dir = join(tempDir('view-server'), 'cap');
  await recordEvents(dir, await simulatedEvents(120, { packetsPerSecond: 50, faults: { gapEvery: 200 } }), { feed: 'demo' });
  return dir;
}

/** Sends raw bytes to the server and resolves with the start of its answer. */
function rawRequest(port: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= 12) socket.destroy();
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

function assets(): string {
  const dir = join(tempDir('view-assets'), 'app');
  mkdirSync(dir);
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'app.js'), 'export {};');
  return dir;
}

describe('Bounded', () => {
  it('keeps the newest items and counts the trimmed ones', () => {
    const b = new Bounded<number>(3);
    for (let i = 1; i <= 7; i++) b.push(i);
    expect(b.total).toBe(7);
    expect(b.trimmed).toBe(4);
    expect(b.since(0)).toEqual([5, 6, 7]);
    expect(b.since(5)).toEqual([6, 7]);
    expect(b.since(5, 1)).toEqual([7]);
    expect(b.since(7)).toEqual([]);
    expect(b.delta(-1)).toEqual({ reset: true, items: [5, 6, 7] });
    expect(b.delta(2)).toEqual({ reset: true, items: [5, 6, 7] }); // item 3 and 4 were trimmed before it looked
    expect(b.delta(5)).toEqual({ reset: false, items: [6, 7] });
    expect(b.delta(7)).toBeNull();
  });
});

describe('parseClientMessage', () => {
  it.each([
    [null, /found a binary frame/],
    ['{', /found text that is not JSON/],
    ['[1]', /expected a JSON object/],
    ['{"type":"explode"}', /found type "explode"/],
    ['{"type":"toString"}', /found type "toString"/],
    [
      '{"type":"subscribe","venue":"demo","symbol":"AAPL","interval":"60"}',
      /expected interval as a positive integer of seconds, found "60"/,
    ],
    ['{"type":"seek"}', /expected to as a non-empty string, found undefined/],
  ])('refuses %s with MDCAP_ERR_VIEW_REQUEST', (text, message) => {
    expect(() => parseClientMessage(text)).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_VIEW_REQUEST', message: expect.stringMatching(message) }),
    );
  });
});

describe('ViewServer', () => {
  it('serves the page and nothing else, and refuses a WebSocket from another origin', async () => {
    await using server = await ViewServer.start({ session: new ReplayViewSession({ dirs: [await capture()] }), assetsDir: assets() });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await fetch(server.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${server.url}app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    expect((await fetch(`${server.url}nope.js`)).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST', body: 'x' })).status).toBe(405);
    await expect(page(server, 'http://evil.example')).rejects.toThrow(/403/);
    // A name rebound to 127.0.0.1 (DNS rebinding) sends its own Host: refused, Origin or not.
    const port = new URL(server.url).port;
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13';
    expect(await rawRequest(port, `GET /ws HTTP/1.1\r\nHost: evil.example:${port}\r\n${upgrade}\r\n\r\n`)).toMatch(/^HTTP\/1.1 403/);
    // A request target that is no URL (`//[`) is answered, and the server goes on.
    expect(await rawRequest(port, `GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1.1 404/);
    expect(await rawRequest(port, `GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${upgrade}\r\n\r\n`)).toMatch(/^HTTP\/1.1 403/);
    expect((await fetch(server.url)).status).toBe(200);
    const ok = await page(server, server.url.slice(0, -1));
    ok.ws.close();
  });

  it('answers bad messages with their code and goes on serving', async () => {
    await using server = await ViewServer.start({ session: new ReplayViewSession({ dirs: [await capture()] }), assetsDir: assets() });
    const p = await page(server);
    await waitFor(() => of(p.got, 'hello').length === 1, { what: 'hello' });
    p.ws.send('not json');
    p.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    p.ws.send(JSON.stringify({ type: 'subscribe', venue: 'demo', symbol: 'NOPE', interval: 60 }));
    p.ws.send(JSON.stringify({ type: 'subscribe', venue: 'demo', symbol: 'AAPL', interval: 7 }));
    p.ws.send(JSON.stringify({ type: 'speed', speed: 'fast' }));
    p.ws.send(JSON.stringify({ type: 'seek', to: '1970-01-01T00:00:00Z' }));
    await waitFor(() => of(p.got, 'error').length === 6, { what: 'six errors', state: () => JSON.stringify(of(p.got, 'error')) });
    expect(of(p.got, 'error').map((e) => e.code)).toEqual([
      'MDCAP_ERR_VIEW_REQUEST',
      'MDCAP_ERR_VIEW_REQUEST',
      'MDCAP_ERR_UNKNOWN_SYMBOL',
      'MDCAP_ERR_INVALID_OPTION',
      'MDCAP_ERR_INVALID_OPTION',
      'MDCAP_ERR_REPLAY_RANGE',
    ]);
    // Still serving: a good subscription and Play run the replay to its end.
    p.ws.send(JSON.stringify({ type: 'subscribe', venue: 'demo', symbol: 'AAPL', interval: 60 }));
    p.ws.send(JSON.stringify({ type: 'play' }));
    await waitFor(() => of(p.got, 'state').some((s) => s.state === 'ended'), { what: 'the end' });
    await waitFor(() => of(p.got, 'bars').some((b) => b.bars.length > 0), { what: 'bars' });
    p.ws.close();
  });

  it('trims what it keeps past its limits and says how much, the same to every page', async () => {
    const session = new ReplayViewSession({ dirs: [await capture()], intervals: [1], limits: { bars: 5, statuses: 4, tape: 3, depth: 2 } });
    await using server = await ViewServer.start({ session, assetsDir: assets() });
    session.play();
    await waitFor(() => session.state === 'ended', { what: 'the end of the replay' });
    const pages = [await page(server), await page(server)];
    for (const p of pages) p.ws.send(JSON.stringify({ type: 'subscribe', venue: 'demo', symbol: 'AAPL', interval: 1 }));
    for (const p of pages)
      await waitFor(() => of(p.got, 'bars').length > 0 && of(p.got, 'statuses').length > 0, { what: 'bars and statuses' });
    const [a, b] = pages.map((p) => ({ bars: of(p.got, 'bars')[0]!, statuses: of(p.got, 'statuses')[0]!, book: of(p.got, 'book')[0] }));
    expect(a).toEqual(b);
    expect(a!.bars.reset).toBe(true);
    expect(a!.bars.bars).toHaveLength(5);
    expect(a!.bars.trimmed).toBe(session.collector.series.get(seriesKey('demo', 'AAPL', 1))!.total - 5);
    expect(a!.statuses.statuses).toHaveLength(4);
    expect(a!.statuses.trimmed).toBeGreaterThan(0);
    expect(a!.book?.bids.length).toBeLessThanOrEqual(2);
    for (const p of pages) p.ws.close();
  });
});
