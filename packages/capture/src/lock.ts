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

/**
 * When a process started (clock ticks since boot, from /proc), or null where that is unknown:
 * with its pid it names one process, even after the pid is reused by another.
 */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** A process's command line, for messages (null where unknown). */
function commandLine(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return text === '' ? null : text.length > 120 ? `${text.slice(0, 117)}…` : text;
  } catch {
    return null;
  }
}

/** The lock's holder: `pid start-time` (mdcap 0.1.0 wrote the pid alone). */
interface Holder {
  readonly pid: number;
  readonly start: string | null;
}

/** True if the process that wrote the lock still runs (the same process, not another with its pid). */
function alive(h: Holder): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (h.start === null) return true;
  const now = startTime(h.pid);
  return now === null || now === h.start;
}

function readHolder(lock: string): Holder | null {
  try {
    const [p, start] = readFileSync(lock, 'utf8').trim().split(/\s+/);
    const pid = Number(p);
    return Number.isInteger(pid) && pid > 0 ? { pid, start: start ?? null } : null;
  } catch {
    return null;
  }
}

/** The pid of a live process holding the root's lock (this one included), or null. */
export function lockHolder(root: string): number | null {
  if (held.has(key(root))) return process.pid;
  const lock = join(root, LOCK);
  if (!existsSync(lock)) return null;
  const h = readHolder(lock);
  return h !== null && h.pid !== process.pid && alive(h) ? h.pid : null;
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
  const refuse = (pid: number): CaptureError => {
    const cmd = pid === process.pid ? null : commandLine(pid);
    const who = pid === process.pid ? ' (this one)' : cmd === null ? '' : ` (${cmd})`;
    const hint =
      pid === process.pid || cmd === null || /mdcap|main\.js/.test(cmd)
        ? ''
        : `; that does not look like mdcap: if no mdcap process is writing to the capture, delete ${lock}`;
    return new CaptureError(
      'MDCAP_ERR_CAPTURE_LOCKED',
      `capture ${root}: expected no other writer before ${purpose}, found process ${pid}${who} holding its lock (${lock})${hint}`,
      { details: { pid } },
    );
  };
  if (held.has(k)) throw refuse(process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const h = readHolder(lock);
      if (h !== null && h.pid !== process.pid && alive(h)) throw refuse(h.pid);
      try {
        unlinkSync(lock); // stale: its process is gone
      } catch {
        // another process took it over first; try again
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid} ${startTime(process.pid) ?? ''}`.trim() + '\n');
    } finally {
      closeSync(fd);
    }
    held.add(k);
    return;
  }
  throw refuse(readHolder(lock)?.pid ?? 0);
}

export function releaseLock(root: string): void {
  held.delete(key(root));
  try {
    unlinkSync(join(root, LOCK));
  } catch {
    // already gone
  }
}
