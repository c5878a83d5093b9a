let quiet = false;
/** Clears the line drawn last and not cleared yet: stdout output on the same terminal calls it first. */
let active: (() => void) | null = null;

/** `--quiet`: no progress lines, no informational chatter (errors and warnings still go to stderr). */
export function setQuiet(on: boolean): void {
  quiet = on;
}

/** True under `--quiet`. */
export function isQuiet(): boolean {
  return quiet;
}

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
    // Lines on the terminal that shows a progress line: clear it first (it is redrawn after them).
    if ((this.stream as { isTTY?: boolean }).isTTY === true) active?.();
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

/** Where a {@link Progress} line is drawn: stderr, or a fake in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  /** The terminal's width (a TTY's; when undefined or 0, 80 is assumed). */
  readonly columns?: number;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  /** Default: process.stderr. */
  readonly stream?: ProgressStream;
  /** Draw at all (default: when the stream is a terminal). `--quiet` turns it off whatever this says. */
  readonly enabled?: boolean;
  /** Milliseconds, for the redraw throttle (default: performance.now). */
  readonly now?: () => number;
}

/** The redraw interval: at most five times a second. */
const REDRAW_MS = 200;

/**
 * The progress line itself, `[#####-----]  42% text` when the fraction done is known (else just
 * the text), cut to `columns - 1` characters so that it never wraps (a wrapped line is not
 * redrawn in place by `\r`). On a narrow terminal the bar goes first, then the text is cut.
 */
export function progressLine(text: string, fraction: number | undefined, columns: number): string {
  const width = Math.max(1, Math.floor(columns) - 1);
  let line = text;
  if (fraction !== undefined && Number.isFinite(fraction)) {
    const f = Math.min(1, Math.max(0, fraction));
    const pct = `${Math.floor(f * 100)}%`.padStart(4);
    // The bar takes about a quarter of the line, 10 to 40 cells, when there is room for it.
    const cells = Math.min(40, Math.floor(width / 4));
    if (cells >= 10) {
      const done = Math.floor(f * cells);
      line = `[${'#'.repeat(done)}${'-'.repeat(cells - done)}] ${pct} ${text}`;
    } else line = `${pct} ${text}`;
  }
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * A progress line on stderr, redrawn at most five times a second, only when stderr is a
 * terminal (piped or redirected output stays clean) and not under `--quiet`. With the fraction
 * done it is a bar sized to the terminal.
 */
export class Progress {
  private last = Number.NEGATIVE_INFINITY;
  private shown = false;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  /** `clear`, bound: what {@link LineOutput} calls while this line is shown. */
  private readonly clearLine = (): void => this.clear();
  readonly enabled: boolean;

  /** `enabled` alone (the old form) or options; either way `--quiet` wins. */
  constructor(options: boolean | ProgressOptions = {}) {
    const o: ProgressOptions = typeof options === 'boolean' ? { enabled: options } : options;
    this.stream = o.stream ?? process.stderr;
    this.now = o.now ?? (() => performance.now());
    this.enabled = !quiet && (o.enabled ?? this.stream.isTTY === true);
  }

  /**
   * Redraws the line, unless it was drawn less than 200 ms ago (the first call draws at once).
   * `text` and `fraction` (0 to 1) may be functions: they are called only when the line is drawn.
   */
  update(text: string | (() => string), fraction?: number | (() => number | undefined)): void {
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.last < REDRAW_MS) return;
    this.last = now;
    const t = typeof text === 'function' ? text() : text;
    const f = typeof fraction === 'function' ? fraction() : fraction;
    // A terminal that does not say its width (0: a pty without a size) is taken as 80 columns.
    const columns = this.stream.columns ?? 0;
    this.stream.write(`\r\x1b[K${progressLine(t, f, columns > 0 ? columns : 80)}`);
    this.shown = true;
    active = this.clearLine;
  }

  /** Clears the line (if drawn), for other output on the terminal; the next update draws it again. */
  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
    if (active === this.clearLine) active = null;
  }

  /** The work is over: clears the line. */
  done(): void {
    this.clear();
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
