import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CaptureError, describeValue } from '@mdcap/core';
import { acquireLock, releaseLock } from './lock.js';
import { readManifest, writeManifest } from './manifest.js';
import type { ExecutionFile, ExecutionTable } from './manifest.js';

export const EXECUTION_TABLES: readonly ExecutionTable[] = ['fills', 'orders', 'equity'];

/** One table of a paper-trading session, as Parquet bytes. */
export interface ExecutionTableBytes {
  readonly table: ExecutionTable;
  readonly rows: number;
  readonly bytes: Uint8Array;
}

/**
 * Records what a strategy's simulated venue did while a session was recorded (paper trading):
 * its fills, order updates and equity curve, as Parquet files beside the kinds
 * (`executions/session-<id>/<table>.parquet`), listed with their sizes and hashes in that
 * session's manifest entry, where the analytics views `fills`, `orders` and `equity` read them.
 * Takes the capture's lock while it writes; replaces what the session had.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_NOT_FOUND` without such a session,
 *   `MDCAP_ERR_CAPTURE_LOCKED` while another process writes to the capture.
 */
export function addSessionExecutions(root: string, sessionId: number, tables: readonly ExecutionTableBytes[]): ExecutionFile[] {
  acquireLock(root, 'adding a session’s executions');
  try {
    const m = readManifest(root);
    const session = m.sessions.find((s) => s.id === sessionId);
    if (session === undefined) {
      throw new CaptureError(
        'MDCAP_ERR_CAPTURE_NOT_FOUND',
        `capture ${root}: expected session ${describeValue(sessionId)}, found sessions ${m.sessions.map((s) => s.id).join(', ') || 'none'}`,
      );
    }
    const files: ExecutionFile[] = [];
    for (const t of tables) {
      const path = `executions/session-${sessionId}/${t.table}.parquet`;
      writeAtomic(join(root, path), t.bytes);
      files.push({
        table: t.table,
        path,
        rows: t.rows,
        bytes: t.bytes.byteLength,
        sha256: createHash('sha256').update(t.bytes).digest('hex'),
      });
    }
    session.executions = files;
    writeManifest(root, m);
    return files;
  } finally {
    releaseLock(root);
  }
}

function writeAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
