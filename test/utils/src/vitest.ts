import { describe, it } from 'vitest';
import { datasetStatus, inCI } from './datasets.js';

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
