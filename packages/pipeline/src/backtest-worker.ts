/**
 * A worker thread of `runSweep`: runs one parameter set's backtest (`workerData`: a
 * {@link SweepJob}), writes its outputs if asked, and answers with its summary.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fillsHash, runBacktest } from './backtest.js';
import { writeBacktestOutputs } from './backtest-output.js';
import { replyError } from './backtest-sweep.js';
import type { SweepJob, SweepReply } from './backtest-sweep.js';

const job = workerData as SweepJob;
let reply: SweepReply;
try {
  const result = await runBacktest(job.options);
  if (job.out !== null) writeBacktestOutputs(result, job.out, { force: job.force });
  reply = { ok: true, summary: result.summary, stats: result.stats, fillsHash: fillsHash(result.fills) };
} catch (error) {
  reply = { ok: false, error: replyError(error) };
}
parentPort?.postMessage(reply);
