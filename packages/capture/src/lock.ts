import { closeSync, existsSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError } from '@mdcap/core';
import { LOCK } from './layout.js';

/** Roots this process holds the lock of (a second writer or a repair in the same process is refused too). */
const held = new Set<string>();

function key(root: string): string {
  try {
    return realpathSync(root);
  } catch {
    return root;
  }
}

/** True if a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(lock: string): number | null {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The pid of a live process holding the root's lock (this one included), or null. */
export function lockHolder(root: string): number | null {
  if (held.has(key(root))) return process.pid;
  const lock = join(root, LOCK);
  if (!existsSync(lock)) return null;
  const pid = readPid(lock);
  return pid !== null && pid !== process.pid && alive(pid) ? pid : null;
}

/**
 * Takes the root's lock for this process (recording, repairing): the lock file is created
 * exclusively (`wx`), so two processes cannot both take it. A lock left by a process that no
 * longer runs (a crash) is taken over.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_LOCKED` if a live process (this one included) holds it.
 */
export function acquireLock(root: string, purpose: string): void {
  const k = key(root);
  const lock = join(root, LOCK);
  const refuse = (pid: number): CaptureError =>
    new CaptureError(
      'MDCAP_ERR_CAPTURE_LOCKED',
      `capture ${root}: expected no other writer before ${purpose}, found process ${pid}${pid === process.pid ? ' (this one)' : ''} writing to it (${lock})`,
      {
        details: { pid },
      },
    );
  if (held.has(k)) throw refuse(process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = readPid(lock);
      if (pid !== null && pid !== process.pid && alive(pid)) throw refuse(pid);
      try {
        unlinkSync(lock); // stale: its process is gone
      } catch {
        // another process took it over first; try again
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    held.add(k);
    return;
  }
  throw refuse(readPid(lock) ?? 0);
}

export function releaseLock(root: string): void {
  held.delete(key(root));
  try {
    unlinkSync(join(root, LOCK));
  } catch {
    // already gone
  }
}
