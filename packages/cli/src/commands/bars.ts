import { formatEventJson, MdcapError } from '@mdcap/core';
import type { Argv } from 'yargs';
import { parseIntervals, parseIntOption, parseList, positionalList } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { openAnalytics } from '../analytics.js';
import { BAR_HEADER, barRow } from '../format.js';
import { LineOutput, Progress } from '../output.js';

interface BarsArgs {
  readonly dir: string;
  readonly more?: readonly string[];
  readonly interval: string;
  readonly symbols?: string;
  readonly json: boolean;
  readonly graceMs: string;
  readonly barTimestamp: string;
}

export const barsCommand: Command<BarsArgs> = {
  command: 'bars <dir> [more..]',
  describe: "OHLCV bars computed by DuckDB over the capture's Parquet files, with the engine's rules",
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', describe: 'Capture directory' })
      .positional('more', {
        type: 'string',
        array: true,
        describe: 'More capture directories whose times follow one another: one set of bars over them all (as mdcap replay DIR MORE…)',
      })
      .option('interval', { type: 'string', default: '60', describe: 'Bar interval(s) in seconds: 60 or 60,300' })
      .option('symbols', { type: 'string', describe: 'Only these symbols (comma-separated)' })
      .option('json', { type: 'boolean', default: false, describe: 'One canonical JSON bar per line, as mdcap replay --json prints them' })
      .option('grace-ms', { type: 'string', default: '250', describe: 'How long a bucket stays open for late trades (as the engine)' })
      .option('bar-timestamp', {
        type: 'string',
        default: 'tsEvent',
        choices: ['tsEvent', 'tsRecv'],
        describe: 'Bucket trades by this timestamp',
      })
      .example('mdcap bars cap --interval 60', '1-minute bars as a table')
      .example(
        'mdcap bars cap --interval 60 --json | diff - <(mdcap replay cap --bars 60 --print bars --json)',
        'DuckDB and the engine agree',
      ),
  async run(a) {
    const intervals = parseIntervals('--interval', a.interval);
    const graceMs = parseIntOption('--grace-ms', a.graceMs, 0, 86_400_000);
    const db = await openAnalytics('bars', [a.dir, ...positionalList(a.more)]);
    try {
      const symbols = a.symbols === undefined ? null : new Set(parseList('--symbols', a.symbols));
      const unknown = symbols === null ? [] : [...symbols].filter((s) => !db.manifest.symbols.includes(s));
      if (unknown.length > 0) {
        throw new MdcapError(
          'MDCAP_ERR_UNKNOWN_SYMBOL',
          `--symbols: expected symbols of the capture (${db.manifest.symbols.join(', ')}), found ${unknown.join(', ')}`,
        );
      }
      // One DuckDB query: a line says what runs (no fraction: DuckDB does not tell).
      const progress = new Progress();
      progress.update(() => `bars: DuckDB over ${[a.dir, ...positionalList(a.more)].join(' ')}…`);
      const bars = await db.bars({ intervals, graceMs, timestamp: a.barTimestamp as 'tsEvent' | 'tsRecv' }).finally(() => progress.done());
      const out = new LineOutput();
      if (!a.json) out.line(BAR_HEADER);
      for (const b of bars) {
        if (symbols !== null && !symbols.has(b.symbol)) continue;
        out.line(a.json ? formatEventJson(b) : barRow(b));
        if (out.blocked) await out.ready();
      }
      await out.end();
    } finally {
      db.close();
    }
    return EXIT.ok;
  },
};
