/**
 * Buffered line output to stdout. Lines are collected into ~64 KiB chunks (one write per chunk,
 * not per line); on Linux, writes to pipes and files are synchronous, so memory stays bounded
 * however fast the producer is. A closed pipe (`mdcap replay … | head`) ends the process quietly.
 */
export class LineOutput {
  private buffer = '';
  lines = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }

  line(text: string): void {
    this.buffer += `${text}\n`;
    this.lines++;
    if (this.buffer.length >= 65_536) this.flush();
  }

  flush(): void {
    if (this.buffer === '') return;
    this.stream.write(this.buffer);
    this.buffer = '';
  }

  /** Flushes and waits until the stream has taken everything. */
  async end(): Promise<void> {
    this.flush();
    await new Promise<void>((resolve) => {
      if (this.stream.writableNeedDrain) this.stream.once('drain', resolve);
      else resolve();
    });
  }
}

/**
 * A progress line on stderr, redrawn at most five times a second, only when stderr is a
 * terminal: piped or redirected output stays clean.
 */
export class Progress {
  private last = 0;
  private shown = false;
  readonly enabled: boolean;

  constructor(enabled: boolean = process.stderr.isTTY === true) {
    this.enabled = enabled;
  }

  update(text: () => string): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 200) return;
    this.last = now;
    process.stderr.write(`\r\x1b[K${text()}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

/** `1234567` → `1,234,567`. */
export function count(n: number | bigint): string {
  return n.toLocaleString('en-US');
}

/** Bytes with a binary unit. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
