import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CaptureWriter } from '@mdcap/capture';
import type { FinalizeMode, Manifest } from '@mdcap/capture';
import { VirtualClock } from '@mdcap/core';
import type { Instrument, MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { SimProvider } from '@mdcap/sim';
import type { SimFaults } from '@mdcap/sim';

export const SIM_SYMBOLS: readonly string[] = ['AAPL', 'MSFT', 'BTC-USD'];

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
