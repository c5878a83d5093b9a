import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { CaptureWriter } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { CaptureError, MdcapError, VirtualClock } from '@mdcap/core';
import { LOBSTER_PRICE_SCALE, LobsterParser, parseLobsterFileName } from '@mdcap/feeds';
import { failedImport, sourceFiles } from './import-common.js';

export interface LobsterImportOptions {
  /** The message file (`…_message_10.csv`) and the orderbook file (`…_orderbook_10.csv`: row 1 seeds the book). */
  readonly messages: string;
  readonly orderbook: string;
  readonly out: string;
  /** Default: from the file names. */
  readonly symbol?: string;
  /** Trading date `YYYY-MM-DD` (default: from the file names). */
  readonly date?: string;
  /** Venue on the events (default `nasdaq`). */
  readonly venue?: string;
  /** Levels per side in the orderbook file (default: from the file names, else 10). */
  readonly levels?: number;
  /** Time zone of the time column (default America/New_York). */
  readonly timeZone?: string;
  /** On a bad row, keep what came before (behind a gap status) instead of importing nothing. */
  readonly keepPartial?: boolean;
  /** Replace the sessions the import overlaps instead of refusing it. */
  readonly replace?: boolean;
  readonly onProgress?: (rows: number, total: number) => void;
}

export interface LobsterImportSummary {
  readonly out: string;
  readonly format: 'lobster';
  readonly venue: string;
  readonly symbol: string;
  readonly date: string;
  readonly levels: number;
  readonly rows: number;
  readonly events: number;
  readonly files: number;
  readonly end: string;
  readonly replaced: readonly number[];
}

function readable(flag: string, path: string): void {
  if (!existsSync(path)) throw new CaptureError('MDCAP_ERR_IO', `${flag} ${path}: expected a file, found nothing at that path`);
  if (!statSync(path).isFile()) throw new CaptureError('MDCAP_ERR_IO', `${flag} ${path}: expected a file, found a directory or device`);
}

/** The first line of a (possibly huge) file, without reading all of it. */
function firstLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    let text = '';
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return text;
      text += buf.toString('latin1', 0, n);
      const nl = text.indexOf('\n');
      if (nl >= 0) return text.slice(0, nl).replace(/\r$/, '');
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A LOBSTER day (message and orderbook files) into a capture, as one session, all or nothing:
 * orderbook row 1 seeds the book as an L2 snapshot at message 1's time; messages 2… become L3
 * order updates, trades and trading statuses (see docs/cli.md). `tsRecv` = `tsEvent`; `seq` is
 * the message row number.
 * @throws {MdcapError} `MDCAP_ERR_IMPORT_FORMAT` naming the file, row and column (nothing is
 *   imported unless `keepPartial`), `MDCAP_ERR_IMPORT_OVERLAP`, `MDCAP_ERR_IO`.
 */
export async function importLobster(o: LobsterImportOptions): Promise<LobsterImportSummary & { manifest: Manifest }> {
  readable('--messages', o.messages);
  readable('--orderbook', o.orderbook);
  const mName = parseLobsterFileName(basename(o.messages));
  const oName = parseLobsterFileName(basename(o.orderbook));
  if (mName !== null && oName !== null && (mName.symbol !== oName.symbol || mName.date !== oName.date || mName.levels !== oName.levels)) {
    throw new MdcapError(
      'MDCAP_ERR_IMPORT_FORMAT',
      `--messages and --orderbook: expected files of one symbol, date and depth, found ${mName.symbol} ${mName.date} (${mName.levels} levels) and ${oName.symbol} ${oName.date} (${oName.levels} levels)`,
    );
  }
  if (mName?.file === 'orderbook' || oName?.file === 'message') {
    throw new MdcapError(
      'MDCAP_ERR_IMPORT_FORMAT',
      '--messages and --orderbook: expected a message file and an orderbook file, found them swapped',
    );
  }
  const fromName = mName ?? oName;
  const symbol = o.symbol ?? fromName?.symbol;
  const date = o.date ?? fromName?.date;
  if (symbol === undefined || date === undefined) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `--symbol and --date: expected them, or LOBSTER file names such as AAPL_2012-06-21_34200000_57600000_message_10.csv, found ${basename(o.messages)}`,
    );
  }
  const levels = o.levels ?? fromName?.levels ?? 10;
  const venue = o.venue ?? 'nasdaq';
  const parser = new LobsterParser(
    { symbol, date, venue, timeZone: o.timeZone ?? 'America/New_York', levels },
    { messages: basename(o.messages), orderbook: basename(o.orderbook) },
  );
  const lines = readFileSync(o.messages, 'latin1').split('\n');
  if (lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0)
    throw new MdcapError('MDCAP_ERR_IMPORT_FORMAT', `${basename(o.messages)}: expected LOBSTER message rows, found an empty file`);
  const book = firstLine(o.orderbook);
  if (book.trim() === '')
    throw new MdcapError('MDCAP_ERR_IMPORT_FORMAT', `${basename(o.orderbook)}: expected LOBSTER orderbook rows, found an empty file`);
  const seed = parser.seed(book, lines[0]!);
  const writer = await CaptureWriter.open(o.out, {
    feed: venue,
    symbols: [symbol],
    instruments: [{ venue, symbol, priceScale: LOBSTER_PRICE_SCALE, sizeScale: 0, kind: 'equity' }],
    clock: new VirtualClock(seed[0]!.tsRecv),
    fsync: false,
    import: {
      start: seed[0]!.tsRecv,
      sources: await sourceFiles([o.messages, o.orderbook]),
      ...(o.replace === true ? { replace: true } : {}),
    },
  });
  let events = 0;
  let last = seed[0]!.tsRecv;
  try {
    for (const e of seed) if (!writer.write(e)) throw writer.failed!;
    events += seed.length;
    for (let row = 2; row <= lines.length; row++) {
      for (const e of parser.message(lines[row - 1]!, row)) {
        if (!writer.write(e)) throw writer.failed!;
        events++;
        last = e.tsRecv;
      }
      if ((row & 0xffff) === 0) o.onProgress?.(row, lines.length);
    }
  } catch (error) {
    throw await failedImport(writer, error, o.keepPartial === true, venue, last);
  }
  // The data ends with its last message (a sample may stop before the window its name gives).
  const manifest = await writer.close(last);
  return {
    out: o.out,
    format: 'lobster',
    venue,
    symbol,
    date,
    levels,
    rows: lines.length,
    events,
    files: manifest.files.length,
    end: last.toString(),
    replaced: writer.replaced.map((x) => x.id),
    manifest,
  };
}
