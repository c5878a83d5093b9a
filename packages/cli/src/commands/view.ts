import { readBacktestRun } from '@mdcap/analytics';
import { MdcapError } from '@mdcap/core';
import { LiveViewSession, ReplayViewSession, ViewServer } from '@mdcap/view';
import type { ViewSession } from '@mdcap/view';
import type { BacktestEquityPoint, BacktestFill, BacktestRun } from '@mdcap/view-app';
import { parseSpeed } from '@mdcap/replay';
import type { Argv } from 'yargs';
import { badOption, parseIntervals, parseIntOption, parseList, positionalList } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { parseFeedsOption } from '../feeds-option.js';
import { listenError, stopRequested } from '../lifecycle.js';
import { LineOutput } from '../output.js';

interface ViewArgs {
  readonly dirs?: readonly string[];
  readonly feed?: string;
  readonly http: string;
  readonly host: string;
  readonly bars?: string;
  readonly speed: string;
  readonly symbols?: string;
  readonly graceMs: string;
  readonly barTimestamp?: string;
  readonly play: boolean;
  readonly backtest?: string;
  readonly json: boolean;
}

/** A page is sent at most this many fills and equity points of a backtest run (the rest are counted). */
const BACKTEST_LIMIT = 100_000;

function backtestRun(source: string, run: { fills: BacktestFill[]; equity: BacktestEquityPoint[] }): BacktestRun {
  return {
    source,
    fills: run.fills.slice(0, BACKTEST_LIMIT),
    equity: run.equity.slice(0, BACKTEST_LIMIT),
    omittedFills: Math.max(0, run.fills.length - BACKTEST_LIMIT),
    omittedEquity: Math.max(0, run.equity.length - BACKTEST_LIMIT),
  };
}

export const viewCommand: Command<ViewArgs> = {
  command: 'view [dirs..]',
  describe: 'See a capture or a live feed in the browser: candles, book, tape and every data-quality status (a local web page)',
  builder: (y: Argv) =>
    y
      .positional('dirs', {
        type: 'string',
        array: true,
        describe: 'Capture directory (several whose times follow one another replay as one); or --feed',
      })
      .option('feed', {
        type: 'string',
        describe:
          'Live instead: NAME[:SYM1,SYM2][@URL] (demo, kraken:XBT/USD@ws://127.0.0.1:9000, …); several feeds separated by spaces, in quotes',
      })
      .option('http', { type: 'string', default: '8321', describe: 'Port of the page (0: any free one; the URL is printed)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (the page has no login: keep it local)' })
      .option('bars', { type: 'string', describe: 'Bar intervals in seconds the page can pick (default 60,300 for a capture; 1,60 live)' })
      .option('speed', { type: 'string', default: 'max', describe: 'Replay: the starting speed (max, 1x, 10x…; the page changes it)' })
      .option('symbols', { type: 'string', describe: 'Replay: comma-separated symbols (default all in the capture)' })
      .option('play', { type: 'boolean', default: false, describe: 'Replay: start playing at once (default: wait for Play on the page)' })
      .option('backtest', {
        type: 'string',
        describe: 'Replay: a backtest run over this capture (mdcap backtest … --out DIR): its fills on the chart, its equity curve below',
      })
      .option('grace-ms', { type: 'string', default: '250', describe: 'Bars: how long a bucket stays open for late trades' })
      .option('bar-timestamp', {
        type: 'string',
        choices: ['tsEvent', 'tsRecv'],
        describe: 'Bars: bucket trades by this timestamp (default tsEvent for a capture, as mdcap replay; tsRecv live)',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print the listening line as a JSON object {"event":"listening","url":…}',
      })
      .example('mdcap view cap', 'open the printed URL; press Play; the candles equal mdcap replay cap --bars 60')
      .example('mdcap view cap --bars 1,60 --speed 10x --play', 'replay at 10x at once, with 1 s and 1 min candles')
      .example(
        'mdcap view cap --backtest run',
        'with the fills and equity of mdcap backtest strategy.mjs cap --out run, as the replay reaches them',
      )
      .example('mdcap view --feed demo', 'the simulated venue, live (no network)')
      .example('mdcap view --feed kraken:XBT/USD@ws://127.0.0.1:9000 --http 0', 'a Kraken emulator (mdcap emulate), on any free port'),
  async run(a) {
    const dirs = positionalList(a.dirs);
    const feedItems = a.feed === undefined ? [] : a.feed.split(/\s+/).filter((x) => x !== '');
    if (dirs.length === 0 && feedItems.length === 0) {
      throw badOption('view', 'a capture directory or --feed', 'neither');
    }
    if (dirs.length > 0 && feedItems.length > 0) {
      throw badOption('view', 'a capture directory or --feed, not both (one engine session per viewer)', `${dirs.join(' ')} and --feed`);
    }
    const port = parseIntOption('--http', a.http, 0, 65_535);
    const live = feedItems.length > 0;
    const intervals = parseIntervals('--bars', a.bars ?? (live ? '1,60' : '60,300'));
    const graceMs = parseIntOption('--grace-ms', a.graceMs, 0, 86_400_000);
    const barTimestamp = (a.barTimestamp ?? (live ? 'tsRecv' : 'tsEvent')) as 'tsEvent' | 'tsRecv';
    let session: ViewSession;
    if (live) {
      if (a.symbols !== undefined)
        throw badOption('--symbols', 'a capture (live feeds name their symbols: --feed NAME:SYM1,SYM2)', '--feed');
      const feeds = parseFeedsOption(feedItems, () => ({ handlerThread: false }));
      session = new LiveViewSession({ feeds, intervals, graceMs, barTimestamp });
    } else {
      const backtest = a.backtest === undefined ? undefined : backtestRun(a.backtest, await readBacktestRun(a.backtest));
      session = new ReplayViewSession({
        ...(backtest === undefined ? {} : { backtest }),
        dirs,
        intervals,
        graceMs,
        barTimestamp,
        speed: parseSpeed(a.speed),
        ...(a.symbols === undefined ? {} : { symbols: parseList('--symbols', a.symbols) }),
      });
    }
    let server: ViewServer;
    try {
      server = await ViewServer.start({ session, host: a.host, port });
    } catch (e) {
      await session.close();
      throw e instanceof MdcapError && e.code === 'MDCAP_ERR_ADDRESS' ? listenError(e.cause ?? e, '--http', a.host, port) : e;
    }
    if (a.play && !live) session.play();
    const out = new LineOutput();
    if (a.json) {
      out.line(JSON.stringify({ event: 'listening', url: server.url, mode: session.mode, source: session.source, intervals }));
    } else {
      out.line(`mdcap view: ${server.url}  (${live ? 'live' : 'replay'}: ${session.source}; open it in a browser; Ctrl-C to stop)`);
    }
    await out.end();
    await stopRequested('view');
    await server.close();
    return EXIT.ok;
  },
};
