import { describe, it } from 'vitest';
import { datasetStatus, inCI } from './datasets.js';
import { serverMissing } from './servers.js';
import type { ServerKind } from './servers.js';

/**
 * `describe` for tests that need a dataset of `../shared/datasets`: runs them when the dataset
 * is present and intact, skips them with the reason otherwise, and fails under `CI=true`.
 */
export function describeWithDataset(dataset: string, title: string, body: () => void): void {
  const status = datasetStatus(dataset);
  if (status.available) {
    describe(title, body);
  } else if (inCI()) {
    describe(title, () => {
      it(`needs dataset ${dataset}`, () => {
        throw new Error(`CI=true and dataset ${dataset} is unavailable: ${status.reason}`);
      });
    });
  } else {
    console.warn(`[mdcap] skipping "${title}": ${status.reason}`);
    describe.skip(`${title} [skipped: ${status.reason}]`, body);
  }
}

/**
 * `describe` for tests that need real servers (PostgreSQL, Redis, nats-server, the Kafka mock):
 * runs them when every one can be started here, skips them with the reason otherwise, and
 * fails under `CI=true` (where `.ci/run` installs them).
 */
export function describeWithServers(kinds: readonly ServerKind[], title: string, body: () => void): void {
  const missing = kinds.map(serverMissing).filter((why): why is string => why !== null);
  if (missing.length === 0) {
    describe(title, body);
  } else if (inCI()) {
    describe(title, () => {
      it(`needs ${kinds.join(', ')}`, () => {
        throw new Error(`CI=true and a server is missing: ${missing.join('; ')}`);
      });
    });
  } else {
    console.warn(`[mdcap] skipping "${title}": ${missing.join('; ')}`);
    describe.skip(`${title} [skipped: ${missing.join('; ')}]`, body);
  }
}
