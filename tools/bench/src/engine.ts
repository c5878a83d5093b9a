/**
 * Engine dispatch: trades decoded from typed columns (as a replay decodes Parquet) into
 * `onTrade`, with one 60 s bar interval on. Baseline: the same decode loop calling the same
 * callback directly. Usage: node dist/engine.js [trades=10e6] [symbols=100]
 */
import { SUBSCRIPTION_KINDS, VirtualClock } from '@mdcap/core';
import type { DataProvider, EventSink, Trade } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { arg, report, since } from './measure.js';

const N = arg(0, 10_000_000);
const S = arg(1, 100);
const CHUNK = 4096;
const T0 = 1_704_205_800_000_000_000n;

// Columns: 100 µs between trades, symbols interleaved (the worst case for per-symbol lookups).
const names = Array.from({ length: S }, (_, i) => `SYM${i}`);
const sym = new Int32Array(N);
const ts = new BigInt64Array(N);
const px = new BigInt64Array(N);
const sz = new BigInt64Array(N);
{
  let p = 15_000n;
  for (let i = 0; i < N; i++) {
    sym[i] = (i * 7919) % S;
    ts[i] = T0 + BigInt(i) * 100_000n;
    p += BigInt((i % 7) - 3);
    px[i] = p;
    sz[i] = BigInt(1 + (i % 100));
  }
}

const chunk: Trade[] = new Array<Trade>(CHUNK);
function decode(off: number, n: number): void {
  for (let j = 0; j < n; j++) {
    const i = off + j;
    const t = ts[i]!;
    chunk[j] = {
      type: 'trade',
      venue: 'bench',
      symbol: names[sym[i]!]!,
      tsEvent: t,
      tsRecv: t,
      seq: null,
      price: px[i]!,
      size: sz[i]!,
      priceScale: 2,
      sizeScale: 0,
      side: 'buy',
      tradeId: null,
    };
  }
}

let count = 0;
const onTrade = (t: Trade): void => {
  count += t.priceScale;
};

/** Feeds every trade through `consume` chunk by chunk; returns the seconds spent decoding and consuming. */
function run(consume: (n: number) => void): { decodeS: number; consumeS: number } {
  let decodeS = 0;
  let consumeS = 0;
  for (let off = 0; off < N; off += CHUNK) {
    const n = Math.min(CHUNK, N - off);
    let t0 = performance.now();
    decode(off, n);
    decodeS += since(t0);
    t0 = performance.now();
    consume(n);
    consumeS += since(t0);
  }
  return { decodeS, consumeS };
}

function baseline(): void {
  const { decodeS, consumeS } = run((n) => {
    for (let j = 0; j < n; j++) onTrade(chunk[j]!);
  });
  report({ bench: 'engine', case: `baseline: decode + direct callback, ${S} symbols`, items: N, seconds: decodeS + consumeS });
  report({ bench: 'engine', case: `baseline: direct callback only, ${S} symbols`, items: N, seconds: consumeS });
}

async function engine(label: string, opts: { validatesEvents: boolean; bars: boolean }): Promise<void> {
  let sink: EventSink | null = null;
  const provider: DataProvider = {
    venue: 'bench',
    clock: new VirtualClock(T0),
    kinds: SUBSCRIPTION_KINDS,
    validatesEvents: opts.validatesEvents,
    connect: (s) => {
      sink = s;
      return Promise.resolve();
    },
    subscribe: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
  };
  const e = new RealtimeEngine(provider, { books: false });
  if (opts.bars) e.setBarInterval(60);
  e.onTrade(onTrade);
  let bars = 0;
  e.onBar(() => bars++);
  await e.start(names);
  const push = sink!.push;
  const { decodeS, consumeS: dispatchS } = run((n) => {
    for (let j = 0; j < n; j++) push(chunk[j]!);
  });
  await e.stop();
  const note = `${bars} bars`;
  report({ bench: 'engine', case: `engine dispatch only: ${label}`, items: N, seconds: dispatchS, note });
  report({ bench: 'engine', case: `engine decode + dispatch: ${label}`, items: N, seconds: decodeS + dispatchS, note });
}

const which = process.env['BENCH_CASE'] ?? 'all';
if (which === 'all' || which === 'baseline') baseline();
if (which === 'all' || which === 'bars') await engine(`60 s bars, ${S} symbols`, { validatesEvents: true, bars: true });
if (which === 'all' || which === 'validated')
  await engine(`60 s bars, ${S} symbols, every event validated`, { validatesEvents: false, bars: true });
if (which === 'all' || which === 'nobars') await engine(`no bars, ${S} symbols`, { validatesEvents: true, bars: false });
if (count < 0) console.log(count);
