import type { MarketEvent, Status, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { MergedNatsProvider, NatsSink } from '@mdcap/sinks';
import { describeWithServers, startNats, twoVenueTrades as tape, waitFor } from '@mdcap/test-utils';
import type { TestServer } from '@mdcap/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';

// Several venue streams merged into one engine, against a real nats-server started for this file.

let server: TestServer;
beforeAll(async () => {
  server = await startNats();
});
afterAll(async () => {
  await server?.stop();
});

async function publish(prefix: string, events: readonly MarketEvent[], batch = false): Promise<void> {
  const sink = new NatsSink({
    url: server.url,
    streamPrefix: prefix,
    subjectPrefix: prefix.toLowerCase(),
    ...(batch ? { messages: 'batch' as const, batchEvents: 50 } : {}),
  });
  await sink.open();
  try {
    for (let i = 0; i < events.length; i += 200) await sink.write(events.slice(i, i + 200));
  } finally {
    await sink.close();
  }
}

function engineOn(provider: MergedNatsProvider): { engine: RealtimeEngine; trades: Trade[]; statuses: Status[] } {
  const engine = new RealtimeEngine(provider);
  const trades: Trade[] = [];
  const statuses: Status[] = [];
  engine.onTrade((t) => trades.push(t));
  engine.onStatus((s) => statuses.push(s));
  return { engine, trades, statuses };
}

describeWithServers(['nats'], 'MergedNatsProvider: several venue streams into one engine', () => {
  it('rejects fewer than two venues, with what it expected', () => {
    expect(() => new MergedNatsProvider({ url: server.url, venues: ['va'] })).toThrow(/two or more distinct venue names/);
  });

  for (const batch of [false, true]) {
    it(`bounded: the merge gives the publisher's order exactly, ties of receive time included (${batch ? 'batch' : 'event'} messages)`, async () => {
      const prefix = batch ? 'MB' : 'ME';
      const events = tape(600);
      await publish(prefix, events, batch);
      for (let k = 0; k < 2; k++) {
        const provider = await MergedNatsProvider.open({ url: server.url, venues: ['va', 'vb'], streamPrefix: prefix, follow: false });
        expect(provider.venue).toBe('va+vb');
        expect(provider.venueSequencing).toEqual({ va: 'monotonic-per-kind', vb: 'monotonic-per-kind' });
        const { engine, trades, statuses } = engineOn(provider);
        await engine.run(['X', 'Y']);
        expect(trades).toEqual(events);
        expect(statuses.filter((s) => s.kind === 'gap')).toEqual([]);
        expect(provider.counts).toEqual({ delivered: events.length, late: 0 });
      }
    });
  }

  it('following live: events published after the engine started join the merge in order', async () => {
    const events = tape(400);
    await publish('ML', events.slice(0, 200));
    const provider = await MergedNatsProvider.open({ url: server.url, venues: ['va', 'vb'], streamPrefix: 'ML', maxDelayMs: 1_000 });
    const { engine, trades } = engineOn(provider);
    const running = engine.run(['X', 'Y']);
    await waitFor(() => trades.length === 200, { what: 'the first 200 trades through the live merge' });
    await publish('ML', events.slice(200));
    await waitFor(() => trades.length === 400, { what: 'all 400 trades through the live merge' });
    await engine.stop();
    await running;
    expect(trades).toEqual(events);
    expect(provider.counts.late).toBe(0);
  });

  it('following live: an event that reaches the merge after later ones went out becomes a counted gap status, not a re-stamped trade', async () => {
    const early = tape(30, 0).filter((t) => t.venue === 'va');
    const late = tape(30, 0).filter((t) => t.venue === 'vb');
    await publish('MX', early);
    await publish('MX', [late[late.length - 1]!]); // vb's stream exists, and has one event
    const provider = await MergedNatsProvider.open({ url: server.url, venues: ['va', 'vb'], streamPrefix: 'MX', maxDelayMs: 0 });
    const { engine, trades, statuses } = engineOn(provider);
    const running = engine.run(['X', 'Y']);
    const delivered = [...early, late[late.length - 1]!].sort((a, b) => (a.tsRecv < b.tsRecv ? -1 : a.tsRecv > b.tsRecv ? 1 : 0));
    await waitFor(() => trades.length === delivered.length, { what: 'the published trades through the live merge' });
    // vb publishes an event received long before what already went out.
    await publish('MX', [late[0]!]);
    await waitFor(() => provider.counts.late === 1, { what: 'the late event to be counted' });
    await engine.stop();
    await running;
    expect(trades.length).toBe(delivered.length);
    const gap = statuses.find((s) => s.kind === 'gap')!;
    expect(gap).toMatchObject({ venue: 'vb', symbol: late[0]!.symbol, tsRecv: trades[trades.length - 1]!.tsRecv });
    expect(gap.detail).toContain(`received at ${late[0]!.tsRecv}`);
  });
});
