import { existsSync, readFileSync, statSync } from 'node:fs';
import { CaptureError, MdcapError } from '@mdcap/core';
import { csvColumns, DbnReader, metadataJson, SCHEMA_RTYPES, SCHEMAS, SymbolMap, toCsv, toJson } from '@mdcap/dbn';
import type { Argv } from 'yargs';
import { EXIT, warn } from '../command.js';
import type { Command } from '../command.js';
import { count, LineOutput, Progress } from '../output.js';

interface DbnArgs {
  readonly file: string;
  readonly csv: boolean;
  readonly json: boolean;
  readonly meta: boolean;
  readonly pretty: boolean;
  readonly mapSymbols: boolean;
  readonly schema?: string;
  readonly limit?: number;
  readonly skipBad: boolean;
  readonly fragment: boolean;
  readonly upgrade: boolean;
}

export const dbnCommand: Command<DbnArgs> = {
  command: 'dbn <file>',
  describe: "Print a Databento DBN file (v1–v3, plain or zstd) as CSV or JSON lines, in Databento's own encodings",
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', describe: 'A .dbn, .dbn.zst or fragment (.dbn.frag[.zst]) file' })
      .option('csv', { type: 'boolean', default: false, describe: 'CSV with a header line per record type (the default)' })
      .option('json', { type: 'boolean', default: false, describe: 'One JSON object per line; 64-bit integers as strings' })
      .option('meta', { type: 'boolean', default: false, describe: 'Print the metadata (as JSON) instead of the records' })
      .option('pretty', {
        type: 'boolean',
        default: false,
        describe: 'Prices with 9 decimals, timestamps as RFC 3339 (absent values empty in CSV, null in JSON)',
      })
      .option('map-symbols', {
        type: 'boolean',
        default: false,
        describe: 'Add a symbol column from the mappings (metadata or live records)',
      })
      .option('schema', { type: 'string', describe: 'Only records of this schema (a live stream mixes schemas): mbo, trades, …' })
      .option('limit', { type: 'number', describe: 'Stop after this many records' })
      .option('skip-bad', {
        type: 'boolean',
        default: false,
        describe: 'Skip records that cannot be decoded (counted on stderr) instead of failing',
      })
      .option('upgrade', {
        type: 'boolean',
        default: true,
        describe:
          "DBN v1/v2 records and metadata in the v3 shapes, as databento-python and `dbn --upgrade` print them; --no-upgrade prints them as written, as Databento's `dbn` tool does by default",
      })
      .option('fragment', {
        type: 'boolean',
        default: false,
        describe: 'The file holds bare records without metadata (default for *.frag names)',
      })
      .example('mdcap dbn trades.dbn.zst --csv --pretty | head', "the first trades, as Databento's `dbn` tool prints them")
      .example('mdcap dbn mbo.dbn.zst --json --map-symbols', 'JSON lines with the raw symbol of each record')
      .example('mdcap dbn file.dbn.zst --meta --pretty', 'dataset, schema, time range, symbols and mappings'),
  async run(a) {
    if (!existsSync(a.file) || !statSync(a.file).isFile())
      throw new CaptureError('MDCAP_ERR_IO', `${a.file}: expected a DBN file, found nothing there`);
    if (a.csv && a.json) throw new MdcapError('MDCAP_ERR_INVALID_OPTION', '--csv and --json: expected one of them, found both');
    if (a.schema !== undefined && !SCHEMAS.includes(a.schema)) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `--schema: expected one of ${SCHEMAS.join(', ')}, found "${a.schema}"`);
    }
    const reader = new DbnReader(readFileSync(a.file), {
      file: a.file,
      skipBad: a.skipBad,
      upgrade: a.upgrade,
      ...(a.fragment ? { fragment: true } : {}),
    });
    const out = new LineOutput();
    const options = { pretty: a.pretty, version: reader.outputVersion };
    if (a.meta) {
      if (reader.metadata === null) throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `--meta: ${a.file} is a fragment: it has no metadata`);
      // Upgraded records come with upgraded metadata (as Databento's tools do).
      const m = reader.metadata;
      out.line(metadataJson(a.upgrade ? { ...m, version: reader.outputVersion, symbolCstrLen: 71 } : m, options));
      await out.end();
      return EXIT.ok;
    }
    const symbols = a.mapSymbols ? SymbolMap.fromMetadata(reader.metadata) : null;
    const rtypes = a.schema === undefined ? null : new Set(SCHEMA_RTYPES[a.schema]);
    let header: string | null = null;
    let n = 0;
    // Printed to a file or a pipe: a bar on the terminal says how far (on the terminal the records say it).
    const progress = new Progress(process.stdout.isTTY === true ? { enabled: false } : {});
    let read = 0;
    const total = reader.body.length;
    const text = (): string => `reading ${a.file}: ${count(n)} records`;
    const fraction = (): number => (total === 0 ? 1 : read / total);
    try {
      for (const r of reader.records()) {
        if (out.blocked) await out.ready(); // a slow reader: wait instead of buffering the file
        read += (r['length'] as number) * 4;
        progress.update(text, fraction);
        symbols?.learn(r);
        if (rtypes !== null && !rtypes.has(r['rtype'] as number)) continue;
        if (a.limit !== undefined && n >= a.limit) break;
        n++;
        if (a.json) {
          out.line(toJson(r, { ...options, symbols }));
          continue;
        }
        const cols = csvColumns(r['rtype'] as number, r['ts_out'] !== undefined, symbols !== null, options.version);
        const h = cols.join(',');
        if (h !== header) {
          out.line(h); // a new header whenever the record type changes (a live stream mixes them)
          header = h;
        }
        out.line(toCsv(r, cols, { ...options, symbols }));
      }
    } finally {
      progress.done();
      await out.end(); // a bad or truncated file: the records before it are printed, then the error
    }
    if (reader.skipped > 0) {
      warn('dbn', `skipped ${reader.skipped} record(s) that could not be decoded; the first: ${reader.firstSkip}`);
      return EXIT.problems;
    }
    return EXIT.ok;
  },
};
