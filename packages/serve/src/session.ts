import { MdcapError } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import type { ReplaySpeed } from '@mdcap/replay';
import { Fanout } from './fanout.js';
import type { Selection } from './fanout.js';
import type { LatencyStages } from './metrics.js';
import type { Appender } from './subscriber.js';

/** One subscriber's replay, all of it plain data (it crosses to a worker thread as it is). */
export interface ReplaySpec {
  readonly dir: string;
  readonly speed: ReplaySpeed;
  readonly from: bigint | undefined;
  readonly to: bigint | undefined;
  readonly symbols: readonly string[];
  readonly selection: Selection;
  readonly intervals: readonly number[];
  readonly graceMs: number;
  readonly barTimestamp: 'tsEvent' | 'tsRecv';
}

/**
 * A capture replayed for one subscriber: its own `ReplayProvider` and `RealtimeEngine`, the
 * engine's callbacks encoded into `out` (the same code on the main thread and on a worker).
 */
export class ReplaySession {
  readonly provider: ReplayProvider;
  readonly engine: RealtimeEngine;
  private readonly errors: MdcapError[] = [];

  constructor(
    private readonly spec: ReplaySpec,
    stages: LatencyStages,
    out: Appender,
  ) {
    this.provider = ReplayProvider.open(spec.dir, {
      speed: spec.speed,
      ...(spec.from === undefined ? {} : { from: spec.from }),
      ...(spec.to === undefined ? {} : { to: spec.to }),
    });
    this.engine = new RealtimeEngine(this.provider, { barGraceMs: spec.graceMs, barTimestamp: spec.barTimestamp });
    if (spec.intervals.length > 0) this.engine.setBarInterval(...spec.intervals);
    this.engine.onError((e) => this.errors.push(e));
    new Fanout(this.engine, this.provider.clock, stages, false).add(out, spec.selection, this.provider.instruments());
  }

  /** Replays to the end (or a stop); resolves with what made it fail, or null. */
  async run(): Promise<MdcapError | null> {
    await this.engine.run(this.spec.symbols);
    if (this.engine.stats().state !== 'failed') return null;
    const e = this.errors;
    return (
      [...e].reverse().find((x) => x.code.startsWith('MDCAP_ERR_CAPTURE') || x.code === 'MDCAP_ERR_IO') ??
      e.at(-1) ??
      new MdcapError('MDCAP_ERR_IO', `the replay of ${this.spec.dir} failed`)
    );
  }
}
