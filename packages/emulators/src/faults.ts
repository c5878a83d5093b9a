/**
 * Faults an emulator injects, each once, counted in data frames sent on a connection (so
 * `drop:500` closes the first connection that reaches its 500th data frame):
 *
 * - `drop:N`: the connection is cut (no close handshake) after data frame N;
 * - `skip:N`: data frame N is not sent (a lost message; for a sequenced feed, a gap);
 * - `corrupt-checksum:N`: the N-th frame that carries a checksum is sent with a wrong one;
 * - `malformed:N`: before data frame N, a malformed copy of it goes out: the venue's frame with
 *   one byte lost (a quote from its middle), no longer JSON, still naming its symbol;
 * - `stall:N`: after data frame N the connection stays open and goes silent, heartbeats too;
 * - `reject-auth` (venues with authentication): the credentials are refused.
 */
export type FaultKind = 'drop' | 'skip' | 'corrupt-checksum' | 'malformed' | 'stall' | 'reject-auth';

export interface Fault {
  readonly kind: FaultKind;
  readonly n: number;
}

const KINDS: readonly FaultKind[] = ['drop', 'skip', 'corrupt-checksum', 'malformed', 'stall', 'reject-auth'];

/** `drop:500,corrupt-checksum:100` → faults; a clear error for anything else. */
export function parseFaults(text: string): Fault[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const m = /^([a-z-]+)(?::(\d+))?$/.exec(part.trim());
    const kind = m?.[1] as FaultKind | undefined;
    if (m === null || kind === undefined || !KINDS.includes(kind)) {
      throw new Error(
        `--fault: expected one of ${KINDS.map((k) => (k === 'reject-auth' ? k : `${k}:N`)).join(', ')}, found ${JSON.stringify(part)}`,
      );
    }
    const n = m[2] === undefined ? 0 : Number(m[2]);
    if (kind !== 'reject-auth' && !(n >= 1)) throw new Error(`--fault: expected ${kind}:N with N ≥ 1, found ${JSON.stringify(part)}`);
    return { kind, n };
  });
}
