import { ConfigError, describeValue } from './errors.js';

/**
 * Nanosecond timestamps are bigint counts since the Unix epoch (they pass 2^53 in 1970 + 104 days).
 * These helpers convert at the edges, exactly: no Date object ever holds a timestamp.
 */

export const NS_PER_US = 1_000n;
export const NS_PER_MS = 1_000_000n;
export const NS_PER_SECOND = 1_000_000_000n;

/** Milliseconds (an integer number, e.g. from a venue's JSON) to nanoseconds. */
export function msToNs(ms: number): bigint {
  if (!Number.isSafeInteger(ms)) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `msToNs: expected an integer number of milliseconds, found ${describeValue(ms)}`);
  }
  return BigInt(ms) * NS_PER_MS;
}

/** Microseconds to nanoseconds. */
export function usToNs(us: number | bigint): bigint {
  if (typeof us === 'number' && !Number.isSafeInteger(us)) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `usToNs: expected an integer number of microseconds, found ${describeValue(us)}`);
  }
  return BigInt(us) * NS_PER_US;
}

/** Seconds (integer) to nanoseconds. */
export function secondsToNs(seconds: number): bigint {
  if (!Number.isSafeInteger(seconds)) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `secondsToNs: expected an integer number of seconds, found ${describeValue(seconds)}`,
    );
  }
  return BigInt(seconds) * NS_PER_SECOND;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * An RFC 3339 / ISO 8601 timestamp with up to nine fraction digits to ns since the epoch,
 * exactly: `"2021-02-22T15:51:44.208123456Z"` keeps all nine digits.
 */
export function isoToNs(text: string): bigint {
  const fast = typeof text === 'string' ? sameMinute(text) : null;
  if (fast !== null) return fast;
  const m = typeof text === 'string' ? ISO_RE.exec(text) : null;
  if (m === null) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `expected an ISO 8601 timestamp such as 2024-01-02T14:30:00.123456789Z, found ${describeValue(text)}`,
    );
  }
  const [y, mo, d, h, mi, s] = m.slice(1, 7) as [string, string, string, string, string, string];
  const frac = m[7] ?? '';
  const zone = m[8]!;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (
    Number.isNaN(ms) ||
    Number(mo) < 1 ||
    Number(mo) > 12 ||
    Number(d) < 1 ||
    Number(d) > new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate() || // the month's last day: no 31 April, no 29 February 2023
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 60
  ) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `expected a valid calendar date and time, found ${describeValue(text)}`);
  }
  let ns = BigInt(ms) * NS_PER_MS + BigInt(frac.padEnd(9, '0'));
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const digits = zone.slice(1).replace(':', '');
    const offsetMin = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
    ns -= sign * offsetMin * 60n * NS_PER_SECOND;
  }
  if (zone === 'Z' && text.length >= 20 && text.charCodeAt(16) === 58 /* : */) {
    minutePrefix = text.slice(0, 16);
    minuteNs = ns - BigInt(Number(s)) * NS_PER_SECOND - BigInt(frac.padEnd(9, '0'));
  }
  return ns;
}

/**
 * Feeds stamp thousands of messages within one minute: the last full parse remembers its UTC
 * minute (`YYYY-MM-DDTHH:MM`, validated there), and a timestamp in the same minute only needs
 * its seconds and fraction read. Anything unusual falls through to the full parse.
 */
let minutePrefix = '';
let minuteNs = 0n;

function sameMinute(text: string): bigint | null {
  const n = text.length;
  if (n < 20 || n > 30 || minutePrefix === '' || text.charCodeAt(n - 1) !== 90 /* Z */ || !text.startsWith(minutePrefix)) return null;
  if (text.charCodeAt(16) !== 58) return null;
  const s1 = text.charCodeAt(17) - 48;
  const s2 = text.charCodeAt(18) - 48;
  if (s1 < 0 || s1 > 6 || s2 < 0 || s2 > 9) return null;
  const seconds = s1 * 10 + s2;
  if (seconds > 60) return null;
  let frac = 0;
  if (n > 20) {
    if (text.charCodeAt(19) !== 46 /* . */) return null;
    const digits = n - 21;
    if (digits < 1 || digits > 9) return null;
    for (let i = 20; i < n - 1; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return null;
      frac = frac * 10 + d;
    }
    for (let k = digits; k < 9; k++) frac *= 10;
  } else if (text.charCodeAt(19) !== 90) return null;
  // seconds × 1e9 + frac < 6.1e10: exact in a double.
  return minuteNs + BigInt(seconds * 1_000_000_000 + frac);
}

/** ns since the epoch to `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (always nine fraction digits). */
export function nsToIso(ns: bigint): string {
  let seconds = ns / NS_PER_SECOND;
  let frac = ns % NS_PER_SECOND;
  if (frac < 0n) {
    frac += NS_PER_SECOND;
    seconds -= 1n;
  }
  const base = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${base.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

const DURATION_RE = /^(\d+)(ns|us|ms|s|m|h|d)$/;
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: NS_PER_US,
  ms: NS_PER_MS,
  s: NS_PER_SECOND,
  m: 60n * NS_PER_SECOND,
  h: 3600n * NS_PER_SECOND,
  d: 86_400n * NS_PER_SECOND,
};

/** `"500ms"`, `"30s"`, `"5m"`, `"1h"`, `"1d"` (also `ns`, `us`) to nanoseconds. */
export function parseDuration(text: string): bigint {
  const m = typeof text === 'string' ? DURATION_RE.exec(text.trim()) : null;
  if (m === null) {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `expected a duration such as 500ms, 30s, 5m or 1h, found ${describeValue(text)}`);
  }
  return BigInt(m[1]!) * UNIT_NS[m[2]!]!;
}

/**
 * `(at - start) / (end - start)`, in [0, 1]: how far a time has gone through a range (ns), for
 * progress lines. An empty or inverted range is 0.
 */
export function timeFraction(at: bigint, start: bigint, end: bigint): number {
  if (end <= start) return 0;
  return Math.min(1, Math.max(0, Number(at - start) / Number(end - start)));
}
