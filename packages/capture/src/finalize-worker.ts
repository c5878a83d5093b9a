/**
 * Worker thread of the {@link Finalizer}: turns segments into Parquet off the recording thread,
 * so zstd encoding never blocks the event loop that receives market data.
 */
import { parentPort } from 'node:worker_threads';
import { MdcapError } from '@mdcap/core';
import { finalizeSegment } from './finalize.js';
import type { FileMeta } from './finalize.js';
import type { CaptureKind } from './kinds/index.js';

interface Job {
  readonly id: number;
  readonly root: string;
  readonly segment: string;
  readonly kind: CaptureKind;
  readonly meta: FileMeta;
}

// One job at a time, in arrival order: a group's segments are not all in memory at once.
let queue: Promise<unknown> = Promise.resolve();
parentPort!.on('message', (job: Job) => {
  queue = queue.then(() => run(job));
});

function run(job: Job): Promise<void> {
  return finalizeSegment(job.root, job.segment, job.kind, job.meta).then(
    (entry) => parentPort!.postMessage({ id: job.id, entry }),
    (error: unknown) =>
      parentPort!.postMessage({
        id: job.id,
        error: {
          message: error instanceof Error ? error.message : String(error),
          code: error instanceof MdcapError ? error.code : 'MDCAP_ERR_IO',
        },
      }),
  );
}
