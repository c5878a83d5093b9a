import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureSet, CaptureWriter } from '@mdcap/capture';
import { VirtualClock } from '@mdcap/core';
import type { Bar, MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import type { ReplayOptions } from '@mdcap/replay';
import { recordEvents, SIM_SYMBOLS, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEC = 1_000_000_000n;
const dir = tempDir('capture-set');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let events: MarketEvent[] = [];
let a: MarketEvent[] = [];
let b: MarketEvent[] = [];
let c: MarketEvent[] = [];
const one = join(dir, 'one'); // three sessions in one capture
const day = (k: number): string => join(dir, `day${k}`); // the same sessions, a capture each
const endOf = (x: readonly MarketEvent[]): bigint => x[x.length - 1]!.tsRecv + 1n;

beforeAll(async () => {
  events = await simulatedEvents(30);
  a = events.slice(0, 900);
  b = events.slice(1500, 2600);
  c = events.slice(3000, 3400);
  for (const [k, part] of [a, b, c].entries()) {
    await recordEvents(one, part, { end: endOf(part), rotateNs: 5n * SEC });
    await recordEvents(day(k), part, { end: endOf(part), rotateNs: 5n * SEC });
  }
}, 60_000);

async function replayed(capture: string | readonly string[], options: ReplayOptions = {}): Promise<{ events: MarketEvent[]; bars: Bar[] }> {
  const engine = new RealtimeEngine(ReplayProvider.open(capture, options));
  engine.setBarInterval(1);
  const out: MarketEvent[] = [];
  const bars: Bar[] = [];
  engine.onEvent((e) => out.push(e));
  engine.onBar((x) => bars.push(x));
  const errors: string[] = [];
  engine.onError((e) => errors.push(e.toString()));
  await engine.run(SIM_SYMBOLS);
  expect(errors).toEqual([]);
  return { events: out, bars };
}

describe('CaptureSet: several capture roots replayed as one', () => {
  it('replays roots that follow one another exactly as one capture holding the same sessions: events, gap marks, bars', async () => {
    const whole = await replayed(one);
    expect(whole.events.filter((e) => e.type === 'status' && e.detail.startsWith('recording session'))).toHaveLength(2);
    const set = await replayed([day(0), day(1), day(2)]);
    expect(set.events).toEqual(whole.events);
    expect(set.bars).toEqual(whole.bars);
    // In any order given: they replay in time order.
    expect((await replayed([day(2), day(0), day(1)])).events).toEqual(whole.events);
  });

  it('cuts by time and seeks across roots as within one capture', async () => {
    const from = a[400]!.tsRecv;
    const to = c[200]!.tsRecv;
    const cut = (cap: string | readonly string[]): Promise<{ events: MarketEvent[] }> => replayed(cap, { from, to });
    expect((await cut([day(0), day(1), day(2)])).events).toEqual((await cut(one)).events);

    const seekRun = async (cap: string | readonly string[]): Promise<MarketEvent[]> => {
      const provider = ReplayProvider.open(cap);
      const engine = new RealtimeEngine(provider);
      const out: MarketEvent[] = [];
      let sought = false;
      engine.onEvent((e) => {
        out.push(e);
        if (!sought && out.length === 100) {
          sought = true;
          provider.seek(c[50]!.tsRecv); // from the first root into the third
        }
      });
      await engine.run(SIM_SYMBOLS);
      return out;
    };
    const sought = await seekRun([day(0), day(1), day(2)]);
    expect(sought).toEqual(await seekRun(one));
    expect(sought.filter((e) => e.type === 'status' && e.kind === 'gap')).toHaveLength(1); // the jump, marked once
  });

  it('numbers recv_seq of later roots after the earlier ones, and keeps every root reachable as itself', () => {
    const set = CaptureSet.open([day(1), day(0)]);
    expect(set.roots).toEqual([day(0), day(1)]);
    const [s1, s2] = set.manifest.sessions;
    expect(s1!.id).toBe(1);
    expect(s2!.id).toBe(2);
    expect(BigInt(s2!.firstRecvSeq)).toBeGreaterThan(BigInt(s1!.lastRecvSeq!));
    expect(set.manifest.files.map((f) => join(set.root, f.path)).sort()).toEqual(
      [...set.reader(day(0)).files(), ...set.reader(day(1)).files()].map((f) => f.path).sort(),
    );
    expect(set.reader(day(1)).manifest.sessions[0]!.firstRecvSeq).toBe('1'); // its own count, as on disk
  });

  it('refuses overlapping roots, a root twice, and an interrupted root before the last, saying which', async () => {
    const late = join(dir, 'overlap');
    await recordEvents(late, events.slice(800, 1000), { end: events[1000]!.tsRecv });
    expect(() => CaptureSet.open([day(0), late])).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_CAPTURE_OVERLAP', message: expect.stringContaining(late) }),
    );
    expect(() => ReplayProvider.open([day(0), day(0)])).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_CAPTURE_OVERLAP', message: expect.stringContaining('the same capture twice') }),
    );
    const open = join(dir, 'open');
    const w = await CaptureWriter.open(open, {
      feed: 'sim',
      symbols: SIM_SYMBOLS,
      clock: new VirtualClock(b[0]!.tsRecv),
      finalize: 'inline',
    });
    for (const e of b) w.write(e);
    w.flush(); // still recording: its session has no end
    try {
      expect(() => CaptureSet.open([open, day(2)])).toThrow(
        expect.objectContaining({ code: 'MDCAP_ERR_CAPTURE_CORRUPT', message: expect.stringContaining(`mdcap verify --repair ${open}`) }),
      );
      // As the last root it replays, and the replay says its data may stop short.
      const got = await replayed([day(0), open]);
      expect(got.events[got.events.length - 1]).toMatchObject({ kind: 'gap', detail: expect.stringMatching(/has no end/) });
    } finally {
      await w.close();
    }
  });
});
