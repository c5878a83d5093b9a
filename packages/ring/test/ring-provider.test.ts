import { nextTurn, streamProvider, VirtualClock } from '@mdcap/core';
import type { DataProvider, EventSink, MarketEvent, Status } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ringProvider } from '@mdcap/ring';
import { SimProvider } from '@mdcap/sim';
import { collectCallbacks, SIM_SYMBOLS, simulatedEvents } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

/** A provider that pushes a whole array at once on ready(): a burst no consumer keeps up with. */
function burst(events: readonly MarketEvent[]) {
  return streamProvider({ events: () => events }, { yieldEvery: 1_000_000 });
}

describe('ringProvider', () => {
  it('changes nothing a strategy sees: same callbacks and bars as without the ring', async () => {
    const run = async (ringed: boolean): Promise<string[]> => {
      const sim = new SimProvider({ seed: 5, durationNs: 120_000_000_000n, faults: { gapEvery: 300 } });
      const engine = new RealtimeEngine(ringed ? ringProvider(sim, { capacity: 64 }) : sim);
      engine.setBarInterval(1, 10);
      const log = collectCallbacks(engine);
      await engine.run(SIM_SYMBOLS);
      expect(log.errors).toEqual([]);
      return log.lines;
    };
    const direct = await run(false);
    expect(direct.length).toBeGreaterThan(10_000);
    expect(await run(true)).toEqual(direct);
  });

  it('block: a burst larger than the ring loses nothing', async () => {
    const events = await simulatedEvents(20);
    const p = ringProvider(burst(events), { capacity: 16 });
    const engine = new RealtimeEngine(p);
    const got: MarketEvent[] = [];
    engine.onEvent((e) => got.push(e));
    await engine.run(SIM_SYMBOLS);
    expect(got).toEqual(events);
    expect(p.ringStats().drops).toBe(0);
  });

  it('keeps the order when a consumer callback polls, or the producer pushes or ends, during delivery', async () => {
    // A consumer callback that runs a timer (the engine runs due timers before each event) may
    // poll the ring, and a producer on the same clock may push more than the ring holds.
    const events = await simulatedEvents(5);
    let producer: EventSink | null = null;
    const inner: DataProvider = {
      venue: 'demo',
      clock: new VirtualClock(),
      kinds: ['trade'],
      connect: (sink) => {
        producer = sink;
        return Promise.resolve();
      },
      subscribe: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
    };
    const p = ringProvider(inner, { capacity: 4 });
    const got: MarketEvent[] = [];
    let next = 0;
    let endedAt = -2;
    await p.connect({
      push: (e) => {
        got.push(e);
        if (got.length % 3 === 1) p.poll!(2n ** 63n - 1n); // nested: must deliver nothing ahead of e
        for (let k = 0; k < 6 && next < events.length; k++) producer!.push(events[next++]!);
        if (next === events.length && endedAt === -2) {
          endedAt = -1;
          producer!.end(); // the end comes after everything pushed before it
        }
      },
      lost: () => {},
      end: () => (endedAt = got.length),
    });
    producer!.push(events[next++]!);
    for (let turns = 0; got.length < events.length && turns < 100; turns++) await nextTurn();
    expect(got).toEqual(events);
    expect(endedAt).toBe(events.length);
    expect(p.ringStats().drops).toBe(0);
  });

  it.each(['drop-newest', 'drop-oldest'] as const)('%s: lost events are counted and marked by a gap status', async (overflow) => {
    const events = await simulatedEvents(20, { faults: {} });
    const p = ringProvider(burst(events), { capacity: 16, overflow });
    const engine = new RealtimeEngine(p);
    const got: MarketEvent[] = [];
    engine.onEvent((e) => got.push(e));
    await engine.run(SIM_SYMBOLS);
    const drops = p.ringStats().drops;
    expect(drops).toBeGreaterThan(0);
    const marks = got.filter((e): e is Status => e.type === 'status' && e.kind === 'gap');
    expect(marks.length).toBeGreaterThan(0);
    const counted = marks.reduce((a, s) => a + Number(/^(\d+) events? dropped by the ring/.exec(s.detail)![1]), 0);
    expect(counted).toBe(drops);
    expect(got.length - marks.length).toBe(events.length - drops);
  });
});
