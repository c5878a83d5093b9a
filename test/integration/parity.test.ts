import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LiveClock } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import type { EngineOptions } from '@mdcap/engine';
import { record } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import type { ReplaySpeed } from '@mdcap/replay';
import { ringProvider } from '@mdcap/ring';
import { SimProvider } from '@mdcap/sim';
import { collectCallbacks, hashLines, tempDir } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The core promise, end to end: the demo venue runs live (wall clock, through the ring), a
 * strategy logs every callback and bar while the recorder captures the engine's event stream;
 * replaying the capture through a new engine, at max speed and at 10x, gives the identical
 * callback stream, bars, gaps, resyncs and reconnects included, event for event.
 */
const SYMBOLS = ['AAPL', 'MSFT', 'BTC-USD'];
const OPTIONS: EngineOptions = { barGraceMs: 100 };
const INTERVALS = [1, 2];

describe('live → record → replay parity', () => {
  const dir = tempDir('parity');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'cap');
  let live: string[] = [];

  it('records a live run of the demo venue through the ring', { timeout: 60_000 }, async () => {
    const clock = new LiveClock();
    const sim = new SimProvider({
      seed: 11,
      clock,
      packetsPerSecond: 1500,
      durationNs: 4_000_000_000n,
      faults: { gapEvery: 400, disconnectAfter: 1200 },
    });
    // Recorded as `mdcap record` does (the library's `record`), with a strategy logging every
    // callback beside the recorder (its `onEvent` comes first, as in the CLI).
    let log!: ReturnType<typeof collectCallbacks>;
    const summary = await record({
      feed: ringProvider(sim, { capacity: 1024 }),
      symbols: SYMBOLS,
      out: root,
      flushMs: 200,
      rotateNs: 1_000_000_000n,
      engine: { ...OPTIONS, books: true, reconnect: { delaysMs: [200] } },
      onStart: (engine) => {
        engine.setBarInterval(...INTERVALS);
        log = collectCallbacks(engine);
      },
    });
    expect(log.errors).toEqual([]);
    live = log.lines;
    const kinds = (k: string): number => live.filter((l) => l.startsWith(`${k} `)).length;
    // The run must exercise what parity is about: bars of both intervals, gaps, a reconnect.
    expect(kinds('bar')).toBeGreaterThan(10);
    expect(kinds('gap')).toBeGreaterThan(0);
    expect(kinds('reconnect')).toBeGreaterThan(0);
    expect(summary.filesFinalized).toBeGreaterThan(4); // several rotation groups
  });

  it.each<[string, ReplaySpeed]>([
    ['max', 'max'],
    ['10x', 10],
  ])('replay at %s gives the identical callback stream', { timeout: 60_000 }, async (_name, speed) => {
    expect(live.length).toBeGreaterThan(1000);
    const provider = ReplayProvider.open(root, { speed });
    const engine = new RealtimeEngine(provider, OPTIONS);
    engine.setBarInterval(...INTERVALS);
    const log = collectCallbacks(engine);
    await engine.run(SYMBOLS);
    expect(log.errors).toEqual([]);
    const first = log.lines.findIndex((l, i) => l !== live[i]);
    expect(first === -1 ? null : { line: first, live: live[first], replay: log.lines[first] }).toBeNull();
    expect(log.lines.length).toBe(live.length);
    expect(hashLines(log.lines)).toBe(hashLines(live));
  });
});
