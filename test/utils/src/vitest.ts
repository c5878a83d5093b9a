import { describe, it } from 'vitest';
import { datasetStatus, inCI } from './datasets.js';
import { browserMissing } from './browser.js';
import { serverMissing } from './servers.js';
import type { ServerKind } from './servers.js';

/**
 * `describe` for tests that need something from outside the repository: runs them when
 * `missing` is null, skips them with that reason otherwise, and fails under `CI=true`, where it
 * must be there.
 */
function describeIfPresent(need: string, missing: string | null, title: string, body: () => void): void {
  if (missing === null) {
    describe(title, body);
  } else if (inCI()) {
    describe(title, () => {
      it(`needs ${need}`, () => {
        throw new Error(`CI=true and ${need} is unavailable: ${missing}`);
      });
    });
  } else {
    console.warn(`[mdcap] skipping "${title}": ${missing}`);
    describe.skip(`${title} [skipped: ${missing}]`, body);
  }
}

/**
 * `describe` for tests that need a dataset of `../shared/datasets`: runs them when the dataset
 * is present and intact, skips them with the reason otherwise, and fails under `CI=true`.
 */
export function describeWithDataset(dataset: string, title: string, body: () => void): void {
  const status = datasetStatus(dataset);
  describeIfPresent(`dataset ${dataset}`, status.available ? null : status.reason, title, body);
}

/**
 * `describe` for tests that need real servers (PostgreSQL, Redis, nats-server, the Kafka mock):
 * runs them when every one can be started here, skips them with the reason otherwise, and
 * fails under `CI=true` (where `.ci/run` installs them).
 */
export function describeWithServers(kinds: readonly ServerKind[], title: string, body: () => void): void {
  const missing = kinds.map(serverMissing).filter((why): why is string => why !== null);
  describeIfPresent(kinds.join(', '), missing.length === 0 ? null : missing.join('; '), title, body);
}

/**
 * `describe` for tests that drive headless Chromium (Debian's package): skipped with the reason
 * where it is missing, failed under `CI=true` (where `.ci/run` installs it).
 */
export function describeWithBrowser(title: string, body: () => void): void {
  describeIfPresent('Chromium', browserMissing(), title, body);
}
