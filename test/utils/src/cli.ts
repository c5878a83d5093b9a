import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './datasets.js';

/** The built `mdcap` binary (`pnpm test` builds first). */
export const MDCAP_BIN: string = join(REPO_ROOT, 'packages/cli/dist/main.js');

/** Runs `mdcap ARGS` to completion; stdout and stderr as text. */
export function mdcap(args: readonly string[], options: { readonly timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MDCAP_BIN, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
}

/** A new empty directory under the OS temp dir. */
export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `mdcap-test-${name}-`));
}
