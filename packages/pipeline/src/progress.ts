import { captureSpan } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { timeFraction } from '@mdcap/core';

/**
 * How far a replay of the whole capture has got at `tsRecv`, from 0 to 1: by time, over the
 * capture's span (`captureSpan`: its first session's start to its last recorded time). For
 * progress lines only.
 */
export function captureFraction(m: Manifest): (tsRecv: bigint) => number {
  const { start, end } = captureSpan(m);
  const from = start ?? 0n;
  const to = end ?? from;
  return (tsRecv) => timeFraction(tsRecv, from, to);
}
