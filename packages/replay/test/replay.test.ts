import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureWriter } from '@mdcap/capture';
import { createTrade, VirtualClock } from '@mdcap/core';
import type { MarketEvent, Status } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { parseSpeed, ReplayProvider } from '@mdcap/replay';
import { recordEvents, SIM_SYMBOLS, simulatedEvents, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEC = 1_000_000_000n;
const dir = tempDir('replay');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let events: MarketEvent[] = [];
const cap = join(dir, 'cap');
beforeAll(async () => {
  events = await simulatedEvents(30);
  await recordEvents(cap, events, { rotateNs: 5n * SEC });
}, 60_000);

/** The provider events an engine receives from a replay (its onEvent stream). */
async function replayed(
  root: string,
  options: Parameters<typeof ReplayProvider.open>[1] = {},
  symbols: readonly string[] = SIM_SYMBOLS,
): Promise<MarketEvent[]> {
  const engine = new RealtimeEngine(ReplayProvider.open(root, options));
  const out: MarketEvent[] = [];
  engine.onEvent((e) => out.push(e));
  const errors: string[] = [];
  engine.onError((e) => errors.push(e.toString()));
  await engine.run(symbols);
  expect(errors).toEqual([]);
  return out;
}

describe('ReplayProvider', () => {
  it('delivers every recorded event in the recorded order, across kinds and rotation groups', async () => {
    expect(await replayed(cap)).toEqual(events);
  });

  it('filters by time range and symbols', async () => {
    const t0 = events[0]!.tsRecv;
    const from = t0 + 10n * SEC;
    const to = t0 + 17n * SEC;
    const got = await replayed(cap, { from, to }, ['MSFT']);
    const want = events.filter((e) => e.tsRecv >= from && e.tsRecv < to && (e.symbol === 'MSFT' || e.symbol === '*'));
    // What came before `from` is missing for this run: a gap mark says so (and flags the first bar).
    expect(got[0]).toMatchObject({ type: 'status', kind: 'gap', tsRecv: from, detail: expect.stringMatching(/^replay starts at /) });
    expect(got.slice(1)).toEqual(want);
  });

  it('marks the hole between two recording sessions with a gap, after closing the first session', async () => {
    const root = join(dir, 'two');
    const a = events.slice(0, 500);
    const b = events.slice(2000, 2500);
    await recordEvents(root, a, { end: a[a.length - 1]!.tsRecv + 1n });
    await recordEvents(root, b);
    const got = await replayed(root);
    expect(got.length).toBe(1001);
    expect(got.slice(0, 500)).toEqual(a);
    expect(got[500]).toMatchObject({ type: 'status', kind: 'gap', symbol: '*', tsRecv: a[a.length - 1]!.tsRecv + 1n });
    expect((got[500] as Status).detail).toMatch(/^recording session 1 ended at .*; the next one starts at /);
    expect(got.slice(501)).toEqual(b);
  });

  it('seeks forward with a gap mark, and refuses to seek back', async () => {
    const provider = ReplayProvider.open(cap);
    const engine = new RealtimeEngine(provider);
    const got: MarketEvent[] = [];
    const target = events[0]!.tsRecv + 20n * SEC;
    engine.onEvent((e) => {
      got.push(e);
      if (got.length === 100) provider.seek(target);
    });
    await engine.run(SIM_SYMBOLS);
    expect(got.slice(0, 100)).toEqual(events.slice(0, 100));
    expect(got[100]).toMatchObject({ type: 'status', kind: 'gap', tsRecv: target });
    expect(got.slice(101)).toEqual(events.filter((e) => e.tsRecv >= target));
    expect(() => provider.seek(0n)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_REPLAY_RANGE' }) as Error);
  });

  it('pauses and resumes', async () => {
    const provider = ReplayProvider.open(cap);
    const engine = new RealtimeEngine(provider);
    let n = 0;
    let atPause = -1;
    let atResume = -1;
    engine.onEvent(() => {
      if (++n === 50) {
        provider.pause();
        atPause = n;
        void (async () => {
          // Turns of the event loop in which a replay at max speed would have gone on.
          for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
          atResume = n;
          provider.resume();
        })();
      }
    });
    await engine.run(SIM_SYMBOLS);
    expect(atResume).toBeLessThanOrEqual(atPause + 1); // nothing more while paused (the event in hand may finish)
    expect(n).toBe(events.length);
  });

  it('replays a capture whose recorder is still running (segments not finalized yet)', async () => {
    const root = join(dir, 'open');
    const w = await CaptureWriter.open(root, {
      feed: 'demo',
      symbols: SIM_SYMBOLS,
      clock: new VirtualClock(events[0]!.tsRecv),
      finalize: 'inline',
    });
    for (const e of events.slice(0, 700)) w.write(e);
    w.flush();
    for (const e of events.slice(700, 800)) w.write(e); // not flushed yet: not visible
    const got = await replayed(root);
    expect(got.slice(0, -1)).toEqual(events.slice(0, 700));
    expect(got[700]).toMatchObject({ kind: 'gap', detail: expect.stringMatching(/^recording session 1 has no end: it was interrupted/) });
    await w.close();
  });

  it('bars close where the recording ended, at every speed', async () => {
    const run = async (speed: 'max' | number): Promise<string[]> => {
      const engine = new RealtimeEngine(ReplayProvider.open(cap, { speed }));
      engine.setBarInterval(1, 5);
      const bars: string[] = [];
      engine.onBar((b) => bars.push(`${b.symbol} ${b.interval} ${b.start} ${b.close} ${b.volume} ${b.flags} ${b.tsRecv}`));
      await engine.run(SIM_SYMBOLS);
      return bars;
    };
    const max = await run('max');
    expect(max.length).toBeGreaterThan(50);
    expect(await run(1000)).toEqual(max);
  });
});

/**
 * Runs a paced replay against a hand-driven wall clock until `done` settles: time moves only
 * here (straight to the wall time the replay waits for, else 1 ms per turn of the event loop),
 * so what happens during a paced wait does not depend on how busy the machine is.
 */
async function driveWall(wall: VirtualClock, done: Promise<void>): Promise<void> {
  let over = false;
  const finished = done.finally(() => (over = true));
  while (!over) {
    const due = wall.nextDue();
    if (due !== null) wall.advanceTo(due);
    else wall.advanceBy(1_000_000n);
    await new Promise((r) => setImmediate(r));
  }
  await finished;
}

describe('paced replay control', () => {
  const T0 = 1_704_205_800_000_000_000n;
  const trade = (s: bigint): MarketEvent =>
    createTrade({ venue: 'demo', symbol: 'AAPL', tsEvent: T0 + s, tsRecv: T0 + s, price: 1n, size: 1n, priceScale: 2, sizeScale: 0 });
  const small = join(dir, 'small');
  beforeAll(async () => {
    await recordEvents(small, [trade(0n), trade(2n * SEC), trade(3n * SEC)], { end: T0 + 4n * SEC });
  });
  const seconds = (e: MarketEvent): string => `${e.type}@${Number(e.tsRecv - T0) / 1e9}`;

  it('a seek during a paced wait skips the rows before the target', async () => {
    const wall = new VirtualClock(0n);
    const p = ReplayProvider.open(small, { speed: 1, wallClock: wall });
    const engine = new RealtimeEngine(p);
    const got: string[] = [];
    engine.onEvent((e) => got.push(seconds(e)));
    await engine.start(['AAPL']);
    // The wall clock stands still: the replay waits for the wall time of the trade at 2 s.
    await waitFor(() => got.length === 1 && wall.nextDue() !== null, { what: 'the paced wait for the trade at 2 s' });
    p.seek(T0 + 2_500_000_000n);
    await driveWall(wall, engine.done());
    expect(got).toEqual(['trade@0', 'status@2.5', 'trade@3']);
  });

  it('runs again after a stop during a paced wait', async () => {
    const wall = new VirtualClock(0n);
    const p = ReplayProvider.open(small, { speed: 1, wallClock: wall });
    const engine = new RealtimeEngine(p);
    let n = 0;
    engine.onEvent(() => n++);
    await engine.start(['AAPL']);
    await waitFor(() => n === 1 && wall.nextDue() !== null, { what: 'the paced wait for the trade at 2 s' });
    await engine.stop(); // the pump is waiting for the trade at 2 s
    expect(n).toBe(1);
    p.setSpeed('max');
    n = 0;
    await engine.run(['AAPL']);
    expect(n).toBe(3);
  });

  it('starting inside a later session marks the start, not the earlier hole', async () => {
    const root = join(dir, 'late');
    await recordEvents(root, [trade(0n)], { end: T0 + SEC });
    await recordEvents(root, [trade(100n * SEC), trade(110n * SEC)], { end: T0 + 120n * SEC });
    expect((await replayed(root, { from: T0 + 105n * SEC }, ['AAPL'])).map(seconds)).toEqual(['status@105', 'trade@110']);
    expect((await replayed(root, {}, ['AAPL'])).map(seconds)).toEqual(['trade@0', 'status@1', 'trade@100', 'trade@110']);
  });
});

describe('options', () => {
  it.each([
    ['10x', 10],
    ['0.5x', 0.5],
    ['2', 2],
    [' 3x', 3],
    ['max', 'max'],
    [4, 4],
  ])('parseSpeed(%j) = %j', (text, want) => {
    expect(parseSpeed(text)).toBe(want);
  });

  it.each(['0', '0x', 'fast', '-1x', '', '1e3', 0, -2, Number.NaN])('parseSpeed(%j) is a clear error', (text) => {
    expect(() => parseSpeed(text)).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_INVALID_OPTION',
        message: expect.stringMatching(/^speed: expected max or a positive multiple/),
      }) as Error,
    );
  });

  it('refuses from at or after to', () => {
    const t = events[0]!.tsRecv;
    expect(() => ReplayProvider.open(cap, { from: t + SEC, to: t })).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_REPLAY_RANGE' }) as Error,
    );
  });

  it('refuses a symbol the capture does not have', async () => {
    const engine = new RealtimeEngine(ReplayProvider.open(cap));
    await expect(engine.start(['GME'])).rejects.toMatchObject({
      code: 'MDCAP_ERR_UNKNOWN_SYMBOL',
      message: expect.stringContaining('found "GME"'),
    });
  });
});
