import { basename } from 'node:path';
import { MdcapError } from '@mdcap/core';
import { datasetPath } from '@mdcap/emulators';
import { importDbn, importLobster, importPcap } from '@mdcap/pipeline';
import type { Argv } from 'yargs';
import { parseIntOption } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { count, LineOutput, Progress } from '../output.js';
import { DEFAULT_MDP3_SCHEMA } from './mdp3.js';

interface ImportArgs {
  readonly format: string;
  readonly files?: readonly string[];
  readonly messages?: string;
  readonly orderbook?: string;
  readonly skipBad: boolean;
  readonly out: string;
  readonly symbol?: string;
  readonly date?: string;
  readonly venue?: string;
  readonly levels?: string;
  readonly tz: string;
  readonly keepPartial: boolean;
  readonly replace: boolean;
  readonly json: boolean;
  readonly channel?: string;
  readonly config?: string;
  readonly sbeSchema?: string;
  readonly symbols?: string;
  readonly mbo?: boolean;
}

export const importCommand: Command<ImportArgs> = {
  command: 'import <format> [files..]',
  describe:
    'Import vendor files into a capture: dbn (Databento DBN files), lobster (LOBSTER message + orderbook files), pcap (the MDP3 multicast of a CME channel, --venue cme)',
  builder: (y: Argv) =>
    y
      .positional('format', { type: 'string', choices: ['dbn', 'lobster', 'pcap'], describe: 'Input format' })
      .positional('files', { type: 'string', array: true, describe: 'dbn: the DBN files (.dbn, .dbn.zst; several are merged by time)' })
      .option('messages', { type: 'string', describe: 'lobster: the message file (…_message_10.csv)' })
      .option('orderbook', {
        type: 'string',
        describe: 'lobster: the orderbook file (…_orderbook_10.csv): row 1 seeds the book',
      })
      .option('skip-bad', {
        type: 'boolean',
        default: false,
        describe: 'dbn: skip records that cannot be decoded (counted) instead of stopping',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'Capture directory to create (or add a session to)' })
      .option('symbol', { type: 'string', describe: 'Symbol (default: from the LOBSTER file name)' })
      .option('date', { type: 'string', describe: 'Trading date YYYY-MM-DD (default: from the file name)' })
      .option('venue', {
        type: 'string',
        describe: 'Venue name on the events (lobster: default nasdaq; dbn: default the dataset, e.g. GLBX.MDP3)',
      })
      .option('levels', { type: 'string', describe: 'Levels per side in the orderbook file (default: from the file name, else 10)' })
      .option('tz', { type: 'string', default: 'America/New_York', describe: 'Time zone of the time column' })
      .option('keep-partial', {
        type: 'boolean',
        default: false,
        describe: 'On a bad record, keep what came before (behind a gap status); by default a failed import leaves the capture as it was',
      })
      .option('replace', {
        type: 'boolean',
        default: false,
        describe:
          'Replace the sessions the import overlaps (a file imported before, or sessions that end after the new data starts); by default such an import is refused',
      })
      .option('channel', { type: 'string', describe: 'pcap: the CME channel captured (its groups from --config), e.g. 310' })
      .option('config', { type: 'string', describe: "pcap: CME's channel configuration (config.xml)" })
      .option('sbe-schema', {
        type: 'string',
        describe: `pcap: CME's SBE schema (default: ${DEFAULT_MDP3_SCHEMA.join('/')} of the datasets)`,
      })
      .option('symbols', { type: 'string', describe: 'pcap: CME symbols to import (default: every instrument the definition loop names)' })
      .option('mbo', {
        type: 'boolean',
        describe: "pcap: order-by-order books (MBO, from the capture's MBO snapshot loop) instead of price levels (MBP)",
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the summary as one JSON object' })
      .example(
        'mdcap import dbn trades.dbn.zst definition.dbn.zst --out es',
        'Databento trades plus their instrument definitions into a capture',
      )
      .example('mdcap replay es --bars 60 --print bars', 'one-minute bars from the imported trades')
      .example(
        'mdcap import lobster --messages AAPL_2012-06-21_34200000_57600000_message_10.csv --orderbook AAPL_2012-06-21_34200000_57600000_orderbook_10.csv --out aapl',
        'one LOBSTER day into a capture',
      )
      .example('mdcap replay aapl --print top --depth 10 --json', 'the book after every message, as LOBSTER publishes it')
      .example(
        'mdcap import pcap channel310.pcap --venue cme --channel 310 --config config.xml --out es',
        "a CME channel's multicast capture, through the live feed's handler (A/B arbitration, snapshot recovery)",
      )
      .example('mdcap import dbn day2.dbn.zst --out es', 'add the next day as a new session (an import must start where the capture ends)')
      .example('mdcap import dbn fixed.dbn.zst --out es --replace', 'import a corrected file in place of the sessions it overlaps')
      .epilogue(
        'LOBSTER prices are dollars x 10000 (price scale 4), sizes are shares, times are seconds after midnight New York time. ' +
          'The book is seeded from orderbook row 1 (the book after message 1); messages 2… become L3 order updates and trades; ' +
          'type 7 (halts) become trading statuses. tsRecv = tsEvent; seq = the message row number.',
      ),
  async run(a) {
    if (a.format === 'dbn') return runDbn(a);
    if (a.format === 'pcap') return runPcap(a);
    if (a.messages === undefined || a.orderbook === undefined) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'lobster: expected --messages FILE and --orderbook FILE, found them missing');
    }
    const messages = a.messages;
    const levels = a.levels === undefined ? undefined : parseIntOption('--levels', a.levels, 1, 200);
    const progress = new Progress();
    progress.update(() => `importing ${basename(messages)}: reading`);
    const { manifest: _m, ...summary } = await importLobster({
      messages,
      orderbook: a.orderbook,
      out: a.out,
      ...(a.symbol === undefined ? {} : { symbol: a.symbol }),
      ...(a.date === undefined ? {} : { date: a.date }),
      ...(a.venue === undefined ? {} : { venue: a.venue }),
      ...(levels === undefined ? {} : { levels }),
      timeZone: a.tz,
      keepPartial: a.keepPartial,
      replace: a.replace,
      onProgress: (row, total) =>
        progress.update(() => `importing ${basename(messages)}: ${count(row)} of ${count(total)} rows`, total === 0 ? 1 : row / total),
    }).finally(() => progress.done());
    const out = new LineOutput();
    out.line(
      a.json
        ? JSON.stringify(summary)
        : `imported ${count(summary.rows)} LOBSTER messages of ${summary.symbol} ${summary.date} into ${a.out}: ${count(summary.events)} events, ${summary.files} Parquet files${replacedText(summary.replaced)}\nnext: mdcap replay ${a.out} --print top --depth ${summary.levels}`,
    );
    await out.end();
    return EXIT.ok;
  },
};

/** `; replaced session 1, 2` when an import replaced sessions. */
function replacedText(ids: readonly number[]): string {
  return ids.length === 0 ? '' : `; replaced session${ids.length === 1 ? '' : 's'} ${ids.join(', ')}`;
}

/** `mdcap import dbn FILE… --out DIR`. */
async function runDbn(a: ImportArgs): Promise<number> {
  const files = a.files ?? [];
  if (files.length === 0) throw new MdcapError('MDCAP_ERR_INVALID_OPTION', 'dbn: expected one or more DBN files, found none');
  const progress = new Progress();
  progress.update(() => `importing ${files.length} DBN file(s): reading`);
  const summary = await importDbn({
    files,
    out: a.out,
    ...(a.venue === undefined ? {} : { venue: a.venue }),
    skipBad: a.skipBad,
    keepPartial: a.keepPartial,
    replace: a.replace,
    onProgress: (records, fraction) => progress.update(() => `importing ${files.length} DBN file(s): ${count(records)} records`, fraction),
  }).finally(() => progress.done());
  const { manifest: _m, ...rest } = summary;
  const out = new LineOutput();
  if (a.json) out.line(JSON.stringify(rest));
  else {
    out.line(
      `imported ${count(summary.records)} DBN records of ${summary.symbols.join(', ')} into ${a.out}: ${count(summary.events)} events, ${summary.parquetFiles} Parquet files${replacedText(summary.replaced)}`,
    );
    const skipped = Object.entries(summary.skipped);
    if (skipped.length > 0) out.line(`not converted: ${skipped.map(([why, n]) => `${count(n)} ${why}`).join('; ')}`);
    if (summary.unmappedInstrumentIds.length > 0) {
      out.line(
        `no symbol in the mappings for instrument ids ${summary.unmappedInstrumentIds.join(', ')}: their events use the id as the symbol`,
      );
    }
    out.line(`next: mdcap replay ${a.out} --bars 60   ·   mdcap verify ${a.out}`);
  }
  await out.end();
  return summary.badRecords > 0 ? EXIT.problems : EXIT.ok;
}

/** `mdcap import pcap FILE --venue cme --channel N --config config.xml --out DIR`. */
async function runPcap(a: ImportArgs): Promise<number> {
  const files = a.files ?? [];
  if (files.length !== 1) throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `pcap: expected one pcap or pcapng file, found ${files.length}`);
  if ((a.venue ?? 'cme') !== 'cme') {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `--venue: expected cme (MDP 3.0 is the pcap format mdcap reads), found ${a.venue}`);
  }
  if (a.channel === undefined || a.config === undefined) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `pcap: expected --channel N and --config config.xml (which group is which line), found ${a.channel === undefined ? 'no --channel' : 'no --config'}`,
    );
  }
  const file = files[0]!;
  const channel = parseIntOption('--channel', a.channel, 1, 65_535);
  const progress = new Progress();
  progress.update(() => `importing ${basename(file)}: reading`);
  const { manifest: _m, ...summary } = await importPcap({
    file,
    out: a.out,
    channel,
    channelConfig: a.config,
    sbeSchema: a.sbeSchema ?? datasetPath(...DEFAULT_MDP3_SCHEMA),
    ...(a.symbols === undefined ? {} : { symbols: a.symbols.split(',').map((x) => x.trim()) }),
    ...(a.mbo === true ? { book: 'mbo' as const } : {}),
    keepPartial: a.keepPartial,
    replace: a.replace,
    onProgress: (n, fraction) => progress.update(() => `importing ${basename(file)}: ${count(n)} datagrams`, fraction),
  }).finally(() => progress.done());
  const out = new LineOutput();
  const f = summary.feed;
  out.line(
    a.json
      ? JSON.stringify(summary)
      : `imported channel ${summary.channel} of ${basename(file)} into ${a.out}: ${count(summary.events)} events of ${summary.symbols.join(', ')}; ${count(f.processed)} packets (${count(f.duplicates)} second copies), ${f.gaps} gap(s) losing ${f.lostPackets} packet(s), ${f.corrupt} unreadable, ${f.recoveries} book recoveries${replacedText(summary.replaced)}\nnext: mdcap verify ${a.out}`,
  );
  await out.end();
  return EXIT.ok;
}
