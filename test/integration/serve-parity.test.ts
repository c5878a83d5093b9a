import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { formatEventJson } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { formatSnapshotJson, subscribe } from '@mdcap/serve';
import type { SubscribeOptions } from '@mdcap/serve';
import { SimProvider } from '@mdcap/sim';
import { datasetFile, describeWithDataset, mdcap, mdcapServer, recordEvents, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Acceptance of issue 12, Node side: a subscriber of `mdcap serve` receives, byte for byte in
 * canonical JSON, what `mdcap replay CAP --json` prints — at speed max and at 10x, bars and book
 * snapshots included — on a simulated capture with gaps and resyncs and on real LOBSTER L3 data.
 * (The Python client's parity is clients/python/tests.)
 */

const servers: ChildProcess[] = [];

async function serve(captures: string, ...flags: string[]): Promise<string> {
  const { child, firstLine } = await mdcapServer(['serve', '--listen', '127.0.0.1:0', '--captures', captures, '--json', ...flags]);
  servers.push(child);
  return (JSON.parse(firstLine) as { address: string }).address;
}

afterAll(() => {
  for (const c of servers) c.kill('SIGTERM');
});

async function streamed(address: string, o: SubscribeOptions): Promise<string> {
  const out: string[] = [];
  for await (const e of subscribe(address, o)) out.push(e.type === 'snapshot' ? formatSnapshotJson(e) : formatEventJson(e as MarketEvent));
  return out.map((l) => `${l}\n`).join('');
}

function replayed(cap: string, args: readonly string[]): string {
  const r = mdcap(['replay', cap, '--speed', 'max', '--json', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('mdcap serve ≡ mdcap replay: a simulated capture with gaps and resyncs', () => {
  let root: string;
  let address: string;
  let onMain: string;
  beforeAll(async () => {
    root = tempDir('serve-parity');
    // 20 s of market on the virtual clock: 10x replays it in 2 s.
    const events = await simulatedEvents(20, { faults: { gapEvery: 200 } });
    await recordEvents(join(root, 'sim'), events, { instruments: new SimProvider({ seed: 3 }).instruments() });
    address = await serve(root);
    onMain = await serve(root, '--replay-threads', '0');
  });

  it('the same with replays on the main thread (--replay-threads 0) as on replay workers (the default)', async () => {
    const want = replayed(join(root, 'sim'), ['--bars', '1']);
    expect(await streamed(onMain, { capture: 'sim', bars: [1] })).toBe(want);
  });

  for (const speed of ['max', '10x']) {
    it(`every callback with 1 s and 5 s bars, at ${speed}`, async () => {
      const want = replayed(join(root, 'sim'), ['--bars', '1,5']);
      expect(want).toMatch(/"type":"bar"/);
      expect(want).toMatch(/"kind":"gap"/);
      expect(await streamed(address, { capture: 'sim', speed, bars: [1, 5] })).toBe(want);
    });
  }

  it('book snapshots (depth 5) are the lines of --print top --depth 5', async () => {
    const want = replayed(join(root, 'sim'), ['--print', 'top', '--depth', '5']);
    expect(await streamed(address, { capture: 'sim', kinds: ['snapshot'], depth: 5 })).toBe(want);
  });

  it('symbols and a window, as replay --symbols --from --to selects them', async () => {
    const all = replayed(join(root, 'sim'), ['--print', 'trades']).trim().split('\n');
    const from = (JSON.parse(all[Math.floor(all.length / 4)]!) as { tsRecv: string }).tsRecv;
    const to = (JSON.parse(all[Math.floor(all.length / 2)]!) as { tsRecv: string }).tsRecv;
    const want = replayed(join(root, 'sim'), ['--symbols', 'MSFT,BTC-USD', '--from', from, '--to', to, '--bars', '1']);
    const got = await streamed(address, { capture: 'sim', symbols: ['MSFT', 'BTC-USD'], from: BigInt(from), to: BigInt(to), bars: [1] });
    expect(got).toBe(want);
  });
});

const LOBSTER = 'lobster';
describeWithDataset(LOBSTER, 'mdcap serve ≡ mdcap replay: LOBSTER AAPL (real NASDAQ L3 order flow)', () => {
  let cap: string;
  let address: string;
  beforeAll(async () => {
    const root = tempDir('serve-lobster');
    cap = join(root, 'aapl');
    const imp = mdcap([
      'import',
      'lobster',
      '--messages',
      datasetFile(LOBSTER, 'AAPL_2012-06-21_34200000_57600000_message_10.first999.csv'),
      '--orderbook',
      datasetFile(LOBSTER, 'AAPL_2012-06-21_34200000_57600000_orderbook_10.first999.csv'),
      '--out',
      cap,
    ]);
    expect(imp.status, imp.stderr).toBe(0);
    address = await serve(root);
  });

  it('order updates, trades, statuses and 1 s bars', async () => {
    const want = replayed(cap, ['--bars', '1']);
    expect(want).toMatch(/"type":"order"/);
    expect(await streamed(address, { capture: 'aapl', bars: [1] })).toBe(want);
  });

  it('the top 10 levels after every order event', async () => {
    const want = replayed(cap, ['--print', 'top', '--depth', '10']);
    expect(await streamed(address, { capture: 'aapl', kinds: ['snapshot'], depth: 10 })).toBe(want);
  });
});
