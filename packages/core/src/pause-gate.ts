/**
 * Flow control for a producer loop: `pause()`/`resume()` from the consumer side, `await
 * gate.open()` in the producer before each step. Shared by the providers that drive their own
 * delivery loop (the stream adapter, the simulator, replays).
 */
export class PauseGate {
  private closed = false;
  private waiters: (() => void)[] = [];

  get paused(): boolean {
    return this.closed;
  }

  pause(): void {
    this.closed = true;
  }

  resume(): void {
    this.closed = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves at once when not paused, else on the next `resume()`. */
  open(): Promise<void> {
    if (!this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
