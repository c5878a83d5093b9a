import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './datasets.js';
import { waitFor } from './wait.js';

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

/** Runs `mdcap ARGS` without blocking the event loop (in-process servers keep serving). */
export function mdcapAsync(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MDCAP_BIN, ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Starts a long-running `mdcap ARGS` (an emulator) and resolves with the child and the first
 * line it prints (`--json`: where it listens). Kill the child when done.
 */
export function mdcapServer(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; firstLine: string }> {
  const child = spawn(process.execPath, [MDCAP_BIN, ...args], { env: { ...process.env, FORCE_COLOR: '0', ...env } });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, firstLine: out.slice(0, nl) });
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`mdcap ${args.join(' ')} exited with ${code}: ${err}`)));
  });
}

/**
 * Runs a long-running `mdcap ARGS` (a `record` without `--duration`) until `done()` holds,
 * then stops it as Ctrl-C would (SIGTERM: it finishes its work, then exits); resolves with how
 * it exited. Stopping on a condition rather than after a fixed time, what it did does not depend
 * on how busy the machine is. Fails, saying what it waited for, if the command exits first.
 */
export async function mdcapUntil(
  args: readonly string[],
  done: () => boolean | Promise<boolean>,
  what: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MDCAP_BIN, ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let status: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      status = code;
      resolve();
    }),
  );
  try {
    await waitFor(
      async () => {
        if (status !== undefined) throw new Error(`mdcap ${args.join(' ')} exited (${status}) before ${what}: ${stderr}`);
        return done();
      },
      { what, state: () => stderr, everyMs: 100 },
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return { status: status ?? null, stdout, stderr };
}
