import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { REPO_ROOT } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

/**
 * The package graph and the purity rules are enforced by ESLint (eslint.config.js). These probes
 * lint small pieces of code as if they sat in a package, to prove the rules still catch what
 * they promise to catch.
 */
const eslint = new ESLint({
  cwd: REPO_ROOT,
  // The probes are not files of the TypeScript project: lint them without type information.
  overrideConfig: [{ ...tseslint.configs.disableTypeChecked, files: ['**/*.ts'] }],
});

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${REPO_ROOT}/${file}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('import boundaries and purity, enforced by lint', () => {
  it.each([
    ['packages/core/src/probe.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", /@mdcap\/core is pure/],
    [
      'packages/core/src/probe.ts',
      "import { RingBuffer } from '@mdcap/ring';\nexport const x = RingBuffer;\n",
      /may not depend on @mdcap\/ring/,
    ],
    [
      'packages/ring/src/probe.ts',
      "import { RealtimeEngine } from '@mdcap/engine';\nexport const x = RealtimeEngine;\n",
      /may not depend on @mdcap\/engine/,
    ],
    [
      'packages/engine/src/probe.ts',
      "import { SimProvider } from '@mdcap/sim';\nexport const x = SimProvider;\n",
      /may not depend on @mdcap\/sim/,
    ],
    ['packages/engine/src/probe.ts', "import WebSocket from 'ws';\nexport const x = WebSocket;\n", /@mdcap\/engine is pure/],
    [
      'packages/pipeline/src/probe.ts',
      "import { KrakenEmulator } from '@mdcap/emulators';\nexport const x = KrakenEmulator;\n",
      /@mdcap\/pipeline may not depend on @mdcap\/emulators/,
    ],
    ['packages/pipeline/src/probe.ts', "import { runCli } from '@mdcap/cli';\nexport const x = runCli;\n", /may not depend on @mdcap\/cli/],
    ['packages/capture/src/probe.ts', "import { runCli } from '@mdcap/cli';\nexport const x = runCli;\n", /may not depend on @mdcap\/cli/],
    [
      'packages/emulators/src/probe.ts',
      "import { record } from '@mdcap/pipeline';\nexport const x = record;\n",
      /@mdcap\/emulators may not depend on @mdcap\/pipeline/,
    ],
    ['packages/sim/src/probe.ts', "import { Worker } from 'node:worker_threads';\nexport const x = Worker;\n", /@mdcap\/sim is pure/],
    ['packages/engine/src/probe.ts', 'export const now = (): number => Date.now();\n', /Take time from the injected Clock/],
    ['packages/sim/src/probe.ts', 'export const r = (): number => Math.random();\n', /Randomness must be seeded/],
    [
      'packages/ring/src/probe.ts',
      'export const t = (): unknown => setTimeout(() => undefined, 1);\n',
      /Take time from the injected Clock/,
    ],
    ['packages/core/src/probe.ts', 'export const d = (): Date => new Date();\n', /Take time from the injected Clock/],
    [
      'test/integration/probe.test.ts',
      "import { parseDecimal } from '@mdcap/core/src/decimal.js';\nexport const x = parseDecimal;\n",
      /through their public entry/,
    ],
    ['tools/bench/src/probe.ts', "import { x } from '../../../packages/core/src/index.js';\nexport const y = x;\n", /by name/],
  ])('%s: %j is an error', async (file, code, expected) => {
    expect((await problems(file, code)).join('\n')).toMatch(expected);
  });

  it('allowed imports pass', async () => {
    expect(
      await problems(
        'packages/engine/src/probe.ts',
        "import { RingBuffer } from '@mdcap/ring';\nimport { VirtualClock } from '@mdcap/core';\nexport const x = [RingBuffer, VirtualClock];\n",
      ),
    ).toEqual([]);
    expect(await problems('packages/core/src/host.ts', 'export const now = (): number => Date.now();\n')).toEqual([]);
  });
});
