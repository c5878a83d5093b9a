import { statSync } from 'node:fs';
import { sha256FileAsync } from '@mdcap/capture';
import type { CaptureWriter, SourceFile } from '@mdcap/capture';
import { ALL_SYMBOLS, createStatus, MdcapError } from '@mdcap/core';

/** The files of an import with their size and sha256 (kept in the session: the same file is not imported twice). */
export async function sourceFiles(files: readonly string[]): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for (const file of files) out.push({ file, bytes: statSync(file).size, sha256: await sha256FileAsync(file) });
  return out;
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
