import { ConfigError, RingError, describeValue } from '@mdcap/core';

/**
 * What a ring does when the producer is ahead by a whole capacity:
 * - `block`: refuse the record until the consumer frees a slot (backpressure); nothing is lost.
 * - `drop-newest`: discard the record being pushed and count it.
 * - `drop-oldest`: overwrite the oldest unread record and count it; the newest data always gets through.
 */
export type OverflowPolicy = 'block' | 'drop-newest' | 'drop-oldest';

export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ['block', 'drop-newest', 'drop-oldest'];

export const DEFAULT_CAPACITY: number = 65_536;
export const MAX_CAPACITY: number = 2 ** 30;

export interface RingStats {
  /** Slots in the ring. */
  readonly capacity: number;
  /** Records waiting to be read now. */
  readonly depth: number;
  /** Largest depth seen. */
  readonly highWater: number;
  /** Records accepted by the ring (dropped-newest ones excluded). */
  readonly pushed: number;
  /** Records handed to the consumer. */
  readonly popped: number;
  /** Records lost to the overflow policy (newest refused plus oldest overwritten). */
  readonly drops: number;
}

export function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 2 || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new RingError(
      'MDCAP_ERR_RING_CAPACITY',
      `ring capacity: expected a power of two from 2 to 2^30 (such as 65536), found ${describeValue(capacity)}`,
      { details: { capacity } },
    );
  }
  return capacity;
}

export function checkPolicy(policy: unknown): OverflowPolicy {
  if (!OVERFLOW_POLICIES.includes(policy as OverflowPolicy)) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `ring overflow: expected one of ${OVERFLOW_POLICIES.join(', ')}, found ${describeValue(policy)}`,
    );
  }
  return policy as OverflowPolicy;
}
