import { statSync } from 'node:fs';
import { CaptureWriter, sha256FileAsync } from '@mdcap/capture';
import type { SourceFile } from '@mdcap/capture';
import { ALL_SYMBOLS, createStatus, MdcapError } from '@mdcap/core';
import type { VirtualClock } from '@mdcap/core';

/** The files of an import with their size and sha256 (kept in the session: the same file is not imported twice). */
export async function sourceFiles(files: readonly string[]): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for (const file of files) out.push({ file, bytes: statSync(file).size, sha256: await sha256FileAsync(file) });
  return out;
}

/**
 * The writer of an import of `files` into `out`: on a virtual clock that follows the data from
 * `start`, the venue's records numbered by its channel's packets (`monotonic-per-kind`), the
 * source files kept in the session, overlapping sessions replaced only when asked.
 */
export async function openImportWriter(
  out: string,
  venue: string,
  clock: VirtualClock,
  start: bigint,
  files: readonly string[],
  replace: boolean | undefined,
): Promise<CaptureWriter> {
  return CaptureWriter.open(out, {
    feed: venue,
    symbols: [],
    clock,
    fsync: false,
    sequencing: { [venue]: 'monotonic-per-kind' },
    import: { start, sources: await sourceFiles(files), ...(replace === true ? { replace: true } : {}) },
  });
}

/**
 * An import failed at a bad record: by default nothing of it stays (the capture is as it was
 * before); with `keepPartial` what came before stays, behind a gap status saying where and why
 * it stops. Returns the error to throw, saying which of the two happened.
 */
export async function failedImport(
  writer: CaptureWriter,
  error: unknown,
  keepPartial: boolean,
  venue: string,
  last: bigint,
): Promise<unknown> {
  if (!(error instanceof MdcapError)) {
    await writer.abort();
    return error;
  }
  if (!keepPartial) {
    await writer.abort();
    return new MdcapError(error.code, `${error.message}; nothing was imported (--keep-partial keeps what came before the error)`, {
      cause: error,
    });
  }
  // What was imported so far stays a readable capture, and says that it stops short.
  writer.write(
    createStatus({
      venue,
      symbol: ALL_SYMBOLS,
      tsEvent: last,
      tsRecv: last,
      kind: 'gap',
      detail: `import stopped early: ${error.message}`,
    }),
  );
  await writer.close(last);
  return new MdcapError(error.code, `${error.message}; what came before it was kept (--keep-partial), behind a gap status`, {
    cause: error,
  });
}
