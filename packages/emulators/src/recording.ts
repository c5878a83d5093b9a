import { readFileSync } from 'node:fs';

/**
 * A raw wire recording in cryptofeed's line format (the `sample_data` files, and what
 * `mdcap record --raw` writes):
 *
 *     <url> <-> <unix_ts>              connection opened
 *     <url> <- <unix_ts>: <text>       a message the client sent
 *     <unix_ts>: <text>                a message the client received
 *     <url> -> <unix_ts>: <body>       a REST response
 *
 * `unix_ts` is seconds with a fraction; it is kept exact, in nanoseconds.
 */
export interface RecordedLine {
  readonly kind: 'open' | 'sent' | 'received' | 'rest';
  /** Receive (or send) time, ns since the epoch. */
  readonly ts: bigint;
  readonly url: string | null;
  readonly text: string;
}

function seconds(text: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,9})\d*)?$/.exec(text);
  if (m === null) throw new Error(`expected seconds since the epoch, found ${JSON.stringify(text)}`);
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Parses a recording; a line that fits none of the forms is an error naming the file and line. */
export function parseRecording(text: string, name = 'recording'): RecordedLine[] {
  const out: RecordedLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    try {
      const received = /^(\d+(?:\.\d+)?): /.exec(line);
      if (received !== null) {
        out.push({ kind: 'received', ts: seconds(received[1]!), url: null, text: line.slice(received[0].length) });
        continue;
      }
      const open = /^(\S+) <-> (\d+(?:\.\d+)?)$/.exec(line);
      if (open !== null) {
        out.push({ kind: 'open', ts: seconds(open[2]!), url: open[1]!, text: '' });
        continue;
      }
      const other = /^(\S+) (<-|->) (\d+(?:\.\d+)?): /.exec(line);
      if (other !== null) {
        out.push({ kind: other[2] === '<-' ? 'sent' : 'rest', ts: seconds(other[3]!), url: other[1]!, text: line.slice(other[0].length) });
        continue;
      }
      throw new Error('expected "<ts>: <text>", "<url> <- <ts>: <text>", "<url> -> <ts>: <body>" or "<url> <-> <ts>"');
    } catch (error) {
      throw new Error(`${name}:${i + 1}: ${(error as Error).message}, found ${JSON.stringify(line.slice(0, 120))}`, { cause: error });
    }
  }
  return out;
}

export function readRecording(path: string): RecordedLine[] {
  return parseRecording(readFileSync(path, 'utf8'), path);
}

/** Orders recorded lines (or anything with a `ts`) by time; `sort` is stable, so ties keep their order. */
export function byTime(a: { readonly ts: bigint }, b: { readonly ts: bigint }): number {
  return a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0;
}
