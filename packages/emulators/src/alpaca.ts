import { byTime } from './recording.js';
import { ReplayServer } from './server.js';
import type { Client, EmulatorOptions, TimelineFrame } from './server.js';

/**
 * Alpaca market data v2 (stocks), scripted: there is no recording to replay, so the emulator
 * speaks the documented protocol over a seeded market. On connect it sends
 * `[{"T":"success","msg":"connected"}]`; `{"action":"auth","key","secret"}` is answered with
 * `authenticated` or `[{"T":"error","code":402,"msg":"auth failed"}]`; a second connection
 * while one is authenticated gets `406 connection limit exceeded`; `subscribe` before
 * authenticating gets `401 not authenticated`, a malformed one `400 invalid syntax`; a
 * subscription is confirmed with a `subscription` message. Then trades (`T: t`) and quotes
 * (`T: q`) come every 100 ms per symbol, and a minute bar (`T: b`) per symbol computed from those
 * very trades, on the market's timeline from the first subscription.
 */
export interface AlpacaEmulatorOptions extends EmulatorOptions {
  /** Accepted credentials (default `key` / `secret`). */
  readonly key?: string;
  readonly secret?: string;
  /** Symbols with data and their start prices in cents (default AAPL, MSFT, SPY). */
  readonly symbols?: Readonly<Record<string, number>>;
  /** Minutes of market (default 2). */
  readonly minutes?: number;
  /** Market start, ms since the epoch (default 2024-01-02 14:30 UTC). */
  readonly startMs?: number;
}

const cents = (c: number): string => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
const iso = (ms: number): string => new Date(ms).toISOString();

export class AlpacaEmulator extends ReplayServer {
  private readonly authed = new Set<Client>();

  private constructor(
    http: Awaited<ReturnType<typeof ReplayServer.listen>>,
    private readonly o: AlpacaEmulatorOptions,
  ) {
    super(http, o);
    const symbols = o.symbols ?? { AAPL: 18_500, MSFT: 37_500, SPY: 47_000 };
    const start = o.startMs ?? Date.UTC(2024, 0, 2, 14, 30);
    let x = 0x51ed2701;
    const rnd = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const frames: TimelineFrame[] = [];
    const at = (ms: number, key: string, msg: Record<string, unknown>): void => {
      // Numbers as Alpaca writes them: bare JSON numbers (the feed must keep their text).
      const text = `[${JSON.stringify(msg).replace(/"(?:__num__)(-?[\d.]+)"/g, '$1')}]`;
      frames.push({ ts: BigInt(ms) * 1_000_000n, text, key });
    };
    const num = (s: string): string => `__num__${s}`;
    let id = 1;
    for (const [symbol, first] of Object.entries(symbols)) {
      let price = first;
      for (let m = 0; m < (o.minutes ?? 2); m++) {
        let open = -1;
        let high = 0;
        let low = Infinity;
        let volume = 0;
        let n = 0;
        for (let k = 0; k < 600; k++) {
          const ms = start + m * 60_000 + k * 100 + rnd(50);
          price += rnd(3) - 1;
          at(ms, `quotes:${symbol}`, {
            T: 'q',
            S: symbol,
            bx: 'V',
            bp: num(cents(price - 1)),
            bs: num(String(1 + rnd(5))),
            ax: 'V',
            ap: num(cents(price + 1)),
            as: num(String(1 + rnd(5))),
            t: iso(ms),
            c: ['R'],
            z: 'C',
          });
          if (k % 2 === 1) {
            const size = 1 + rnd(300);
            at(ms + 1, `trades:${symbol}`, {
              T: 't',
              S: symbol,
              i: num(String(id++)),
              x: 'V',
              p: num(cents(price)),
              s: num(String(size)),
              t: iso(ms + 1),
              c: ['@'],
              z: 'C',
            });
            if (open < 0) open = price;
            high = Math.max(high, price);
            low = Math.min(low, price);
            volume += size;
            n++;
          }
        }
        const barStart = start + m * 60_000;
        at(barStart + 60_000 + 20, `bars:${symbol}`, {
          T: 'b',
          S: symbol,
          o: num(cents(open)),
          h: num(cents(high)),
          l: num(cents(low)),
          c: num(cents(price)),
          v: num(String(volume)),
          t: iso(barStart),
          n,
          vw: num(cents(price)),
        });
      }
    }
    frames.sort(byTime);
    this.frames.push(...frames);
  }

  static async start(options: AlpacaEmulatorOptions = {}): Promise<AlpacaEmulator> {
    return new AlpacaEmulator(await ReplayServer.listen(options), options);
  }

  protected override onConnect(c: Client): void {
    this.send(c, '[{"T":"success","msg":"connected"}]');
    if (this.authed.size > 0) {
      this.send(c, '[{"T":"error","code":406,"msg":"connection limit exceeded"}]');
      c.socket.close(1008, 'connection limit exceeded');
    }
    c.socket.on('close', () => this.authed.delete(c));
  }

  protected override onMessage(c: Client, text: string): void {
    let m: { action?: unknown; key?: unknown; secret?: unknown; trades?: unknown; quotes?: unknown; bars?: unknown };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      this.send(c, '[{"T":"error","code":400,"msg":"invalid syntax"}]');
      return;
    }
    if (m.action === 'auth') {
      const ok = m.key === (this.o.key ?? 'key') && m.secret === (this.o.secret ?? 'secret') && !this.fault('reject-auth', 0);
      if (!ok) {
        this.send(c, '[{"T":"error","code":402,"msg":"auth failed"}]');
        return;
      }
      this.authed.add(c);
      this.send(c, '[{"T":"success","msg":"authenticated"}]');
      return;
    }
    if (m.action !== 'subscribe' && m.action !== 'unsubscribe') {
      this.send(c, '[{"T":"error","code":400,"msg":"invalid syntax"}]');
      return;
    }
    if (!this.authed.has(c)) {
      this.send(c, '[{"T":"error","code":401,"msg":"not authenticated"}]');
      return;
    }
    const lists = { trades: m.trades, quotes: m.quotes, bars: m.bars };
    if (Object.values(lists).some((l) => l !== undefined && (!Array.isArray(l) || l.some((s) => typeof s !== 'string')))) {
      this.send(c, '[{"T":"error","code":400,"msg":"invalid syntax"}]');
      return;
    }
    for (const [channel, list] of Object.entries(lists)) {
      for (const s of (list as string[] | undefined) ?? []) {
        if (m.action === 'subscribe') c.subs.add(`${channel}:${s}`);
        else c.subs.delete(`${channel}:${s}`);
      }
    }
    const current = (channel: string): string[] =>
      [...c.subs].filter((k) => k.startsWith(`${channel}:`)).map((k) => k.slice(channel.length + 1));
    this.send(c, JSON.stringify([{ T: 'subscription', trades: current('trades'), quotes: current('quotes'), bars: current('bars') }]));
    if (m.action === 'subscribe') this.subscribed();
  }

  protected override apply(): void {}
}
