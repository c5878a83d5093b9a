import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, LOCK, lockHolder, releaseLock } from '@mdcap/capture';
import { tempDir } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A stale lock whose pid was reused by another process (issue 10, item 11) used to block record
 * and repair with no hint. The lock now names its process by pid and start time, so a reused
 * pid is seen as stale; a lock of the old form naming a live process that is not mdcap says how
 * to get past it.
 */

const dir = tempDir('lock');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Another live process, with its own pid, until `stop()`. */
async function otherProcess(): Promise<{ pid: number; stop: () => void }> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

describe('the capture lock', () => {
  it('names its process by pid and start time', () => {
    const root = join(dir, 'a');
    mkdirSync(root);
    acquireLock(root, 'recording');
    expect(readFileSync(join(root, LOCK), 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    releaseLock(root);
  });

  it('a lock whose pid now belongs to another process (started later) is stale and taken over', async () => {
    const root = join(dir, 'b');
    mkdirSync(root);
    const other = await otherProcess();
    try {
      writeFileSync(join(root, LOCK), `${other.pid} 1\n`); // the pid, with the start time of a long-gone process
      expect(lockHolder(root)).toBeNull();
      acquireLock(root, 'recording');
      expect(readFileSync(join(root, LOCK), 'utf8').split(' ')[0]).toBe(String(process.pid));
      releaseLock(root);
    } finally {
      other.stop();
    }
  });

  it('a lock that names a live process which is not mdcap says how to get past it', async () => {
    const root = join(dir, 'c');
    mkdirSync(root);
    const other = await otherProcess();
    try {
      writeFileSync(join(root, LOCK), `${other.pid}\n`); // the 0.1.0 form: the pid alone
      expect(() => acquireLock(root, 'repairing')).toThrow(
        new RegExp(
          `expected no other writer before repairing, found process ${other.pid} \\(sleep 60\\) holding its lock \\(.*\\.lock\\); that does not look like mdcap: if no mdcap process is writing to the capture, delete .*\\.lock$`,
        ),
      );
    } finally {
      other.stop();
    }
  });
});
