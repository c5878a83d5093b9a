import type { Manifest } from '@mdcap/capture';

/**
 * How far a replay of the whole capture has got at `tsRecv`, from 0 to 1: by time, from the
 * first session's start (or the first row) to the last session's end (or the last row). For
 * progress lines only.
 */
export function captureFraction(m: Manifest): (tsRecv: bigint) => number {
  let start: bigint | null = null;
  let end: bigint | null = null;
  const see = (t: string | null): void => {
    if (t === null) return;
    const v = BigInt(t);
    if (start === null || v < start) start = v;
    if (end === null || v > end) end = v;
  };
  for (const s of m.sessions) {
    see(s.start);
    see(s.end);
  }
  for (const f of m.files) {
    see(f.tsRecvMin);
    see(f.tsRecvMax);
  }
  const from: bigint = start ?? 0n;
  const span = end === null ? 0 : Number(end - from);
  return (tsRecv) => (span <= 0 ? 0 : Math.min(1, Math.max(0, Number(tsRecv - from) / span)));
}
