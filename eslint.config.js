// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The package graph, one way only. A package may import the workspace packages listed for it
 * and nothing else of the workspace; tests and tools reach packages only through their public
 * entries. Pure packages (no I/O, no native modules, time only from a Clock) may import no npm
 * package and no Node builtin at all, and may not read host time or randomness.
 */
const GRAPH = {
  core: [],
  ring: ['core'],
  engine: ['core', 'ring'],
  sim: ['core'],
  // Simulated execution (orders, queues, latency, fees, PnL) over the engine's books: pure.
  backtest: ['core', 'engine', 'sim'],
  dbn: ['core'],
  // CME MDP 3.0: SBE schemas interpreted, packets decoded and encoded, pcap files read (bytes in, no I/O).
  mdp3: ['core'],
  feeds: ['core', 'ring', 'dbn', 'mdp3'],
  capture: ['core'],
  replay: ['core', 'capture'],
  analytics: ['core', 'capture'],
  // The pipelines under the CLI: what a script can do with the building blocks.
  pipeline: ['core', 'ring', 'engine', 'sim', 'backtest', 'dbn', 'mdp3', 'feeds', 'capture', 'replay'],
  // Local venue servers for tests and `mdcap emulate`: only the CLI (and tests, tools) use them.
  emulators: ['core', 'dbn', 'mdp3'],
  // Nothing imports the CLI.
  // mdcap as a data plane over gRPC (proto/mdcap/v1): live feeds fanned out, captures replayed per subscriber.
  serve: ['core', 'engine', 'backtest', 'capture', 'replay', 'pipeline'],
  // What onBatch hands downstream (PostgreSQL, Redis, NATS JetStream, Kafka) and the providers reading it back.
  sinks: ['core', 'engine', 'serve'],
  // The viewer's page (browser code in app/, bundled) and its Node entry: no workspace package.
  'view-app': [],
  // The viewer's server: the page's files and one engine session over a WebSocket.
  view: ['core', 'engine', 'capture', 'replay', 'pipeline', 'view-app'],
  cli: [
    'core',
    'engine',
    'sim',
    'backtest',
    'dbn',
    'mdp3',
    'capture',
    'replay',
    'analytics',
    'pipeline',
    'emulators',
    'serve',
    'sinks',
    'view',
    'view-app',
  ],
};
const PURE = ['core', 'ring', 'engine', 'sim', 'backtest', 'replay', 'mdp3'];
const PACKAGES = Object.keys(GRAPH);

/** Imports reaching into a package's files instead of its public entry. */
const deepImports = [
  {
    group: ['@mdcap/*/*', '!@mdcap/test-utils/servers'],
    message: 'Import workspace packages through their public entry (@mdcap/<name>), not their files.',
  },
  { regex: '(^|/)packages/[^/]+/(src|dist)(/|$)', message: 'Import workspace packages by name (@mdcap/<name>), not by path.' },
];

function boundaryRules(name) {
  const allowed = GRAPH[name];
  const forbidden = PACKAGES.filter((p) => p !== name && !allowed.includes(p)).map((p) => `@mdcap/${p}`);
  const patterns = [...deepImports, { group: ['../../*'], message: 'Stay inside the package: import other packages by name.' }];
  if (PURE.includes(name)) {
    const ok = allowed.map((p) => `@mdcap/${p}`.replace('/', '\\/')).join('|');
    patterns.push({
      regex: ok === '' ? '^(?!\\.{1,2}/)' : `^(?!\\.{1,2}/|(${ok})$)`,
      message: `@mdcap/${name} is pure: it imports only ${allowed.length === 0 ? 'its own files' : allowed.map((p) => `@mdcap/${p}`).join(', ')} (no Node builtins, sockets, files or npm packages).`,
    });
  }
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: forbidden.map((p) => ({ name: p, message: `@mdcap/${name} may not depend on ${p} (see GRAPH in eslint.config.js).` })),
        patterns,
      },
    ],
  };
}

const HOST_TIME = 'Take time from the injected Clock (or core/src/host.ts), never from the host.';
const pureRules = {
  'no-restricted-globals': [
    'error',
    ...[
      'setTimeout',
      'setInterval',
      'setImmediate',
      'clearTimeout',
      'clearInterval',
      'performance',
      'process',
      'globalThis',
      'window',
      'require',
    ].map((name) => ({ name, message: HOST_TIME })),
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: HOST_TIME },
    { object: 'Math', property: 'random', message: 'Randomness must be seeded (see sim/src/random.ts).' },
  ],
  'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: HOST_TIME }],
};

export default tseslint.config(
  // Generated from proto/ by tools/gen-proto.mjs (a test keeps it in step).
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '**/*.tsbuildinfo', 'packages/serve/src/gen/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      eqeqeq: ['error', 'always'],
      // No `curly`: Prettier wraps long one-line ifs, and 'multi-line' then fights it.
      'no-console': 'error',
    },
  },
  // Package sources: the dependency graph.
  ...PACKAGES.map((name) => ({ files: [`packages/${name}/src/**/*.ts`], rules: boundaryRules(name) })),
  // Pure packages: no host time, timers or randomness, except the one host module.
  { files: PURE.map((p) => `packages/${p}/src/**/*.ts`), ignores: ['packages/core/src/host.ts'], rules: pureRules },
  // Tests and tools: public entries only; they may print and use Node freely.
  {
    files: ['packages/*/test/**/*.ts', 'test/**/*.ts', 'tools/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: deepImports }],
      'no-console': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // vitest's asymmetric matchers (expect.objectContaining …) are typed `any`
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', AbortController: 'readonly', performance: 'readonly' },
    },
  },
);
