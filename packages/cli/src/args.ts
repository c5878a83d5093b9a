import { captureSpan } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { ConfigError, describeValue, isoToNs, MdcapError, nsToIso, parseDuration } from '@mdcap/core';

/** A flag value that is out of range: `--flag: expected …, found …`. */
export function badOption(flag: string, expected: string, found: unknown): ConfigError {
  return new ConfigError('MDCAP_ERR_INVALID_OPTION', `${flag}: expected ${expected}, found ${describeValue(found)}`);
}

/** `A,B , C` → `['A', 'B', 'C']` (no empties, no repeats). */
export function parseList(flag: string, text: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw badOption(flag, 'a comma-separated list such as AAPL,MSFT', text);
  return [...new Set(items)];
}

/** Items of a list that must come from a fixed set. */
export function parseChoices<T extends string>(flag: string, text: string, allowed: readonly T[]): Set<T> {
  const out = new Set<T>();
  for (const item of parseList(flag, text)) {
    if (!(allowed as readonly string[]).includes(item)) throw badOption(flag, `a comma-separated list of ${allowed.join(', ')}`, item);
    out.add(item as T);
  }
  return out;
}

/** A positive duration: `500ms`, `30s`, `5m`, `1h`. */
export function parseDurationOption(flag: string, text: string): bigint {
  let ns: bigint;
  try {
    ns = parseDuration(text);
  } catch {
    throw badOption(flag, 'a duration such as 500ms, 30s, 5m or 1h', text);
  }
  if (ns <= 0n) throw badOption(flag, 'a positive duration', text);
  return ns;
}

/** An integer in [min, max]. */
export function parseIntOption(flag: string, text: string | number, min: number, max: number): number {
  const s = String(text).trim();
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) throw badOption(flag, `an integer from ${min} to ${max}`, text);
  return n;
}

/** Bar intervals in seconds: `60`, `60,300`. */
export function parseIntervals(flag: string, text: string | number): number[] {
  return parseList(flag, String(text)).map((s) => parseIntOption(flag, s, 1, 31_536_000));
}

/**
 * A point in time: an RFC 3339 timestamp (`2024-01-02T14:31:00Z`, up to 9 fraction digits), an
 * integer of ns since the epoch, `+DURATION` after `base` (the capture's start), or `-DURATION`
 * before `end` (the capture's end).
 */
export function parseTime(flag: string, text: string, base: bigint | null, end: bigint | null = null): bigint {
  const t = text.trim();
  if (/^\d+$/.test(t)) return BigInt(t);
  if (/^-\d+$/.test(t)) {
    throw badOption(flag, 'a time at or after 1970 (integer nanoseconds are ≥ 0; -5m means five minutes before the capture ends)', text);
  }
  if (t.startsWith('+') || t.startsWith('-')) {
    const after = t.startsWith('+');
    const from = after ? base : end;
    if (from === null) throw badOption(flag, `an absolute time (the capture has no ${after ? 'start' : 'end'} time)`, text);
    let ns: bigint;
    try {
      ns = parseDuration(t.slice(1));
    } catch {
      throw badOption(
        flag,
        after ? '+DURATION such as +30s or +5m after the capture start' : '-DURATION such as -5m before the capture end',
        text,
      );
    }
    return after ? from + ns : from - ns;
  }
  try {
    return isoToNs(t);
  } catch (error) {
    if (!(error instanceof MdcapError)) throw error;
    throw badOption(flag, 'a time such as 2024-01-02T14:31:00Z, +5m (after the capture start) or integer nanoseconds', text);
  }
}

/**
 * `--from`/`--to` over a capture: each as {@link parseTime} reads it (`+5m` after the capture's
 * first session starts, `-5m` before its last data), and from before to; with that start
 * (`base`) and end (`last`).
 * @throws {MdcapError} `MDCAP_ERR_REPLAY_RANGE` for an empty or reversed range.
 */
export function parseCaptureRange(
  manifest: Manifest,
  fromText: string | undefined,
  toText: string | undefined,
): { from: bigint | undefined; to: bigint | undefined; base: bigint | null; last: bigint | null } {
  const { start: base, end: last } = captureSpan(manifest);
  const from = fromText === undefined ? undefined : parseTime('--from', fromText, base, last);
  const to = toText === undefined ? undefined : parseTime('--to', toText, base, last);
  if (from !== undefined && to !== undefined && from >= to) {
    throw new MdcapError('MDCAP_ERR_REPLAY_RANGE', `--from ${nsToIso(from)} is not before --to ${nsToIso(to)}: expected from < to`);
  }
  return { from, to, base, last };
}

/** A URL with one of these schemes (`ws:`, `wss:`…), checked before anything connects. */
export function parseUrlOption(flag: string, text: string, schemes: readonly string[], example: string): string {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // below
  }
  if (url === null || !schemes.includes(url.protocol.slice(0, -1)) || url.hostname === '') {
    throw badOption(flag, `a ${schemes.map((x) => `${x}://`).join(' or ')} URL such as ${example}`, text);
  }
  return text;
}

/** A variadic positional (`[more..]`): none, one or several values, always as a list. */
export function positionalList(v: string | number | readonly (string | number)[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}
