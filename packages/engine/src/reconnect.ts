import { ConfigError, describeValue } from '@mdcap/core';

/**
 * When a live provider loses its connection, the engine waits `delaysMs[n - 1]` before attempt
 * `n` (the last entry repeats), and gives up after `maxAttempts` consecutive failures.
 * Default: 1, 2, 4, 8, 16, 32 s, then 60 s from attempt 7 on; give up after 10.
 */
export interface ReconnectPolicy {
  readonly delaysMs: readonly number[];
  readonly maxAttempts: number;
  /** A connect (plus resubscribe) that has not finished after this long counts as failed. */
  readonly connectTimeoutMs: number;
}

export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = Object.freeze({
  delaysMs: Object.freeze([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000]),
  maxAttempts: 10,
  connectTimeoutMs: 10_000,
});

/** Delay before attempt `attempt` (1-based), in ms. */
export function reconnectDelayMs(policy: ReconnectPolicy, attempt: number): number {
  const d = policy.delaysMs;
  return d[Math.min(attempt, d.length) - 1]!;
}

export function checkReconnectPolicy(p: Partial<ReconnectPolicy> | undefined): ReconnectPolicy {
  const merged: ReconnectPolicy = { ...DEFAULT_RECONNECT_POLICY, ...p };
  const bad = (what: string, v: unknown): ConfigError =>
    new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `reconnect.${what}: expected ${what === 'delaysMs' ? 'a non-empty array of non-negative integers' : 'a positive integer'}, found ${describeValue(v)}`,
    );
  if (!Array.isArray(merged.delaysMs) || merged.delaysMs.length === 0 || !merged.delaysMs.every((x) => Number.isInteger(x) && x >= 0)) {
    throw bad('delaysMs', merged.delaysMs);
  }
  if (!Number.isInteger(merged.maxAttempts) || merged.maxAttempts < 1) throw bad('maxAttempts', merged.maxAttempts);
  if (!Number.isInteger(merged.connectTimeoutMs) || merged.connectTimeoutMs < 1) throw bad('connectTimeoutMs', merged.connectTimeoutMs);
  return merged;
}
