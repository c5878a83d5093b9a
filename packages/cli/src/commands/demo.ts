import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEventJson } from '@mdcap/core';
import type { Bar } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { record } from '@mdcap/pipeline';
import { parseSpeed, ReplayProvider } from '@mdcap/replay';
import { DEFAULT_SIM_SYMBOLS } from '@mdcap/sim';
import type { Argv } from 'yargs';
import { parseDurationOption, parseIntOption, parseList } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { BAR_HEADER, barRow } from '../format.js';
import { count, LineOutput, Progress } from '../output.js';

interface DemoArgs {
  readonly duration: string;
  readonly symbols?: string;
  readonly interval: string;
  readonly speed: string;
  readonly seed: string;
  readonly out?: string;
  readonly json: boolean;
}

const sha = (bars: readonly Bar[]): string =>
  createHash('sha256')
    .update(bars.map((b) => `${formatEventJson(b)}\n`).join(''))
    .digest('hex');

export const demoCommand: Command<DemoArgs> = {
  command: 'demo',
  describe: 'Record the simulated venue for a few seconds, replay it at 10x, compute the bars again in DuckDB, compare',
  builder: (y: Argv) =>
    y
      .option('duration', { type: 'string', default: '5s', describe: 'How long to record (wall time)' })
      .option('symbols', { type: 'string', describe: `Symbols (default ${DEFAULT_SIM_SYMBOLS.map((s) => s.symbol).join(',')})` })
      .option('interval', { type: 'string', default: '1', describe: 'Bar interval in seconds' })
      .option('speed', { type: 'string', default: '10x', describe: 'Replay speed' })
      .option('seed', { type: 'string', default: '1', describe: 'Market seed' })
      .option('out', { type: 'string', describe: 'Capture directory (default: a new temporary directory, kept for you to explore)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print one JSON object at the end (capture, events, bars, whether engine and DuckDB agree) instead of the tour',
      })
      .example('mdcap demo', 'the whole loop in about ten seconds, no network')
      .example('mdcap demo --json | jq .identical', 'the same, for a script: true when the bars agree')
      .example('mdcap demo --duration 2m --interval 60 --speed 20x', 'minute bars'),
  async run(a) {
    const symbols = a.symbols === undefined ? DEFAULT_SIM_SYMBOLS.map((s) => s.symbol) : parseList('--symbols', a.symbols);
    const durationNs = parseDurationOption('--duration', a.duration);
    const interval = parseIntOption('--interval', a.interval, 1, 86_400);
    const speed = parseSpeed(a.speed);
    const seed = parseIntOption('--seed', a.seed, 0, 2 ** 32 - 1);
    const dir = a.out ?? mkdtempSync(join(tmpdir(), 'mdcap-demo-'));
    const out = new LineOutput();
    const say = async (text: string): Promise<void> => {
      if (a.json) return; // one summary object at the end instead
      out.line(text);
      await out.end();
    };

    await say(`1. record: the simulated venue "demo" (${symbols.join(', ')}) on the wall clock for ${a.duration}, into ${dir}`);
    const progress = new Progress(process.stderr.isTTY === true && !a.json);
    const rec = await record({
      feed: { feed: 'demo', symbols, seed, rate: 1000 },
      out: dir,
      durationNs,
      onProgress: (p) => progress.update(() => `   recording: ${count(p.events)} events`),
    });
    progress.done();
    await say(`   ${count(rec.events)} events → ${rec.filesFinalized} Parquet files (zstd), ${rec.ringDrops} ring drops\n`);

    await say(`2. replay at ${speed === 'max' ? 'max speed' : `${speed}x`} through the RealtimeEngine, ${interval}-second bars:`);
    await say(`   ${BAR_HEADER}`);
    const replay = ReplayProvider.open(dir, { speed });
    const engine = new RealtimeEngine(replay);
    out.throttle(engine);
    engine.setBarInterval(interval);
    const engineBars: Bar[] = [];
    engine.onBar((b) => {
      engineBars.push(b);
      if (a.json) return;
      out.line(`   ${barRow(b)}`);
      out.flush();
    });
    const t0 = performance.now();
    await engine.run(symbols);
    const replaySeconds = (performance.now() - t0) / 1000;
    await say(`   ${count(replay.stats().events)} events replayed in ${replaySeconds.toFixed(2)} s\n`);

    await say(`3. DuckDB over the Parquet files: the same ${interval}-second bars by SQL`);
    const { CaptureAnalytics } = await import('@mdcap/analytics'); // DuckDB loads only for the commands that use it
    const db = await CaptureAnalytics.open(dir);
    let sqlBars: Bar[];
    try {
      sqlBars = (await db.bars({ intervals: [interval] })).filter((b) => symbols.includes(b.symbol));
    } finally {
      db.close();
    }
    const a1 = sha(engineBars);
    const a2 = sha(sqlBars);
    if (a.json) {
      const summary = {
        capture: dir,
        symbols,
        events: rec.events,
        parquetFiles: rec.filesFinalized,
        ringDrops: rec.ringDrops,
        replayed: replay.stats().events,
        speed: speed === 'max' ? 'max' : `${speed}x`,
        interval,
        engineBars: engineBars.length,
        duckdbBars: sqlBars.length,
        identical: a1 === a2,
        sha256: a1,
      };
      out.line(JSON.stringify(summary));
      await out.end();
      return a1 === a2 ? EXIT.ok : EXIT.problems;
    }
    if (a1 === a2) {
      await say(
        `   ${engineBars.length} bars from the engine, ${sqlBars.length} from DuckDB: identical, field for field (sha256 ${a1.slice(0, 16)}…)\n`,
      );
    } else {
      const lines = (bars: readonly Bar[]): string[] => bars.map((b) => formatEventJson(b));
      const e = lines(engineBars);
      const s = lines(sqlBars);
      const i = e.findIndex((l, k) => l !== s[k]);
      await say(
        `   MISMATCH: ${engineBars.length} engine bars, ${sqlBars.length} DuckDB bars; first difference at bar ${i}:\n   engine: ${e[i] ?? '(none)'}\n   duckdb: ${s[i] ?? '(none)'}`,
      );
      return EXIT.problems;
    }
    await say(
      [
        'explore the capture:',
        `   mdcap inspect ${dir}`,
        `   mdcap replay ${dir} --speed max --bars ${interval} --print trades,bars | head`,
        `   mdcap query ${dir} "SELECT symbol, count(*) AS trades, min(price), max(price) FROM trades GROUP BY ALL"`,
        `   mdcap verify ${dir}`,
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
