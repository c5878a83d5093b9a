import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/**
 * The stages an event passes through on its way to a subscriber, each timed into an HDR
 * histogram (ns, 3 significant digits, up to an hour):
 * - `venue_to_recv`: the venue's timestamp to ours (`tsRecv − tsEvent`; live feeds only),
 * - `recv_to_dispatch`: `tsRecv` to the engine's callback (live feeds only: a replay's tsRecv is history),
 * - `dispatch_to_encoded`: the callback to its batch being closed, encoded and queued (every 8th
 *   event of a batch timed, standing for itself and the 7 after it),
 * - `encoded_to_socket`: the batch queued to gRPC having written it to the socket,
 * - `dispatch_to_socket`: the callback to its batch written to the socket (the sum of the two
 *   before, per event: the latency a subscriber sees of the server; timed events as above).
 * Durations come from a monotonic clock, never from event timestamps (except the first stage).
 */
export const STAGES = ['venue_to_recv', 'recv_to_dispatch', 'dispatch_to_encoded', 'encoded_to_socket', 'dispatch_to_socket'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageSummary {
  readonly stage: Stage;
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

const HOUR_NS = 3_600_000_000_000;

export class LatencyStages {
  private readonly h = new Map<Stage, Histogram>();

  constructor() {
    for (const s of STAGES) {
      this.h.set(
        s,
        hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HOUR_NS, numberOfSignificantValueDigits: 3, useWebAssembly: false }),
      );
    }
  }

  /** Records `count` events that spent `ns` in `stage` (out-of-range values are clamped). */
  record(stage: Stage, ns: number, count = 1): void {
    const v = ns < 1 ? 1 : ns > HOUR_NS ? HOUR_NS : Math.round(ns);
    this.h.get(stage)!.recordValueWithCount(v, count);
  }

  summary(): StageSummary[] {
    return STAGES.map((stage) => {
      const h = this.h.get(stage)!;
      const n = h.totalCount;
      return {
        stage,
        count: n,
        p50: n === 0 ? 0 : h.getValueAtPercentile(50),
        p99: n === 0 ? 0 : h.getValueAtPercentile(99),
        p999: n === 0 ? 0 : h.getValueAtPercentile(99.9),
        max: n === 0 ? 0 : h.maxValue,
      };
    });
  }

  reset(): void {
    for (const h of this.h.values()) h.reset();
  }
}

/** A monotonic clock in ns (a number: durations, never timestamps). */
export type Monotonic = () => number;
export const monotonicNs: Monotonic = () => performance.now() * 1e6;

export interface ServerCounters {
  readonly subscribers: number;
  readonly subscriptionsTotal: number;
  readonly eventsSent: number;
  readonly batchesSent: number;
  readonly eventsDropped: number;
  readonly disconnectedSlow: number;
  readonly rejected: number;
  readonly rssBytes: number;
}

/** The Prometheus text exposition (format 0.0.4) of the counters and stage percentiles. */
export function prometheusText(c: ServerCounters, stages: readonly StageSummary[]): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, value: number): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  };
  metric('mdcap_serve_subscribers', 'gauge', 'Subscriptions streaming now.', c.subscribers);
  metric('mdcap_serve_subscriptions_total', 'counter', 'Subscriptions accepted since start.', c.subscriptionsTotal);
  metric('mdcap_serve_events_sent_total', 'counter', 'Events written to subscribers.', c.eventsSent);
  metric('mdcap_serve_batches_sent_total', 'counter', 'Batches written to subscribers.', c.batchesSent);
  metric(
    'mdcap_serve_events_dropped_total',
    'counter',
    'Events dropped for subscribers whose queue was full (drop-oldest).',
    c.eventsDropped,
  );
  metric(
    'mdcap_serve_slow_disconnects_total',
    'counter',
    'Subscriptions ended because their queue was full (disconnect).',
    c.disconnectedSlow,
  );
  metric('mdcap_serve_rejected_total', 'counter', 'Requests refused with an error status.', c.rejected);
  metric('mdcap_serve_rss_bytes', 'gauge', 'Resident set size of the server process.', c.rssBytes);
  lines.push(
    '# HELP mdcap_serve_stage_latency_seconds Latency of each stage an event passes through (HDR histogram).',
    '# TYPE mdcap_serve_stage_latency_seconds summary',
  );
  for (const s of stages) {
    for (const [q, v] of [
      ['0.5', s.p50],
      ['0.99', s.p99],
      ['0.999', s.p999],
      ['1', s.max],
    ] as const) {
      lines.push(`mdcap_serve_stage_latency_seconds{stage="${s.stage}",quantile="${q}"} ${v / 1e9}`);
    }
    lines.push(`mdcap_serve_stage_latency_seconds_count{stage="${s.stage}"} ${s.count}`);
  }
  return lines.join('\n') + '\n';
}
