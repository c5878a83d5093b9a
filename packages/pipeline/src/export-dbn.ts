import { CaptureReader, instrumentFromJson } from '@mdcap/capture';
import { MdcapError } from '@mdcap/core';
import { encodeDbn, EventsToDbn, EXPORT_SCHEMAS } from '@mdcap/dbn';
import type { DbnMetadata, DbnRecord } from '@mdcap/dbn';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { captureFraction } from './progress.js';

export interface DbnExportOptions {
  /** The capture directory. */
  readonly dir: string;
  /** `trades`, `mbo`, `ohlcv-1s`, `ohlcv-1m`, `ohlcv-1h`, `ohlcv-1d` (see `EXPORT_SCHEMAS`). */
  readonly schema: string;
  /** Symbols to export (default: all the capture has). */
  readonly symbols?: readonly string[];
  /** Called every 65,536 events with the tsRecv reached and how far that is through the capture's time (0 to 1). */
  readonly onProgress?: (tsRecv: bigint, fraction: number) => void;
}

export interface DbnExport {
  readonly metadata: DbnMetadata;
  readonly records: readonly DbnRecord[];
  /** The DBN v3 file: metadata and records, plain (not zstd). */
  bytes(): Uint8Array;
}

/**
 * A capture's trades, MBO order updates or bars as DBN records of one schema, replayed through
 * the engine in capture order (see `EventsToDbn` for how events map to records). Writing the
 * file is the caller's (the CLI refuses paths inside a capture and writes under a temp name).
 * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for an unknown schema, a capture without
 *   events of it, or the first event DBN cannot hold (a fractional size names the event).
 */
export async function exportDbn(o: DbnExportOptions): Promise<DbnExport> {
  if (EXPORT_SCHEMAS[o.schema] === undefined) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `--schema: expected one of ${Object.keys(EXPORT_SCHEMAS).join(', ')}, found "${o.schema}"`,
    );
  }
  const m = CaptureReader.open(o.dir).manifest;
  const symbols = o.symbols ?? m.symbols;
  const known = new Map<string, number>();
  for (const entry of m.instruments) {
    const i = instrumentFromJson(entry);
    if (i.instrumentId !== undefined && i.instrumentId <= 2n ** 32n - 1n) known.set(i.symbol, Number(i.instrumentId));
  }
  const dbn = new EventsToDbn(o.schema, known);
  const engine = new RealtimeEngine(ReplayProvider.open(o.dir), { books: false });
  // The first event DBN cannot hold ends the export (nothing is written): one clear error.
  const failed: { error: Error | null } = { error: null };
  const fraction = captureFraction(m);
  let n = 0;
  engine.onEvent((e) => {
    if ((++n & 0xffff) === 0) o.onProgress?.(e.tsRecv, fraction(e.tsRecv));
    if (failed.error !== null || !dbn.accepts(e)) return;
    try {
      dbn.add(e);
    } catch (error) {
      failed.error = error instanceof Error ? error : new Error(String(error));
      void engine.stop();
    }
  });
  await engine.run(symbols);
  if (failed.error !== null) throw failed.error;
  if (dbn.records.length === 0) {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `--schema ${o.schema}: expected events of that kind in ${o.dir}, found none`);
  }
  const metadata = dbn.metadata(m.feed, symbols);
  return { metadata, records: dbn.records, bytes: () => encodeDbn(metadata, dbn.records) };
}
