import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Manifest } from '@mdcap/capture';
import { ALL_SYMBOLS, CaptureError, MdcapError, VirtualClock } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { DBN_PRICE_SCALE, DbnReader, DbnToEvents, SymbolMap } from '@mdcap/dbn';
import type { DbnRecord } from '@mdcap/dbn';
import { failedImport, openImportWriter } from './import-common.js';

export interface DbnImportOptions {
  readonly files: readonly string[];
  readonly out: string;
  /** Venue name on the events (default: the files' dataset, e.g. GLBX.MDP3). */
  readonly venue?: string;
  readonly skipBad?: boolean;
  /** On a bad record, keep what came before (behind a gap status) instead of importing nothing. */
  readonly keepPartial?: boolean;
  /** Replace the sessions the import overlaps instead of refusing it (see CaptureWriterOptions.import). */
  readonly replace?: boolean;
  /**
   * Called every 65,536 records with the records read so far and about how far through the files'
   * bytes they are (0 to 1; by record lengths, so v1/v2 definitions upgraded to v3 count a little more).
   */
  readonly onProgress?: (records: number, fraction: number) => void;
}

export interface DbnImportSummary {
  readonly out: string;
  readonly format: 'dbn';
  readonly venue: string;
  readonly files: number;
  readonly records: number;
  readonly events: number;
  readonly symbols: readonly string[];
  readonly instruments: number;
  /** Records not converted, by reason (see DbnToEvents). */
  readonly skipped: Record<string, number>;
  readonly badRecords: number;
  readonly unmappedInstrumentIds: readonly number[];
  readonly parquetFiles: number;
  readonly end: string;
  /** Sessions the import replaced (`replace`). */
  readonly replaced: readonly number[];
}

interface Source {
  readonly reader: DbnReader;
  readonly records: Iterator<DbnRecord>;
  head: DbnRecord | null;
  at: bigint;
}

/**
 * `mdcap import dbn FILE… --out DIR`: Databento files into a capture, their records merged by
 * the time each is known (`DbnToEvents.recvOf`, file order on ties), converted by
 * {@link DbnToEvents}, written by a CaptureWriter on a virtual clock that follows the data.
 */
export async function importDbn(o: DbnImportOptions): Promise<DbnImportSummary & { manifest: Manifest }> {
  const sources: Source[] = [];
  let total = 0;
  for (const file of o.files) {
    if (!existsSync(file) || !statSync(file).isFile())
      throw new CaptureError('MDCAP_ERR_IO', `${file}: expected a DBN file, found nothing there`);
    const reader = new DbnReader(readFileSync(file), { file, ...(o.skipBad === true ? { skipBad: true } : {}) });
    total += reader.body.length;
    sources.push({ reader, records: reader.records(), head: null, at: 0n });
  }
  const datasets = [...new Set(sources.map((s) => s.reader.metadata?.dataset).filter((d): d is string => d !== undefined && d !== ''))];
  if (o.venue === undefined && datasets.length !== 1) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `--venue: expected it, or files of one dataset, found ${datasets.length === 0 ? 'no dataset in the files (fragments)' : `datasets ${datasets.join(', ')}`}`,
    );
  }
  const venue = o.venue ?? datasets[0]!;
  const symbols = new SymbolMap();
  for (const s of sources) symbols.merge(SymbolMap.fromMetadata(s.reader.metadata));
  const convert = new DbnToEvents(venue, symbols);
  const advance = (s: Source): void => {
    const n = s.records.next();
    s.head = n.done === true ? null : n.value;
    if (s.head !== null) s.at = DbnToEvents.recvOf(s.head);
  };
  for (const s of sources) advance(s);

  let start: bigint | null = null;
  for (const s of sources) if (s.head !== null && (start === null || s.at < start)) start = s.at;
  const clock = new VirtualClock(start ?? 0n);
  // Databento numbers records by their channel's packets.
  const writer = await openImportWriter(o.out, venue, clock, start ?? 0n, o.files, o.replace);
  const seen = new Set<string>();
  let records = 0;
  let bytesRead = 0;
  let events = 0;
  let last = clock.now();
  const write = (e: MarketEvent): void => {
    if (e.symbol !== ALL_SYMBOLS) seen.add(e.symbol);
    if (!writer.write(e)) throw writer.failed!;
    events++;
    last = e.tsRecv;
  };
  try {
    for (;;) {
      let pick: Source | null = null;
      for (const s of sources) if (s.head !== null && (pick === null || s.at < pick.at)) pick = s;
      if (pick === null) break;
      const r = pick.head!;
      symbols.learn(r);
      convert.convert(r, write, pick.reader.metadata?.schema ?? null);
      records++;
      bytesRead += (r['length'] as number) * 4;
      if ((records & 0xffff) === 0) o.onProgress?.(records, total === 0 ? 1 : Math.min(1, bytesRead / total));
      advance(pick);
    }
  } catch (error) {
    writer.noteSymbols(seen);
    throw await failedImport(writer, error, o.keepPartial === true, venue, last);
  }
  const symbolList = [...seen].sort();
  writer.noteSymbols(symbolList);
  // Definitions first; any other symbol gets DBN's scales (prices 1e-9, sizes whole).
  writer.noteInstruments(convert.instruments.values());
  writer.noteInstruments(symbolList.map((symbol) => ({ venue, symbol, priceScale: DBN_PRICE_SCALE, sizeScale: 0 })));
  const manifest = await writer.close(last);
  const badRecords = sources.reduce((n, s) => n + s.reader.skipped, 0);
  return {
    out: o.out,
    format: 'dbn',
    venue,
    files: o.files.length,
    records,
    events,
    symbols: symbolList,
    instruments: convert.instruments.size,
    skipped: Object.fromEntries(convert.skipped),
    badRecords,
    unmappedInstrumentIds: [...convert.unmapped].sort((a, b) => a - b),
    parquetFiles: manifest.files.length,
    end: last.toString(),
    replaced: writer.replaced.map((x) => x.id),
    manifest,
  };
}
