import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/**
 * What an emulator sent and a feed received, frame by frame, so that a test waits until the feed
 * has everything the emulator sent rather than for a quiet moment (which a busy machine makes up).
 *
 * The emulator side is kept per connection: a dropped connection loses the frames in flight, and
 * nobody waits for those. The feed side need not know connections: frames arrive in order, so
 * once the feed's last frames are the last frames sent on the emulator's latest connection,
 * everything before them on that connection has arrived. (The comparison covers the last
 * `tail` frames: a feed that does not pass on the frames of its handshake, as Alpaca's
 * authentication, still compares on what follows.)
 */
export class FrameTrail {
  private connection = -1;
  private sentOnLatest: string[] = [];
  private sentCount = 0;
  private readonly last: string[] = [];
  private receivedCount = 0;

  constructor(private readonly tail = 16) {}

  /** For the emulator's `onSend`, with the emulator's connection count at that moment (`emulator.stats.connections`). */
  sent(text: string, connection: number): void {
    if (connection !== this.connection) {
      this.connection = connection;
      this.sentOnLatest = [];
    }
    this.sentOnLatest.push(text);
    if (this.sentOnLatest.length > this.tail) this.sentOnLatest.shift();
    this.sentCount++;
  }

  /** Every frame the feed received, in order (its `onFrame`, or the frames of its raw tap). */
  received(text: string): void {
    this.last.push(text);
    if (this.last.length > this.tail) this.last.shift();
    this.receivedCount++;
  }

  /** True once the feed has received the last frames the emulator sent (on its latest connection). */
  caughtUp(): boolean {
    const want = this.sentOnLatest;
    if (want.length === 0 || this.last.length < want.length) return false;
    const offset = this.last.length - want.length;
    return want.every((text, i) => this.last[offset + i] === text);
  }

  /** For failure messages. */
  describe(): string {
    const short = (t: string | undefined): string => (t === undefined ? 'none' : t.length > 80 ? `${t.slice(0, 80)}…` : t);
    return `${this.sentCount} frames sent (latest connection ${this.connection}), ${this.receivedCount} received; last sent ${short(this.sentOnLatest.at(-1))}, last received ${short(this.last.at(-1))}`;
  }
}

/**
 * Follows the raw tap of a feed (`WorkerFeed.tapRaw`, `mdcap record --raw`) as it is written:
 * each `poll()` hands on the frames and REST responses appended since the last one. The tap is
 * the handler thread's own record of what it received, in order.
 */
export class RawTapFollower {
  private offset = 0;
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  /** REST responses seen so far. */
  rest = 0;

  constructor(
    readonly path: string,
    private readonly onFrame: (text: string) => void,
  ) {}

  poll(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(1 << 16);
      for (let n; (n = readSync(fd, buf, 0, buf.length, this.offset)) > 0;) {
        this.offset += n;
        const lines = (this.partial + this.decoder.write(buf.subarray(0, n))).split('\n');
        this.partial = lines.pop()!;
        for (const line of lines) this.line(line);
      }
    } finally {
      closeSync(fd);
    }
  }

  private line(line: string): void {
    // `SECONDS: TEXT` a frame; `URL -> SECONDS: BODY` a REST response; `URL <-> SECONDS` a header.
    const frame = /^\d+\.\d{9}: /.exec(line);
    if (frame !== null) this.onFrame(line.slice(frame[0].length));
    else if (/^\S+ -> \d+\.\d{9}: /.test(line)) this.rest++;
  }
}

/** Starts an emulator (`start` passes `onSend` in its options) whose every frame sent goes into a new trail. */
export async function withFrameTrail<E extends { readonly stats: { readonly connections: number } }>(
  start: (onSend: (text: string) => void) => Promise<E>,
): Promise<{ emulator: E; trail: FrameTrail }> {
  const trail = new FrameTrail();
  const holder: { emulator: E | null } = { emulator: null };
  // Frames are sent only to clients, so never before `start` has resolved.
  holder.emulator = await start((text) => trail.sent(text, holder.emulator!.stats.connections));
  return { emulator: holder.emulator, trail };
}
