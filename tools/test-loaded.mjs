#!/usr/bin/env node
/**
 * `pnpm test:loaded`: the whole suite (build + vitest, as `pnpm test`) while CPU-bound
 * processes run beside it, one per core by default, so that a test relying on wall-clock timing
 * fails here rather than on someone's busy machine. The burners are stopped afterwards whatever
 * the outcome (and stop themselves if this runner dies); the exit code is the build's if it
 * failed, else vitest's. Arguments go to vitest (`pnpm test:loaded packages/feeds`).
 *
 * MDCAP_LOAD_PROCS=n sets the number of burners (default 2, this machine's cores).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const procs = Number(process.env['MDCAP_LOAD_PROCS'] ?? 2);
if (!Number.isInteger(procs) || procs < 0) {
  console.error(`test:loaded: MDCAP_LOAD_PROCS: expected a whole number ≥ 0, found ${process.env['MDCAP_LOAD_PROCS']}`);
  process.exit(2);
}

// A busy loop that looks up now and then whether its parent is still there (an orphan is
// adopted by another process and stops), so a burner never outlives the run.
const BURN = `const parent = ${process.pid}; for (let i = 1; ; i++) if ((i & 0xffffff) === 0 && process.ppid !== parent) process.exit(0);`;
const burners = [];
for (let i = 0; i < procs; i++) burners.push(spawn(process.execPath, ['-e', BURN], { stdio: 'ignore' }));

function stopBurners() {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
}
process.on('exit', stopBurners);
let child = null;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    child?.kill(signal);
    stopBurners();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

/** Runs a command with inherited output; resolves with its exit code (1 if a signal ended it). */
function run(cmd, args) {
  return new Promise((resolve) => {
    child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
    child.on('error', (error) => {
      console.error(`test:loaded: ${cmd}: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

const t0 = performance.now();
console.log(`test:loaded: ${procs} CPU-bound process(es) beside the suite (pids ${burners.map((b) => b.pid).join(', ')})`);
let code = await run(bin('tsc'), ['-b', 'tsconfig.build.json']);
if (code === 0) code = await run(bin('vitest'), ['run', ...process.argv.slice(2)]);
stopBurners();
console.log(
  `test:loaded: ${code === 0 ? 'passed' : `failed (exit ${code})`} in ${((performance.now() - t0) / 1000).toFixed(0)} s under load`,
);
process.exit(code);
