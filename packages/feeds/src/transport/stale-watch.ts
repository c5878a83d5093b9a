import type { Clock, TimerId } from '@mdcap/core';

/**
 * Stale-connection detection on the injected clock: `seen(t)` on every frame; `start(onStale)`
 * calls `onStale` once no frame came for `ms` milliseconds; `stop()` disarms it.
 */
export class StaleWatch {
  readonly ns: bigint;
  private lastFrameAt = 0n;
  private timer: TimerId | null = null;

  constructor(
    private readonly clock: Clock,
    readonly ms: number,
  ) {
    this.ns = BigInt(ms) * 1_000_000n;
  }

  /** A frame arrived at `t`. */
  seen(t: bigint): void {
    this.lastFrameAt = t;
  }

  /** Arms the watch from now on (counting from `seen`'s last time). */
  start(onStale: () => void): void {
    this.stop();
    this.lastFrameAt = this.clock.now();
    const check = (): void => {
      this.timer = null;
      const due = this.lastFrameAt + this.ns;
      if (this.clock.now() >= due) return onStale();
      this.timer = this.clock.setTimer(due, check);
    };
    this.timer = this.clock.setTimer(this.lastFrameAt + this.ns, check);
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }
}
