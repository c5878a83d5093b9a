import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError } from '@mdcap/core';
import { LOCK } from './layout.js';

/** True if a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of a live process holding the root's lock, or null (no lock, or its process is gone). */
export function lockHolder(root: string): number | null {
  const lock = join(root, LOCK);
  if (!existsSync(lock)) return null;
  const pid = Number(readFileSync(lock, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : null;
}

/**
 * Takes the root's lock for this process (recording, repairing). A lock left by a process that
 * no longer runs (a crash) is taken over.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_LOCKED` if a live process holds it.
 */
export function acquireLock(root: string, purpose: string): void {
  const pid = lockHolder(root);
  if (pid !== null) {
    throw new CaptureError(
      'MDCAP_ERR_CAPTURE_LOCKED',
      `capture ${root}: expected no other process writing to it before ${purpose}, found process ${pid} (${join(root, LOCK)})`,
      {
        details: { pid },
      },
    );
  }
  writeFileSync(join(root, LOCK), `${process.pid}\n`);
}

export function releaseLock(root: string): void {
  try {
    unlinkSync(join(root, LOCK));
  } catch {
    // already gone
  }
}
