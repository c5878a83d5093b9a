/**
 * The one module of the pure packages that touches the host (Node) directly: wall time, the
 * monotonic timer, host timers, stderr. Everything else takes time from a Clock. Lint allows
 * host globals here and nowhere else in core, ring, engine and sim.
 */

interface Utf8Encoder {
  encodeInto(text: string, into: Uint8Array): { read: number; written: number };
}
interface Utf8Decoder {
  decode(bytes: Uint8Array): string;
}

interface Host {
  TextEncoder: new () => Utf8Encoder;
  TextDecoder: new () => Utf8Decoder;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate?: (fn: () => void) => unknown;
  process?: { hrtime?: { bigint?: () => bigint } };
  performance?: { now(): number };
  Date: { now(): number };
  console?: { error(message: string): void };
}

const host = globalThis as unknown as Host;

/** Wall-clock milliseconds since the epoch. */
export function wallMs(): number {
  return host.Date.now();
}

/** A monotonic nanosecond counter (arbitrary origin). */
export function monotonicNs(): () => bigint {
  const hr = host.process?.hrtime?.bigint;
  if (typeof hr === 'function') return () => hr();
  const perf = host.performance;
  if (perf !== undefined) return () => BigInt(Math.round(perf.now() * 1e6));
  return () => BigInt(host.Date.now()) * 1_000_000n;
}

export function hostSetTimeout(fn: () => void, ms: number): unknown {
  return host.setTimeout(fn, ms);
}

export function hostClearTimeout(handle: unknown): void {
  host.clearTimeout(handle);
}

/**
 * Resolves on a later turn of the host event loop (not a timer: no time passes on any clock).
 * Virtual-time producers await it now and then so that I/O and async consumers get to run.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (host.setImmediate !== undefined) host.setImmediate(resolve);
    else host.setTimeout(resolve, 0);
  });
}

/** Writes a line to stderr (the engine's fallback when nobody listens to onError). */
export function printError(message: string): void {
  host.console?.error(message);
}

/** A UTF-8 encoder (`encodeInto` writes into a given buffer: no allocation). */
export function utf8Encoder(): Utf8Encoder {
  return new host.TextEncoder();
}

/** A UTF-8 decoder (of bytes in ordinary, not shared, memory). */
export function utf8Decoder(): Utf8Decoder {
  return new host.TextDecoder();
}
