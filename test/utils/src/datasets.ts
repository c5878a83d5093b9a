import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetsRoot } from '@mdcap/emulators';

/**
 * The one way tests find third-party datasets: `MDCAP_DATASETS` if set, else `../shared/datasets`
 * next to the repository. Without it, dataset tests skip with a message saying where they
 * looked; under `CI=true` a missing dataset is a failure. Files are checked against the sha256
 * in `datasets/manifest.json`, so a changed upstream file is noticed rather than silently used.
 */

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const REPO_ROOT: string = resolve(here, '../../..');

interface ManifestFile {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}
interface ManifestEntry {
  readonly name: string;
  readonly files: readonly ManifestFile[];
}
interface Manifest {
  readonly datasets: readonly ManifestEntry[];
}

let manifestCache: Manifest | undefined;
function manifest(): Manifest {
  manifestCache ??= JSON.parse(readFileSync(join(REPO_ROOT, 'datasets/manifest.json'), 'utf8')) as Manifest;
  return manifestCache;
}

/** Where datasets are looked for (the one lookup mdcap has: @mdcap/emulators' `datasetsRoot`). */
export { datasetsRoot };

export interface DatasetStatus {
  readonly available: boolean;
  /** Why it is not available (for the skip message). */
  readonly reason: string;
}

const verified = new Map<string, DatasetStatus>();

/** Checks that a dataset of the manifest is present with the expected bytes. */
export function datasetStatus(name: string): DatasetStatus {
  const cached = verified.get(name);
  if (cached !== undefined) return cached;
  const entry = manifest().datasets.find((d) => d.name === name);
  let status: DatasetStatus;
  if (entry === undefined) {
    status = { available: false, reason: `dataset ${name} is not listed in datasets/manifest.json` };
  } else {
    const root = datasetsRoot();
    status = { available: true, reason: '' };
    for (const f of entry.files) {
      const p = join(root, name, f.path);
      if (!existsSync(p)) {
        status = { available: false, reason: `${p} not found (set MDCAP_DATASETS to the folder holding ${name}/)` };
        break;
      }
      const bytes = readFileSync(p);
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (bytes.length !== f.bytes || sha !== f.sha256) {
        status = {
          available: false,
          reason: `${p}: expected ${f.bytes} bytes with sha256 ${f.sha256}, found ${statSync(p).size} bytes with sha256 ${sha}`,
        };
        break;
      }
    }
  }
  verified.set(name, status);
  return status;
}

/** True when running under CI, where a missing dataset must fail instead of skip. */
export function inCI(): boolean {
  return process.env['CI'] === 'true' || process.env['CI'] === '1';
}

/** Absolute path of a file of a dataset (check {@link datasetStatus} first). */
export function datasetFile(name: string, path: string): string {
  return join(datasetsRoot(), name, path);
}
