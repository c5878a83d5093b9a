/** Something that can hold its output while a stream is full: an engine (its provider pauses). */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/**
 * Buffered line output to stdout that respects the stream's backpressure. Lines are collected
 * into ~64 KiB chunks (one write per chunk, not per line). When the stream is full (a pipe whose
 * reader is slow: `mdcap replay … | slow-consumer`), the source given to {@link throttle} is
 * paused until the stream drains, and loops that produce lines themselves `await ready()`; so
 * memory stays bounded however slow the reader is. A closed pipe (`mdcap replay … | head`) ends
 * the process quietly.
 */
export class LineOutput {
  private buffer = '';
  private waiting: Promise<void> | null = null;
  private source: Pausable | null = null;
  lines = 0;

  constructor(private readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean } = process.stdout) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }

  /** Pauses `source` whenever the stream is full, and resumes it when it drains. */
  throttle(source: Pausable): this {
    this.source = source;
    return this;
  }

  line(text: string): void {
    this.buffer += `${text}\n`;
    this.lines++;
    if (this.buffer.length >= 65_536) this.flush();
  }

  flush(): void {
    if (this.buffer === '') return;
    const ok = this.stream.write(this.buffer);
    this.buffer = '';
    if (!ok && this.waiting === null) {
      this.source?.pause();
      this.waiting = new Promise<void>((resolve) =>
        this.stream.once('drain', () => {
          this.waiting = null;
          this.source?.resume();
          resolve();
        }),
      );
    }
  }

  /** True while the stream is full: a loop that makes lines should `await ready()`. */
  get blocked(): boolean {
    return this.waiting !== null;
  }

  /** Resolves when the stream can take more (at once when it can). */
  ready(): Promise<void> {
    return this.waiting ?? Promise.resolve();
  }

  /** Flushes and waits until the stream has taken everything. */
  async end(): Promise<void> {
    this.flush();
    await this.ready();
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
