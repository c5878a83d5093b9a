import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { captureContaining } from '@mdcap/capture';
import { CaptureError, ConfigError, MdcapError } from '@mdcap/core';

/**
 * A file mdcap writes on a user's behalf (`--out`): checked by {@link checkOutFile} before the
 * work starts, written by {@link writeOutFile}. Every command that writes a file the user names
 * goes through these two: nothing is ever written inside a capture, nothing is replaced without
 * `--force`, and an interrupted write never leaves half a file in place of a good one.
 */
export interface OutFile {
  /** The flag, for messages: `--out`. */
  readonly flag: string;
  /** The path as given. */
  readonly path: string;
  /** Where it is written: its directory with symlinks and `..` resolved, and its name. */
  readonly target: string;
  readonly force: boolean;
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? '';
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return null;
    throw error;
  }
}

/**
 * The nearest directory of `path` that exists, resolved as the OS resolves it: the path is taken
 * as given, so `..` after a symlink leaves the link's target, not the link's directory.
 */
function nearestExisting(where: string, path: string): { readonly real: string; readonly given: string } {
  for (let d = dirname(path); ; d = dirname(d)) {
    try {
      return { real: realpathSync(d), given: d };
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT' && errnoOf(error) !== 'ENOTDIR') {
        throw new CaptureError(
          'MDCAP_ERR_IO',
          `${where}: expected a directory mdcap can look into, found ${d}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
  }
}

/**
 * Checks a file the user asked mdcap to write, before any work: refuses a path inside an mdcap
 * capture (any ancestor directory holding a capture manifest, after resolving symlinks and `..`),
 * a directory, an existing file without `force`, and a directory that does not exist or cannot
 * be written.
 * @throws {ConfigError} `MDCAP_ERR_OUTPUT_IN_CAPTURE`, `MDCAP_ERR_OUTPUT_EXISTS`.
 * @throws {CaptureError} `MDCAP_ERR_IO` for a missing or unwritable directory.
 */
export function checkOutFile(flag: string, path: string, force: boolean): OutFile {
  const where = `${flag} ${path}`;
  if (/[/\\]$/.test(path)) throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${where}: expected a file name, found a directory path`);
  const near = nearestExisting(where, path);
  const inCapture = (capture: string): ConfigError =>
    new ConfigError(
      'MDCAP_ERR_OUTPUT_IN_CAPTURE',
      `${where}: expected a file outside any mdcap capture, found a path inside the capture ${capture} (mdcap never writes into a capture; choose a file next to it, e.g. ${join(dirname(capture), basename(path))})`,
    );
  const capture = captureContaining(near.real);
  if (capture !== null) throw inCapture(capture);
  const dir = dirname(path);
  if (near.given !== dir) {
    throw new CaptureError(
      'MDCAP_ERR_IO',
      `${where}: expected an existing directory ${dir}, found none (create it first: mkdir -p ${dir})`,
    );
  }
  if (!statSync(near.real).isDirectory()) {
    throw new CaptureError('MDCAP_ERR_IO', `${where}: expected ${dir} to be a directory, found a file`);
  }
  const target = join(near.real, basename(path));
  const existing = lstatOrNull(target);
  if (existing !== null) {
    let followed: Stats | null = existing;
    if (existing.isSymbolicLink()) {
      // The link is replaced, not followed; still, a link into a capture is not a place to write.
      try {
        const to = realpathSync(target);
        const linked = captureContaining(dirname(to));
        if (linked !== null) throw inCapture(linked);
        followed = statSync(to);
      } catch (error) {
        if (error instanceof MdcapError) throw error;
        followed = null; // a dangling link
      }
    }
    if (followed?.isDirectory() === true) {
      if (captureContaining(target) === target) {
        throw new ConfigError(
          'MDCAP_ERR_OUTPUT_IN_CAPTURE',
          `${where}: expected a file outside any mdcap capture, found the capture directory itself`,
        );
      }
      throw new ConfigError('MDCAP_ERR_OUTPUT_EXISTS', `${where}: expected a file name, found a directory (name a file in it)`);
    }
    if (!force) {
      throw new ConfigError('MDCAP_ERR_OUTPUT_EXISTS', `${where}: expected a new file, found an existing one (add --force to replace it)`);
    }
  }
  try {
    accessSync(near.real, constants.W_OK);
  } catch (error) {
    throw new CaptureError(
      'MDCAP_ERR_IO',
      `${where}: expected a directory mdcap may write in, found ${dir} not writable (${errnoOf(error)})`,
      {
        cause: error,
      },
    );
  }
  return { flag, path, target, force };
}

/** Flushes a written file to the disk before it takes the place of the target. */
function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Puts the finished temp file in place: atomically; without --force never over a file that appeared meanwhile. */
function publish(tmp: string, out: OutFile): void {
  if (out.force) {
    renameSync(tmp, out.target);
    return;
  }
  try {
    linkSync(tmp, out.target); // fails if the name exists: no check-then-rename race
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') {
      throw new ConfigError(
        'MDCAP_ERR_OUTPUT_EXISTS',
        `${out.flag} ${out.path}: expected a new file, found one created while mdcap was writing (add --force to replace it)`,
      );
    }
    // A file system without hard links: rename, after checking once more.
    if (lstatOrNull(out.target) !== null)
      throw new ConfigError('MDCAP_ERR_OUTPUT_EXISTS', `${out.flag} ${out.path}: expected a new file, found an existing one`);
    renameSync(tmp, out.target);
    return;
  }
  unlinkSync(tmp);
}

/**
 * Writes a checked output file: `write` fills a temp file next to the target (same directory, so
 * the rename is atomic), which is then flushed and renamed into place. On any error the temp file
 * is removed and the target is as it was. File system errors become `MDCAP_ERR_IO`.
 */
export async function writeOutFile<T>(out: OutFile, write: (tmp: string) => T | Promise<T>): Promise<T> {
  const tmp = join(dirname(out.target), `.${basename(out.target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const result = await write(tmp);
    fsyncFile(tmp);
    publish(tmp, out);
    return result;
  } catch (error) {
    rmSync(tmp, { force: true });
    if (error instanceof MdcapError || errnoOf(error) === '') throw error;
    throw new CaptureError('MDCAP_ERR_IO', `${out.flag} ${out.path}: writing failed: ${(error as Error).message}`, { cause: error });
  }
}
