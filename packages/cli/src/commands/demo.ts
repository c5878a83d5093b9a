import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEventJson, SUBSCRIPTION_KINDS } from '@mdcap/core';
import type { Bar } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { record } from '@mdcap/pipeline';
import { parseSpeed, ReplayProvider } from '@mdcap/replay';
import { DEFAULT_SIM_SYMBOLS } from '@mdcap/sim';
import type { Argv } from 'yargs';
import { badOption, parseDurationOption, parseIntervals, parseIntOption, parseList } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { LOCAL_VENUE_SPEED, LOCAL_VENUES, openDemoFeeds, simulatedFeed } from '../demo-feeds.js';
import type { DemoFeed } from '../demo-feeds.js';
import { BAR_HEADER, barRow } from '../format.js';
import { count, LineOutput, Progress } from '../output.js';

interface DemoArgs {
  readonly duration: string;
  readonly symbols?: string;
  readonly feeds?: readonly string[];
  readonly interval: string;
  readonly barTimestamp?: string;
  readonly speed: string;
  readonly seed: string;
  readonly out?: string;
  readonly json: boolean;
}

const sha = (bars: readonly Bar[]): string =>
  createHash('sha256')
    .update(bars.map((b) => `${formatEventJson(b)}\n`).join(''))
    .digest('hex');

/** `1-second`; `1-, 60- and 300-second`. */
const intervalWords = (intervals: readonly number[]): string =>
  intervals.length === 1
    ? `${intervals[0]}-second`
    : `${intervals.slice(0, -1).join('-, ')}- and ${intervals[intervals.length - 1]}-second`;

/** Step 1: what is recorded, from where. */
function recordingPlan(feeds: readonly DemoFeed[], duration: string, dir: string): string {
  const specs = feeds.map((f) => f.spec);
  if (specs.length === 1 && specs[0]!.feed === 'demo') {
    return `1. record: the simulated venue "demo" (${specs[0]!.symbols.join(', ')}) on the wall clock for ${duration}, into ${dir}`;
  }
  return [
    `1. record: ${specs.length === 1 ? 'one feed' : `${specs.length} feeds into one capture`} on the wall clock for ${duration}, into ${dir}`,
    ...feeds.map(({ spec, local }) => {
      const from =
        spec.feed === 'demo'
          ? 'the simulated venue'
          : local !== null
            ? `its local emulator on ${local}, replaying recorded traffic at ${LOCAL_VENUE_SPEED}x`
            : spec.url!;
      return `   ${spec.feed}: ${from} (${spec.symbols.join(', ')})`;
    }),
  ].join('\n');
}

/** What the engine and DuckDB built for one interval, in all and per venue. */
interface IntervalResult {
  readonly seconds: number;
  readonly engineBars: number;
  readonly duckdbBars: number;
  readonly identical: boolean;
  readonly sha256: string;
  readonly venues: readonly { venue: string; engineBars: number; duckdbBars: number; identical: boolean }[];
}

function compareInterval(seconds: number, venues: readonly string[], engineBars: readonly Bar[], sqlBars: readonly Bar[]): IntervalResult {
  const e = engineBars.filter((b) => b.interval === seconds);
  const s = sqlBars.filter((b) => b.interval === seconds);
  const of = (bars: readonly Bar[], venue: string): Bar[] => bars.filter((b) => b.venue === venue);
  return {
    seconds,
    engineBars: e.length,
    duckdbBars: s.length,
    identical: sha(e) === sha(s),
    sha256: sha(e),
    venues: venues.map((venue) => ({
      venue,
      engineBars: of(e, venue).length,
      duckdbBars: of(s, venue).length,
      identical: sha(of(e, venue)) === sha(of(s, venue)),
    })),
  };
}

export const demoCommand: Command<DemoArgs> = {
  command: 'demo',
  describe:
    'Record the simulated venue (or several feeds, venues on local emulators) for a few seconds, replay it at 10x, compute the bars again in DuckDB, compare',
  builder: (y: Argv) =>
    y
      .option('duration', { type: 'string', default: '5s', describe: 'How long to record (wall time)' })
      .option('symbols', {
        type: 'string',
        describe: `Symbols of the simulated venue (default ${DEFAULT_SIM_SYMBOLS.map((s) => s.symbol).join(',')}); with --feeds, each item names its own`,
      })
      .option('feeds', {
        type: 'string',
        array: true,
        alias: 'vendors',
        describe: `Several feeds into one capture, as record --feeds takes them: NAME, NAME:SYM1,SYM2 or NAME:SYM1,SYM2@URL (default: demo, the simulated venue). Still no network: a venue without @URL (${LOCAL_VENUES.join(', ')}) is served by its emulator, started here on 127.0.0.1 from the datasets (MDCAP_DATASETS) at ${LOCAL_VENUE_SPEED}x and stopped at the end; without symbols it records all it replays`,
      })
      .option('interval', {
        type: 'string',
        default: '1',
        alias: 'aggregation-timeframe',
        describe: 'Bar intervals in seconds, any whole number, several at once: 1,60,300',
      })
      .option('bar-timestamp', {
        type: 'string',
        choices: ['tsEvent', 'tsRecv'],
        describe:
          "Bucket trades into bars by this timestamp (default: tsEvent for the simulated venue alone, else tsRecv: a venue's recorded tsEvent times are long past, so its trades would all come too late for their bars)",
      })
      .option('speed', { type: 'string', default: '10x', describe: 'Replay speed' })
      .option('seed', { type: 'string', default: '1', describe: 'Market seed' })
      .option('out', { type: 'string', describe: 'Capture directory (default: a new temporary directory, kept for you to explore)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe:
          'Print one JSON object at the end (capture, feeds, events, bars per interval and venue, whether engine and DuckDB agree) instead of the tour',
      })
      .example('mdcap demo', 'the whole loop in about ten seconds, no network')
      .example('mdcap demo --json | jq .identical', 'the same, for a script: true when the bars agree')
      .example('mdcap demo --duration 2m --interval 60 --speed 20x', 'minute bars')
      .example(
        'mdcap demo --feeds demo coinbase --interval 1,60,300',
        'the simulated venue and Coinbase (its emulator, replaying recorded traffic): 1-second, minute and 5-minute bars of both',
      )
      .example(
        'mdcap demo --vendors demo kraken:XMR/USD,ETH/CHF --aggregation-timeframe 300 --duration 20s',
        '--vendors and --aggregation-timeframe are other names of --feeds and --interval',
      )
      .example('mdcap demo --feeds kraken:XMR/USD@ws://127.0.0.1:9000 --json', 'a venue you run yourself (mdcap emulate --port 9000)'),
  async run(a) {
    if (a.feeds !== undefined && a.symbols !== undefined) {
      throw badOption(
        '--symbols',
        'the symbols in the items of --feeds (--feeds demo:AAPL,MSFT kraken:XMR/USD), not beside them',
        a.symbols,
      );
    }
    const durationNs = parseDurationOption('--duration', a.duration);
    const intervals = [...new Set(parseIntervals('--interval', a.interval))].sort((x, y) => x - y);
    const speed = parseSpeed(a.speed);
    const seed = parseIntOption('--seed', a.seed, 0, 2 ** 32 - 1);
    const defaults = { seed, rate: 1000 };
    const opened =
      a.feeds === undefined
        ? simulatedFeed(a.symbols === undefined ? DEFAULT_SIM_SYMBOLS.map((s) => s.symbol) : parseList('--symbols', a.symbols), defaults)
        : await openDemoFeeds(a.feeds, defaults);
    const feeds = opened.feeds;
    const specs = feeds.map((f) => f.spec);
    const symbols = [...new Set(specs.flatMap((s) => s.symbols))];
    const barTimestamp = (a.barTimestamp ?? (specs.every((s) => s.feed === 'demo') ? 'tsEvent' : 'tsRecv')) as 'tsEvent' | 'tsRecv';
    const out = new LineOutput();
    const say = async (text: string): Promise<void> => {
      if (a.json) return; // one summary object at the end instead
      out.line(text);
      await out.end();
    };

    const progress = new Progress(a.json ? { enabled: false } : {});
    let dir: string;
    let rec;
    try {
      dir = a.out ?? mkdtempSync(join(tmpdir(), 'mdcap-demo-'));
      await say(recordingPlan(feeds, a.duration, dir));
      rec = await record({
        ...(specs.length === 1 ? { feed: specs[0]! } : { feeds: specs }),
        out: dir,
        durationNs,
        onProgress: (p) => progress.update(() => `recording: ${count(p.events)} events`, Number(p.elapsedNs) / Number(durationNs)),
      });
    } finally {
      // The local venues stop with the recording, however it ends.
      progress.done();
      await opened.close();
    }
    await say(`   ${count(rec.events)} events → ${rec.filesFinalized} Parquet files (zstd), ${rec.ringDrops} ring drops\n`);

    // The venue of each feed as its events carry it (Databento's is the dataset).
    const feedVenues = rec.feeds?.map((f) => f.venue) ?? [rec.feed];
    const venues = [...new Set(feedVenues)];
    const byTime = barTimestamp === 'tsRecv' ? ' by receive time' : '';
    await say(
      `2. replay at ${speed === 'max' ? 'max speed' : `${speed}x`} through the RealtimeEngine, ${intervalWords(intervals)} bars${byTime}:`,
    );
    // With several venues a symbol may be on more than one: each bar says its venue.
    const venueColumn = (venue: string): string => (venues.length > 1 ? `${venue.padEnd(9)} ` : '');
    await say(`   ${venueColumn('venue')}${BAR_HEADER}`);
    const replay = ReplayProvider.open(dir, { speed });
    // Bars a venue sent (Alpaca's) are left out of the replay: the comparison is of the bars built here.
    const engine = new RealtimeEngine(replay, { barTimestamp, kinds: SUBSCRIPTION_KINDS.filter((k) => k !== 'bar') });
    out.throttle(engine);
    engine.setBarInterval(...intervals);
    const engineBars: Bar[] = [];
    engine.onBar((b) => {
      engineBars.push(b);
      if (a.json) return;
      out.line(`   ${venueColumn(b.venue)}${barRow(b)}`);
      out.flush();
    });
    const t0 = performance.now();
    await engine.run(symbols);
    const replaySeconds = (performance.now() - t0) / 1000;
    await say(`   ${count(replay.stats().events)} events replayed in ${replaySeconds.toFixed(2)} s\n`);

    await say(`3. DuckDB over the Parquet files: the same ${intervalWords(intervals)} bars by SQL`);
    const { CaptureAnalytics } = await import('@mdcap/analytics'); // DuckDB loads only for the commands that use it
    const db = await CaptureAnalytics.open(dir);
    let sqlBars: Bar[];
    try {
      sqlBars = (await db.bars({ intervals, timestamp: barTimestamp })).filter((b) => symbols.includes(b.symbol));
    } finally {
      db.close();
    }
    const a1 = sha(engineBars);
    const a2 = sha(sqlBars);
    const barVenues = [...new Set([...venues, ...engineBars.map((b) => b.venue), ...sqlBars.map((b) => b.venue)])];
    const results = intervals.map((seconds) => compareInterval(seconds, barVenues, engineBars, sqlBars));
    if (a.json) {
      const summary = {
        capture: dir,
        symbols,
        events: rec.events,
        parquetFiles: rec.filesFinalized,
        ringDrops: rec.ringDrops,
        replayed: replay.stats().events,
        speed: speed === 'max' ? 'max' : `${speed}x`,
        interval: intervals[0],
        engineBars: engineBars.length,
        duckdbBars: sqlBars.length,
        identical: a1 === a2,
        sha256: a1,
        feeds: feeds.map(({ spec, local }, i) => ({
          feed: spec.feed,
          venue: feedVenues[i] ?? spec.feed,
          symbols: spec.symbols,
          url: spec.url ?? null,
          emulated: local !== null,
        })),
        intervals: results,
        barTimestamp,
      };
      out.line(JSON.stringify(summary));
      await out.end();
      return a1 === a2 ? EXIT.ok : EXIT.problems;
    }
    if (intervals.length > 1 || barVenues.length > 1) {
      const rows = results.flatMap((r) =>
        r.venues.map(
          (v) =>
            `   ${`${r.seconds}s`.padEnd(8)} ${v.venue.padEnd(10)} ${String(v.engineBars).padStart(8)} ${String(v.duckdbBars).padStart(8)}  ${v.identical ? 'identical' : 'DIFFERENT'}`,
        ),
      );
      await say([`   ${'bars'.padEnd(8)} ${'venue'.padEnd(10)} ${'engine'.padStart(8)} ${'duckdb'.padStart(8)}`, ...rows].join('\n'));
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
        `   mdcap replay ${dir} --speed max --bars ${intervals.join(',')}${barTimestamp === 'tsRecv' ? ' --bar-timestamp tsRecv' : ''} --print trades,bars | head`,
        `   mdcap query ${dir} "SELECT ${venues.length > 1 ? 'venue, ' : ''}symbol, count(*) AS trades, min(price), max(price) FROM trades GROUP BY ALL"`,
        `   mdcap verify ${dir}`,
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
