import { createTrade, PauseGate, streamProvider, toDataProvider, VirtualClock } from '@mdcap/core';
import type { EventSink, MarketEvent } from '@mdcap/core';
import { describe, expect, it } from 'vitest';

const T = 1_704_205_800_000_000_000n;
const trade = (symbol: string, i: number): MarketEvent =>
  createTrade({
    venue: 'v',
    symbol,
    tsEvent: T + BigInt(i),
    tsRecv: T + BigInt(i),
    price: BigInt(i),
    size: 1n,
    priceScale: 0,
    sizeScale: 0,
  });

function recordingSink() {
  const got: MarketEvent[] = [];
  let ended: unknown = 'no';
  const sink: EventSink = { push: (e) => void got.push(e), lost: () => {}, end: (error) => (ended = error) };
  return { got, sink, ended: () => ended };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('streamProvider', () => {
  it('filters by subscription, pauses, and ends; the clock is left to the engine', async () => {
    const events = Array.from({ length: 10 }, (_, i) => trade(i % 2 === 0 ? 'A' : 'B', i));
    const p = streamProvider({ events: () => events }, { yieldEvery: 2 });
    const r = recordingSink();
    await p.connect(r.sink);
    await p.subscribe('A', ['trade']);
    p.pause!();
    p.ready!();
    await turn();
    await turn();
    expect(r.got).toEqual([]);
    p.resume!();
    for (let i = 0; i < 10; i++) await turn();
    expect(r.got.map((e) => e.tsRecv - T)).toEqual([0n, 2n, 4n, 6n, 8n]);
    expect(r.ended()).toBeUndefined();
    // The engine moves the virtual clock to each event it accepts; the adapter does not, so a
    // malformed or out-of-order event can never move time.
    expect(p.clock.kind).toBe('virtual');
    expect(p.clock.now()).toBe(0n);
  });

  it('a new connection reads the source from its start, with fresh subscriptions', async () => {
    let calls = 0;
    const events = Array.from({ length: 5000 }, (_, i) => trade(i % 2 === 0 ? 'A' : 'B', i));
    const p = streamProvider({
      events: () => {
        calls++;
        return events;
      },
    });
    const first = recordingSink();
    await p.connect(first.sink);
    await p.subscribe('A', ['trade']);
    await p.subscribe('B', ['trade']);
    p.ready!();
    for (let i = 0; i < 3; i++) await turn();
    await p.disconnect();
    expect(first.got.length).toBeGreaterThan(0);
    expect(first.got.length).toBeLessThan(5000);
    const second = recordingSink();
    await p.connect(second.sink);
    await p.subscribe('A', ['trade']);
    p.ready!();
    for (let i = 0; i < 40; i++) await turn();
    expect(calls).toBe(2);
    expect(second.got.length).toBe(2500);
    expect(second.got[0]!.tsRecv).toBe(T);
    expect(second.got.every((e) => e.symbol === 'A')).toBe(true);
    expect(second.ended()).toBeUndefined();
  });

  it('moves the clock to endAt before ending', async () => {
    const clock = new VirtualClock(T);
    const fired: bigint[] = [];
    clock.setTimer(T + 1000n, () => fired.push(clock.now()));
    const p = streamProvider({ clock, events: () => [trade('A', 1)] }, { endAt: T + 5000n });
    const r = recordingSink();
    await p.connect(r.sink);
    await p.subscribe('A', ['trade']);
    p.ready!();
    for (let i = 0; i < 5; i++) await turn();
    expect(fired).toEqual([T + 1000n]);
    expect(clock.now()).toBe(T + 5000n);
  });

  it('toDataProvider passes providers through and explains what is missing', () => {
    const p = streamProvider({ events: () => [] });
    expect(toDataProvider(p)).toBe(p);
    expect(() => toDataProvider({ connect: () => undefined, clock: new VirtualClock() })).toThrow(
      /expected a DataProvider \(connect, subscribe, disconnect, clock\) or an event stream .*found an object missing subscribe, disconnect and without events\(\)/,
    );
  });
});

describe('PauseGate', () => {
  it('holds waiters until resumed', async () => {
    const g = new PauseGate();
    await g.open();
    g.pause();
    let passed = false;
    const waiting = g.open().then(() => (passed = true));
    await turn();
    expect([g.paused, passed]).toEqual([true, false]);
    g.resume();
    await waiting;
    expect([g.paused, passed]).toEqual([false, true]);
  });
});
