#!/usr/bin/env node
// Runs the Python client's tests (clients/python/tests) with a Python that has grpc and protobuf:
//   node tools/pytest.mjs [PYTEST ARGS…]        e.g. node tools/pytest.mjs -k parity -x
// Tries /usr/bin/python3 (Debian's python3-grpcio, python3-protobuf, python3-pytest), then the
// python3 on PATH; MDCAP_PYTHON=/path/to/python uses that one only. Without such a Python the tests are skipped with a message (exit 0), except
// under CI=true, where that is a failure (exit 1). Otherwise exits with pytest's exit code.
// The TypeScript must be built first (npx tsc -b tsconfig.build.json): the tests run mdcap serve.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = join(root, 'clients/python');
const candidates = process.env.MDCAP_PYTHON ? [process.env.MDCAP_PYTHON] : ['/usr/bin/python3', 'python3'];
const probe = 'import grpc, google.protobuf, pytest';

function usable(python) {
  const r = spawnSync(python, ['-c', probe], { stdio: 'ignore' });
  return r.status === 0;
}

const python = candidates.find(usable);
if (python === undefined) {
  const message =
    `pytest.mjs: no Python with grpc, protobuf and pytest (tried ${candidates.join(', ')}); ` +
    'the Python client tests did not run. On Debian: apt-get install python3-grpcio python3-protobuf python3-pytest';
  if (process.env.CI === 'true') {
    console.error(`${message} (CI=true: failing)`);
    process.exit(1);
  }
  console.error(`${message} (skipped)`);
  process.exit(0);
}

const r = spawnSync(python, ['-m', 'pytest', '-p', 'no:cacheprovider', ...process.argv.slice(2)], { cwd: clientDir, stdio: 'inherit' });
if (r.error !== undefined) {
  console.error(`pytest.mjs: could not run ${python}: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
