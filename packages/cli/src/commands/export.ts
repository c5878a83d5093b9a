import { writeFileSync } from 'node:fs';
import { CaptureReader, instrumentFromJson } from '@mdcap/capture';
import { BookFlags, formatDecimal, MdcapError, nsToIso, rescale } from '@mdcap/core';
import type { Bar, MarketEvent, OrderUpdate, Trade } from '@mdcap/core';
import { DBN_PRICE_SCALE, DbnFlags, encodeDbn, RType, SCHEMA_RTYPES } from '@mdcap/dbn';
import type { DbnMetadata, DbnRecord } from '@mdcap/dbn';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import type { Argv } from 'yargs';
import { parseList } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { count, LineOutput } from '../output.js';

interface ExportArgs {
  readonly format: string;
  readonly dir: string;
  readonly schema: string;
  readonly out: string;
  readonly symbols?: string;
  readonly json: boolean;
  readonly force: boolean;
}

/** The schemas a capture maps back to, and the event type each takes. */
const SCHEMAS: Readonly<Record<string, { types: ReadonlySet<string>; interval?: number }>> = {
  trades: { types: new Set(['trade']) },
  mbo: { types: new Set(['order', 'trade']) },
  'ohlcv-1s': { types: new Set(['bar']), interval: 1 },
  'ohlcv-1m': { types: new Set(['bar']), interval: 60 },
  'ohlcv-1h': { types: new Set(['bar']), interval: 3600 },
  'ohlcv-1d': { types: new Set(['bar']), interval: 86_400 },
};

const U32_MAX = 2n ** 32n - 1n;
const ORDER_ACTION: Readonly<Record<string, string>> = { add: 'A', modify: 'M', cancel: 'C', fill: 'F', clear: 'R' };

/** `YYYYMMDD` of a time (UTC). */
function ymd(ns: bigint): number {
  const d = new Date(Number(ns / 1_000_000n));
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/**
 * Capture events as DBN records of one schema: prices rescaled to DBN's 1e-9 exactly, sizes
 * as whole numbers (a size with decimals cannot be a DBN size: an error names it), instrument
 * ids from the capture's instruments (else numbered by symbol, with the mappings saying so).
 */
class DbnRecords {
  readonly records: DbnRecord[] = [];
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly schema: string,
    known: ReadonlyMap<string, number>,
  ) {
    for (const [s, id] of known) this.ids.set(s, id);
  }

  idOf(symbol: string): number {
    let id = this.ids.get(symbol);
    if (id === undefined) {
      const used = new Set(this.ids.values());
      id = 1;
      while (used.has(id)) id++;
      this.ids.set(symbol, id);
    }
    return id;
  }

  get symbolIds(): ReadonlyMap<string, number> {
    return this.ids;
  }

  private price(e: MarketEvent, v: bigint, scale: number): bigint {
    try {
      return rescale(v, scale, DBN_PRICE_SCALE);
    } catch (error) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `export dbn: ${e.type} ${e.venue}:${e.symbol} at ${nsToIso(e.tsRecv)}: expected a price DBN can hold (9 decimals, 64 bits), found one at scale ${scale}: ${(error as Error).message}`,
      );
    }
  }

  private size(e: MarketEvent, v: bigint, scale: number, max: bigint = U32_MAX): bigint {
    let whole: bigint;
    try {
      whole = rescale(v, scale, 0);
    } catch {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `export dbn: ${e.type} ${e.venue}:${e.symbol} at ${nsToIso(e.tsRecv)}: expected a whole size (DBN sizes are integers), found ${formatDecimal(v, scale)}`,
      );
    }
    if (whole > max)
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `export dbn: ${e.type} ${e.venue}:${e.symbol}: size ${whole} is beyond ${max}`);
    return whole;
  }

  add(e: MarketEvent): void {
    const head = { rtype: 0, publisher_id: 0, instrument_id: this.idOf(e.symbol), ts_event: e.tsEvent };
    const seq = e.seq === null ? 0 : Number(e.seq & U32_MAX);
    if (e.type === 'trade') {
      const t: Trade = e;
      const trade = {
        price: this.price(e, t.price, t.priceScale),
        size: Number(this.size(e, t.size, t.sizeScale)),
        action: 'T',
        side: t.side === 'buy' ? 'B' : t.side === 'sell' ? 'A' : 'N',
        flags: 0,
        ts_recv: e.tsRecv,
        ts_in_delta: 0,
        sequence: seq,
      };
      if (this.schema === 'mbo') this.records.push({ ...head, rtype: RType.Mbo, order_id: 0n, channel_id: 0, ...trade });
      else this.records.push({ ...head, rtype: RType.Mbp0, depth: 0, ...trade });
    } else if (e.type === 'order') {
      const o: OrderUpdate = e;
      let flags = 0;
      if ((o.flags & BookFlags.Last) !== 0 || (o.flags & BookFlags.SnapshotEnd) !== 0) flags |= DbnFlags.Last;
      if ((o.flags & BookFlags.Snapshot) !== 0) flags |= DbnFlags.Snapshot;
      if (typeof o.orderId !== 'bigint' || o.orderId < 0n || o.orderId >= 2n ** 64n) {
        throw new MdcapError(
          'MDCAP_ERR_INVALID_OPTION',
          `export dbn: order ${e.venue}:${e.symbol}: expected a numeric order id (u64), found ${String(o.orderId)}`,
        );
      }
      this.records.push({
        ...head,
        rtype: RType.Mbo,
        order_id: o.orderId,
        price: o.action === 'clear' ? 2n ** 63n - 1n : this.price(e, o.price, o.priceScale),
        size: Number(this.size(e, o.size, o.sizeScale)),
        flags,
        channel_id: 0,
        action: ORDER_ACTION[o.action]!,
        side: o.action === 'clear' ? 'N' : o.side === 'bid' ? 'B' : 'A',
        ts_recv: e.tsRecv,
        ts_in_delta: 0,
        sequence: seq,
      });
    } else if (e.type === 'bar') {
      const b: Bar = e;
      this.records.push({
        ...head,
        rtype: SCHEMA_RTYPES[this.schema]![0]!,
        ts_event: b.start,
        open: this.price(e, b.open, b.priceScale),
        high: this.price(e, b.high, b.priceScale),
        low: this.price(e, b.low, b.priceScale),
        close: this.price(e, b.close, b.priceScale),
        volume: this.size(e, b.volume, b.sizeScale, 2n ** 64n - 1n),
      });
    }
  }
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
        choices: Object.keys(SCHEMAS),
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
    const spec = SCHEMAS[a.schema]!;
    const reader = CaptureReader.open(a.dir);
    const m = reader.manifest;
    const symbols = a.symbols === undefined ? m.symbols : parseList('--symbols', a.symbols);
    const known = new Map<string, number>();
    for (const entry of m.instruments) {
      const i = instrumentFromJson(entry);
      if (i.instrumentId !== undefined && i.instrumentId <= U32_MAX) known.set(i.symbol, Number(i.instrumentId));
    }
    const dbn = new DbnRecords(a.schema, known);
    const engine = new RealtimeEngine(ReplayProvider.open(a.dir), { books: false });
    // The first event DBN cannot hold ends the export (nothing is written): one clear error.
    const failed: { error: Error | null } = { error: null };
    engine.onEvent((e) => {
      if (failed.error !== null || !spec.types.has(e.type)) return;
      if (e.type === 'bar' && e.interval !== spec.interval) return;
      try {
        dbn.add(e);
      } catch (error) {
        failed.error = error instanceof Error ? error : new Error(String(error));
        void engine.stop();
      }
    });
    await engine.run(symbols);
    if (failed.error !== null) throw failed.error;
    const records = dbn.records;
    if (records.length === 0) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `--schema ${a.schema}: expected events of that kind in ${a.dir}, found none`);
    }
    const first = records[0]!['ts_event'] as bigint;
    let start = first;
    let end = first;
    for (const r of records) {
      const t = r['ts_event'] as bigint;
      if (t < start) start = t;
      if (t > end) end = t;
    }
    const used = [...dbn.symbolIds].filter(([s]) => symbols.includes(s));
    const metadata: DbnMetadata = {
      version: 3,
      dataset: m.feed.length <= 15 ? m.feed : m.feed.slice(0, 15),
      schema: a.schema,
      start,
      end: end + 1n,
      limit: 0n,
      stypeIn: 'raw_symbol',
      stypeOut: 'instrument_id',
      tsOut: false,
      symbolCstrLen: 71,
      symbols: used.map(([s]) => s),
      partial: [],
      notFound: [],
      mappings: used.map(([s, id]) => ({
        rawSymbol: s,
        intervals: [{ startDate: ymd(start), endDate: ymd(end + 86_400_000_000_000n), symbol: String(id) }],
      })),
    };
    await writeOutFile(out, (tmp) => writeFileSync(tmp, encodeDbn(metadata, records)));
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
