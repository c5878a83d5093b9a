import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CaptureWriter } from '@mdcap/capture';
import type { FinalizeMode, Manifest } from '@mdcap/capture';
import { createTrade, VirtualClock } from '@mdcap/core';
import type { Instrument, MarketEvent, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { SimProvider } from '@mdcap/sim';
import type { SimFaults } from '@mdcap/sim';

export const SIM_SYMBOLS: readonly string[] = ['AAPL', 'MSFT', 'BTC-USD'];

/**
 * Trades `from`..`from + n` of two venues, `va` and `vb`, in one receive-time order, as one engine
 * saw them: both trade a symbol `X` (names collide across venues), and events of both venues
 * share receive times, three to a time (vb's first), so that only the publisher's order can put
 * a merge of the venues back in place.
 */
export function twoVenueTrades(n: number, from = 0): Trade[] {
  const out: Trade[] = [];
  for (let i = from; i < from + n; i++) {
    const ts = 1_767_225_600_000_000_000n + BigInt(Math.floor(i / 3)) * 1_000n;
    out.push(
      createTrade({
        venue: i % 3 === 0 ? 'vb' : 'va',
        symbol: i % 4 === 0 ? 'Y' : 'X',
        tsEvent: ts - 10n,
        tsRecv: ts,
        seq: null,
        price: 1_000_000n + BigInt(i),
        size: BigInt(1 + (i % 9)),
        priceScale: 4,
        sizeScale: 0,
        side: i % 2 === 0 ? 'buy' : 'sell',
        tradeId: String(i),
      }),
    );
  }
  return out;
}

/**
 * `seconds` of the simulated venue on its virtual clock, as the engine's `onEvent` stream (what
 * `mdcap record` captures), with gaps and resyncs by default.
 */
export async function simulatedEvents(
  seconds: number,
  options: { seed?: number; faults?: SimFaults; packetsPerSecond?: number } = {},
): Promise<MarketEvent[]> {
  const sim = new SimProvider({
    seed: options.seed ?? 3,
    durationNs: BigInt(seconds) * 1_000_000_000n,
    packetsPerSecond: options.packetsPerSecond ?? 500,
    faults: options.faults ?? { gapEvery: 150 },
  });
  const engine = new RealtimeEngine(sim);
  const out: MarketEvent[] = [];
  engine.onEvent((e) => out.push(e));
  await engine.run(SIM_SYMBOLS);
  return out;
}

/** Records events into a capture root as one session ending at `end` (default: the last event's tsRecv). */
export async function recordEvents(
  root: string,
  events: readonly MarketEvent[],
  options: {
    feed?: string;
    symbols?: readonly string[];
    rotateNs?: bigint;
    finalize?: FinalizeMode;
    end?: bigint;
    instruments?: Iterable<Instrument>;
  } = {},
): Promise<Manifest> {
  const first = events[0]?.tsRecv ?? 0n;
  const symbols = options.symbols ?? [...new Set(events.map((e) => e.symbol).filter((s) => s !== '*'))];
  const w = await CaptureWriter.open(root, {
    feed: options.feed ?? events[0]?.venue ?? 'test',
    symbols,
    clock: new VirtualClock(first),
    finalize: options.finalize ?? 'inline',
    ...(options.rotateNs === undefined ? {} : { rotateNs: options.rotateNs }),
    ...(options.instruments === undefined ? {} : { instruments: options.instruments }),
  });
  for (const e of events) w.write(e);
  return w.close(options.end ?? events[events.length - 1]?.tsRecv ?? first);
}

/** Every file under `root` with its sha256 (to show that nothing in a capture changed). */
export function fileHashes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!f.isFile()) continue;
    const path = join(f.parentPath, f.name);
    out[relative(root, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}
