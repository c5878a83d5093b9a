export interface WaitOptions {
  /** What is awaited, for the failure message ("the gap status naming NOPE/USD"). */
  readonly what: string;
  /** Give up after this long (default 30 s): only a hung test gets there, never a slow one. */
  readonly deadlineMs?: number;
  /** Time between looks (default 10 ms). */
  readonly everyMs?: number;
  /** The state so far, added to the failure message ("8,641 of 9,012 frames"). */
  readonly state?: () => string;
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Waits for a condition instead of sleeping: resolves with the first truthy value of
 * `condition()`, looked at now and then every `everyMs`. A test waits for what it needs (a
 * status, every frame sent) however busy the machine is; the deadline only ends a hung test,
 * with a message saying what it waited for.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions): Promise<Truthy<T>> {
  const deadlineMs = options.deadlineMs ?? 30_000;
  const start = performance.now();
  for (;;) {
    const value = await condition();
    if (value) return value as Truthy<T>;
    if (performance.now() - start > deadlineMs) {
      const state = options.state === undefined ? '' : ` (${options.state()})`;
      throw new Error(`waitFor: gave up after ${(deadlineMs / 1000).toFixed(0)} s waiting for ${options.what}${state}`);
    }
    await new Promise((r) => setTimeout(r, options.everyMs ?? 10));
  }
}
