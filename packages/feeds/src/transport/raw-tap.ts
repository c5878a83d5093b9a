import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Seconds since the epoch with nine decimals: the recording format's time, exact. */
function seconds(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * The raw wire tap of `mdcap record --raw`: every received frame (and REST response) with its
 * receive time, in cryptofeed's line format, so `mdcap emulate --frames FILE` replays it and a
 * capture can be normalized again later. Written in 64 KiB pieces and at every `flush()`.
 */
export class RawTap {
  private readonly fd: number;
  private buffer = '';

  constructor(
    root: string,
    name: string,
    readonly url: string,
    start: bigint,
  ) {
    const dir = join(root, 'raw');
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, name);
    this.fd = openSync(this.path, 'a');
    this.buffer = `${url} <-> ${seconds(start)}\n`;
  }

  readonly path: string;

  frame = (text: string, tsRecv: bigint): void => {
    this.add(`${seconds(tsRecv)}: ${text}\n`);
  };

  rest = (url: string, body: string, tsRecv: bigint): void => {
    this.add(`${url} -> ${seconds(tsRecv)}: ${body}\n`);
  };

  private add(line: string): void {
    this.buffer += line;
    if (this.buffer.length >= 1 << 16) this.flush();
  }

  flush(): void {
    if (this.buffer === '') return;
    writeSync(this.fd, this.buffer);
    this.buffer = '';
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
