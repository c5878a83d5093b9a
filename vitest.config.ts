import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name; point the names at their TypeScript sources so a
// test run never depends on a stale build. (Worker threads load the built `dist/` instead.)
const root = fileURLToPath(new URL('.', import.meta.url));
const alias = Object.fromEntries(readdirSync(`${root}packages`).map((name) => [`@mdcap/${name}`, `${root}packages/${name}/src/index.ts`]));
alias['@mdcap/test-utils'] = `${root}test/utils/src/index.ts`;

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
