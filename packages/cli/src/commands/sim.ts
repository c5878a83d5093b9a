import { createHash } from 'node:crypto';
import { formatDecimal, formatEventJson, LiveClock, timeFraction } from '@mdcap/core';
import type { MarketEvent, MdcapError } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { DEFAULT_SIM_SYMBOLS, SimProvider } from '@mdcap/sim';
import type { Argv } from 'yargs';
import { parseDurationOption, parseIntervals, parseIntOption, parseList } from '../args.js';
import { EXIT, warn } from '../command.js';
import type { Command } from '../command.js';
import { BAR_HEADER, barRow } from '../format.js';
import { count, LineOutput, Progress } from '../output.js';

interface SimArgs {
  readonly symbols?: string;
  readonly duration: string;
  readonly interval: string;
  readonly seed: string;
  readonly gapEvery?: string;
  readonly live: boolean;
  readonly json: boolean;
}

export const simCommand: Command<SimArgs> = {
  command: 'sim',
  describe: 'Run the simulated venue through the RealtimeEngine (no recording): bars, books, data-quality events, a callback hash',
  builder: (y: Argv) =>
    y
      .option('symbols', {
        type: 'string',
        describe: `Symbols (default ${DEFAULT_SIM_SYMBOLS.map((s) => s.symbol).join(',')}: all there are)`,
      })
      .option('duration', { type: 'string', default: '30m', describe: 'Simulated market time: 500ms, 30s, 5m, 1h' })
      .option('interval', { type: 'string', default: '60', describe: 'Bar interval(s) in seconds: 60 or 60,300' })
      .option('seed', { type: 'string', default: '1', describe: 'Market seed (same seed, same market, same hash on the virtual clock)' })
      .option('gap-every', { type: 'string', describe: 'Lose every N-th packet of a symbol: a gap status, then a resync snapshot' })
      .option('live', { type: 'boolean', default: false, describe: 'Run on the wall clock in real time (use a short --duration)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print every bar as one canonical JSON line' })
      .example('mdcap sim', '30 minutes of market in a second or two, with 1-minute bars')
      .example('mdcap sim --gap-every 500', 'gaps, resyncs and gap-flagged bars')
      .example('mdcap sim --live --duration 10s --interval 1', 'the same engine on the wall clock'),
  async run(a) {
    const symbols = a.symbols === undefined ? DEFAULT_SIM_SYMBOLS.map((s) => s.symbol) : parseList('--symbols', a.symbols);
    const durationNs = parseDurationOption('--duration', a.duration);
    const intervals = parseIntervals('--interval', a.interval);
    const seed = parseIntOption('--seed', a.seed, 0, 2 ** 32 - 1);
    const gapEvery = a.gapEvery === undefined ? undefined : parseIntOption('--gap-every', a.gapEvery, 1, 2 ** 31);
    const sim = new SimProvider({
      seed,
      durationNs,
      ...(a.live ? { clock: new LiveClock(), packetsPerSecond: 100 } : {}),
      ...(gapEvery === undefined ? {} : { faults: { gapEvery } }),
    });
    const engine = new RealtimeEngine(sim);
    engine.setBarInterval(...intervals);
    // Every callback goes into one hash: the determinism promise, visible.
    const hash = createHash('sha256');
    const log = (name: string) => (e: MarketEvent) => void hash.update(`${name} ${formatEventJson(e)}\n`);
    engine.onTrade(log('trade'));
    engine.onQuote(log('quote'));
    engine.onBookUpdate(log('book'));
    engine.onStatus(log('status'));
    engine.onBar(log('bar'));
    const quality = { gap: 0, resync: 0, crossed: 0 };
    engine.onStatus((s) => {
      if (s.kind in quality) quality[s.kind as keyof typeof quality]++;
    });
    const errors: MdcapError[] = [];
    engine.onError((e) => errors.push(e));
    const out = new LineOutput().throttle(engine);
    const progress = new Progress(a.json ? { enabled: false } : {});
    const start = sim.clock.now();
    engine.onTrade((t) => progress.update('of the market simulated…', () => timeFraction(t.tsRecv, start, start + durationNs)));
    const t0 = performance.now();
    await engine.start(symbols); // an unknown symbol fails here, before any output
    if (!a.json) {
      out.line(`mdcap sim: seeded venue "demo", seed ${seed}, ${a.live ? 'wall clock (live)' : 'virtual clock (as fast as it runs)'}`);
      out.line(`${symbols.join(', ')} · ${a.duration} of market · ${intervals.map((i) => `${i} s`).join(' and ')} bars\n`);
      out.line(BAR_HEADER);
    }
    engine.onBar((b) => out.line(a.json ? formatEventJson(b) : barRow(b)));
    await engine.done();
    progress.done();
    const seconds = (performance.now() - t0) / 1000;
    const stats = engine.stats();
    const digest = hash.digest('hex');
    if (a.json) {
      await out.end();
      process.stderr.write(`callback stream sha256 ${digest}\n`);
      return errors.length > 0 ? EXIT.problems : EXIT.ok;
    }
    out.line('\ntop of book at the end:');
    for (const s of symbols) {
      const b = engine.book(s);
      const px = (m: bigint | null): string => (m === null ? '-' : formatDecimal(m, b.priceScale));
      const sz = (m: bigint): string => formatDecimal(m, b.sizeScale, { trim: true });
      out.line(
        `  ${s.padEnd(9)} bid ${px(b.bestBidPrice()).padStart(9)} x ${sz(b.bestBidSize()).padEnd(12)} ask ${px(b.bestAskPrice()).padStart(9)} x ${sz(b.bestAskSize()).padEnd(12)} ${b.depth('bid')}/${b.depth('ask')} levels${b.valid ? '' : ' (invalid)'}`,
      );
    }
    const e = stats.events;
    const events = Object.values(e).reduce((x, y) => x + y, 0);
    out.line(
      `\nevents: ${count(e.trade)} trades, ${count(e.quote)} quotes, ${count(e.book)} book updates, ${count(e.status)} statuses; ${count(e.bar)} bars`,
    );
    out.line(
      `data quality: ${quality.gap} gaps, ${quality.resync} resyncs, ${stats.bars.gapFlagged} gap-flagged bars, ${quality.crossed} crossed books, ${errors.length} errors`,
    );
    out.line(`callback stream sha256 ${digest}${a.live ? ' (wall-clock timestamps: differs per run)' : '  (same options, same hash)'}`);
    out.line(`${count(events)} events in ${seconds.toFixed(2)} s${a.live ? '' : ` (${count(Math.round(events / seconds))} events/s)`}`);
    await out.end();
    for (const err of errors.slice(0, 5)) warn('sim', err.toString());
    return errors.length > 0 ? EXIT.problems : EXIT.ok;
  },
};
