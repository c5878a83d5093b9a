import { writeFileSync } from 'node:fs';
import { MdcapError, nsToIso } from '@mdcap/core';
import { EXPORT_SCHEMAS } from '@mdcap/dbn';
import { exportDbn } from '@mdcap/pipeline';
import type { Argv } from 'yargs';
import { parseList } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { count, LineOutput, Progress } from '../output.js';

interface ExportArgs {
  readonly format: string;
  readonly dir: string;
  readonly schema: string;
  readonly out: string;
  readonly symbols?: string;
  readonly json: boolean;
  readonly force: boolean;
}

export const exportCommand: Command<ExportArgs> = {
  command: 'export <format> <dir>',
  describe: 'Export a capture to a vendor format: dbn (trades, MBO orders and bars as a plain DBN v3 file)',
  builder: (y: Argv) =>
    y
      .positional('format', { type: 'string', choices: ['dbn'], describe: 'Output format' })
      .positional('dir', { type: 'string', describe: 'Capture directory' })
      .option('schema', {
        type: 'string',
        demandOption: true,
        choices: Object.keys(EXPORT_SCHEMAS),
        describe: 'trades (trade events), mbo (order updates and trades), ohlcv-1s/1m/1h/1d (bars of that interval)',
      })
      .option('out', {
        type: 'string',
        demandOption: true,
        describe: 'The DBN file to write (plain; compress it with zstd if you like), outside any capture',
      })
      .option('force', { type: 'boolean', default: false, describe: 'Replace --out if it exists' })
      .option('symbols', { type: 'string', describe: 'Comma-separated symbols (default: all)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the summary as one JSON object' })
      .example('mdcap export dbn cap --schema trades --out trades.dbn', 'the trades of a capture, for DBN tools')
      .example('mdcap dbn trades.dbn --csv --map-symbols | head', 'read it back')
      .example('mdcap export dbn cap --schema ohlcv-1m --out bars.dbn --force', 'replace an earlier export')
      .epilogue(
        '--out is never written inside a capture and an existing file is replaced only with --force; the file is written under a temp name and renamed, so an interrupted export leaves no half file. ' +
          "Prices are written at DBN's scale (1e-9) exactly; sizes must be whole numbers (a crypto size such as 0.25 BTC is refused, not rounded). " +
          "Instrument ids come from the capture's instruments (a Databento import keeps them), else are numbered per symbol; the metadata's mappings name them. " +
          'publisher_id, ts_in_delta and channel_id are 0, flags carry only LAST and SNAPSHOT: the capture does not keep the rest.',
      ),
  async run(a) {
    if (a.out.endsWith('.zst')) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `--out ${a.out}: expected a plain .dbn file (mdcap writes no zstd yet), found a .zst name`,
      );
    }
    const out = checkOutFile('--out', a.out, a.force); // before the work, not after it
    const symbols = a.symbols === undefined ? undefined : parseList('--symbols', a.symbols);
    const progress = new Progress();
    progress.update(() => `exporting ${a.dir}`);
    const dbn = await exportDbn({
      dir: a.dir,
      schema: a.schema,
      ...(symbols === undefined ? {} : { symbols }),
      onProgress: (ts, fraction) => progress.update(() => `exporting ${a.dir}: events at ${nsToIso(ts)}`, fraction),
    }).finally(() => progress.done());
    const { metadata, records } = dbn;
    await writeOutFile(out, (tmp) => writeFileSync(tmp, dbn.bytes()));
    const summary = { out: a.out, format: 'dbn', schema: a.schema, records: records.length, symbols: metadata.symbols };
    const lines = new LineOutput();
    lines.line(
      a.json
        ? JSON.stringify(summary)
        : `exported ${count(records.length)} ${a.schema} records of ${metadata.symbols.join(', ')} to ${a.out}\nnext: mdcap dbn ${a.out} --csv --map-symbols | head`,
    );
    await lines.end();
    return EXIT.ok;
  },
};
