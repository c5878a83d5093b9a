#!/usr/bin/env node
/**
 * The mdcap demo: the seeded simulated venue (`demo`) through the RealtimeEngine, with OHLCV
 * bars, order books and data-quality events, on a virtual clock (as fast as it can) or on the
 * wall clock (`--live`). Run twice with the same options on the virtual clock: the callback
 * stream hash is the same.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatDecimal, formatEventJson, LiveClock, MdcapError, nsToIso, parseDuration } from '@mdcap/core';
import type { Bar, Clock } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { DEFAULT_SIM_SYMBOLS, SimProvider } from '@mdcap/sim';

const HELP = `mdcap demo: a simulated market through the RealtimeEngine

Usage: pnpm demo [options]

Runs the seeded "demo" venue (random-walk trades against an L2 book that starts with a
snapshot and moves by deltas, quotes that match the book) through the same RealtimeEngine a
live feed or a replay uses, and prints the bars it builds, the final top of book, the
data-quality events and a hash of the whole callback stream.

Options:
  --symbols LIST     comma-separated symbols (default: AAPL,MSFT,BTC-USD; those are all there are)
  --duration D       simulated market time: 500ms, 30s, 5m, 1h (default 30m)
  --interval S       bar interval in seconds; repeat for several (default 60)
  --seed N           market seed, 0 to 4294967295 (default 1): same seed, same market,
                     and on the virtual clock the same callback-stream hash
  --gap-every N      lose every N-th packet of a symbol (N >= 1): a gap status, then a resync snapshot
  --live             run on the wall clock in real time (use a short --duration); timestamps
                     then come from the wall clock, so the hash differs from run to run
  --json             print every bar as one JSON line (the canonical event JSON) instead of a table
  -h, --help         this help

Examples:
  pnpm demo                                   # 30 minutes of AAPL, MSFT, BTC-USD, 1-minute bars
  pnpm demo --symbols AAPL --interval 300     # 5-minute bars of one symbol
  pnpm demo --gap-every 500                   # see gaps, resyncs and gap-flagged bars
  pnpm demo --live --duration 10s --interval 1
  pnpm -s demo --json | jq -c 'select(.symbol == "AAPL")'   # -s: no pnpm banner on stdout
`;

interface Options {
  readonly symbols: string[];
  readonly durationNs: bigint;
  readonly durationText: string;
  readonly intervals: number[];
  readonly seed: number;
  readonly gapEvery: number | undefined;
  readonly live: boolean;
  readonly json: boolean;
}

function fail(message: string): never {
  process.stderr.write(`mdcap demo: ${message}\n(see pnpm demo --help)\n`);
  process.exit(2);
}

function intArg(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    fail(`${name}: expected an integer from ${min} to ${max}, found ${JSON.stringify(text)}`);
  }
  return n;
}

function parse(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        symbols: { type: 'string', default: DEFAULT_SIM_SYMBOLS.map((s) => s.symbol).join(',') },
        duration: { type: 'string', default: '30m' },
        interval: { type: 'string', multiple: true, default: ['60'] },
        seed: { type: 'string', default: '1' },
        'gap-every': { type: 'string' },
        live: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  let durationNs: bigint;
  try {
    durationNs = parseDuration(values.duration);
  } catch (error) {
    fail(`--duration: ${(error as MdcapError).message}`);
  }
  if (durationNs <= 0n) fail('--duration: expected a positive duration, found 0');
  const symbols = values.symbols
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (symbols.length === 0) fail('--symbols: expected at least one symbol');
  return {
    symbols,
    durationNs,
    durationText: values.duration,
    intervals: values.interval.map((i) => intArg('--interval', i, 1, 31_536_000)),
    seed: intArg('--seed', values.seed, 0, 2 ** 32 - 1),
    gapEvery: values['gap-every'] === undefined ? undefined : intArg('--gap-every', values['gap-every'], 1, 2 ** 31),
    live: values.live,
    json: values.json,
  };
}

const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);
const count = (n: number): string => n.toLocaleString('en-US');

function barRow(b: Bar): string {
  const px = (m: bigint): string => formatDecimal(m, b.priceScale);
  const flags = [b.flags & 1 ? 'gap' : '', b.flags & 2 ? 'empty' : '', b.flags & 4 ? 'partial' : ''].filter(Boolean).join(',');
  return [
    pad(nsToIso(b.start).slice(0, 19).replace('T', ' '), 20),
    pad(`${b.interval}s`, 6),
    pad(b.symbol, 9),
    lpad(px(b.open), 10),
    lpad(px(b.high), 10),
    lpad(px(b.low), 10),
    lpad(px(b.close), 10),
    lpad(formatDecimal(b.volume, b.sizeScale, { trim: true }), 14),
    lpad(count(b.trades), 7),
    `  ${flags}`,
  ].join(' ');
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const clock: Clock | undefined = o.live ? new LiveClock() : undefined;
  let sim: SimProvider;
  let engine: RealtimeEngine;
  try {
    sim = new SimProvider({
      seed: o.seed,
      durationNs: o.durationNs,
      ...(clock === undefined ? {} : { clock, packetsPerSecond: 100 }),
      ...(o.gapEvery === undefined ? {} : { faults: { gapEvery: o.gapEvery } }),
    });
    engine = new RealtimeEngine(sim);
    engine.setBarInterval(...o.intervals);
  } catch (error) {
    fail(error instanceof MdcapError ? error.toString() : String(error));
  }

  // Every callback goes into one hash: the determinism promise, visible.
  const hash = createHash('sha256');
  const log = (name: string) => (e: Parameters<typeof formatEventJson>[0]) => void hash.update(`${name} ${formatEventJson(e)}\n`);
  engine.onTrade(log('trade'));
  engine.onQuote(log('quote'));
  engine.onBookUpdate(log('book'));
  engine.onStatus(log('status'));
  engine.onBar(log('bar'));
  const quality = { gap: 0, resync: 0, crossed: 0, disconnected: 0 };
  engine.onStatus((s) => {
    if (s.kind in quality) quality[s.kind as keyof typeof quality]++;
  });
  const errors: MdcapError[] = [];
  engine.onError((e) => errors.push(e));

  const out = process.stdout;
  const tty = process.stderr.isTTY && !o.json;
  const t0 = performance.now();
  try {
    await engine.start(o.symbols);
  } catch (error) {
    fail(error instanceof MdcapError ? error.toString() : String(error));
  }
  if (!o.json) {
    out.write(
      `mdcap demo: seeded venue "demo", seed ${o.seed}, ${o.live ? 'wall clock (live)' : 'virtual clock (as fast as it runs)'}\n` +
        `${o.symbols.join(', ')} · ${o.durationText} of market · ${o.intervals.map((i) => `${i} s`).join(' and ')} bars\n\n` +
        `${pad('bucket start (UTC)', 20)} ${pad('bar', 6)} ${pad('symbol', 9)} ${lpad('open', 10)} ${lpad('high', 10)} ${lpad('low', 10)} ${lpad('close', 10)} ${lpad('volume', 14)} ${lpad('trades', 7)}  flags\n`,
    );
  }
  engine.onBar((b) => out.write(o.json ? `${formatEventJson(b)}\n` : `${barRow(b)}\n`));

  let progressAt = 0;
  const start = sim.clock.now();
  if (tty) {
    engine.onTrade((t) => {
      const now = performance.now();
      if (now - progressAt < 200) return;
      progressAt = now;
      const pct = Number(((t.tsRecv - start) * 100n) / o.durationNs);
      process.stderr.write(`\r  ${pct}% of the market simulated…`);
    });
  }

  await engine.done();
  const seconds = (performance.now() - t0) / 1000;
  if (tty) process.stderr.write('\r\x1b[K');
  const stats = engine.stats();
  const events = Object.values(stats.events).reduce((a, b) => a + b, 0);
  const digest = hash.digest('hex');
  if (o.json) {
    process.stderr.write(`callback stream sha256 ${digest}\n`);
    return;
  }
  out.write('\ntop of book at the end:\n');
  for (const s of o.symbols) {
    const b = engine.book(s);
    const px = (m: bigint | null): string => (m === null ? '-' : formatDecimal(m, b.priceScale));
    const sz = (m: bigint): string => formatDecimal(m, b.sizeScale, { trim: true });
    out.write(
      `  ${pad(s, 9)} bid ${lpad(px(b.bestBidPrice()), 9)} x ${pad(sz(b.bestBidSize()), 12)} ask ${lpad(px(b.bestAskPrice()), 9)} x ${pad(sz(b.bestAskSize()), 12)} ${b.depth('bid')}/${b.depth('ask')} levels${b.valid ? '' : ' (invalid)'}\n`,
    );
  }
  const e = stats.events;
  out.write(
    `\nevents: ${count(e.trade)} trades, ${count(e.quote)} quotes, ${count(e.book)} book updates, ${count(e.status)} statuses; ${count(e.bar)} bars\n` +
      `data quality: ${quality.gap} gaps, ${quality.resync} resyncs, ${stats.bars.gapFlagged} gap-flagged bars, ${quality.crossed} crossed books, ${errors.length} errors\n` +
      `callback stream sha256 ${digest}${o.live ? ' (wall-clock timestamps: differs per run)' : '  (same options, same hash)'}\n` +
      `${count(events)} events in ${seconds.toFixed(2)} s${o.live ? '' : ` (${count(Math.round(events / seconds))} events/s)`}\n`,
  );
  for (const err of errors.slice(0, 5)) process.stderr.write(`  ${err.toString()}\n`);
}

await main();
