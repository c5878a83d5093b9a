import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, describeValue } from '@mdcap/core';
import type { Strategy } from '@mdcap/backtest';

/** A strategy ready to run: its function, its default parameters, and what to call it. */
export interface LoadedStrategy {
  readonly fn: Strategy;
  /** The module's `params` export (`{}` without one). */
  readonly params: Readonly<Record<string, unknown>>;
  /** The module path as given, or the function's name. */
  readonly name: string;
  /** The module's absolute path, or null for a function. */
  readonly path: string | null;
}

function strategyError(what: string, message: string, cause?: unknown): ConfigError {
  return new ConfigError('MDCAP_ERR_STRATEGY', `strategy ${what}: ${message}`, cause === undefined ? {} : { cause });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The minimal part of the TypeScript compiler API a `.ts` strategy needs on Node without type stripping. */
interface TypeScriptApi {
  transpileModule(input: string, options: { compilerOptions: Record<string, unknown>; fileName: string }): { outputText: string };
  ModuleKind: { ESNext: number };
  ScriptTarget: { ES2022: number };
}

/** The TypeScript compiler the strategy's own project has, else the one next to mdcap, else null. */
async function typescriptFor(file: string): Promise<TypeScriptApi | null> {
  for (const from of [file, import.meta.url]) {
    try {
      const path = createRequire(from).resolve('typescript');
      const mod = (await import(pathToFileURL(path).href)) as { default?: TypeScriptApi } & Partial<TypeScriptApi>;
      const ts = (mod.default ?? mod) as TypeScriptApi;
      if (typeof ts.transpileModule === 'function') return ts;
    } catch {
      // not there: the next place
    }
  }
  return null;
}

/**
 * Imports a `.ts` module on a Node that cannot (no type stripping): transpiled by the TypeScript
 * compiler into a hidden `.mjs` file next to it (so its relative and package imports resolve as
 * they would), imported, and removed.
 */
async function importTypeScript(file: string, given: string): Promise<Record<string, unknown>> {
  const ts = await typescriptFor(file);
  if (ts === null) {
    throw strategyError(
      given,
      'this Node cannot load TypeScript and no `typescript` package was found to compile it: compile the strategy to .js/.mjs first, or run on Node 22.18 or later',
    );
  }
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true },
  }).outputText;
  const tmp = join(dirname(file), `.${basename(file, extname(file))}.${randomBytes(6).toString('hex')}.mjs`);
  try {
    writeFileSync(tmp, out);
  } catch (error) {
    throw strategyError(
      given,
      `could not write the compiled module next to it (${(error as Error).message}): compile it to .js/.mjs first`,
      error,
    );
  }
  try {
    return (await import(pathToFileURL(tmp).href)) as Record<string, unknown>;
  } catch (error) {
    // Messages name the module, not its compiled copy.
    if (error instanceof Error) error.message = error.message.split(tmp).join(file);
    throw error;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Why a module failed to load, with a hint where one helps. */
function loadFailure(given: string, error: unknown): ConfigError {
  const message = error instanceof Error ? error.message : String(error);
  const missing = /Cannot find (?:package|module) '(@mdcap\/[^'/]+)/.exec(message);
  const hint =
    missing === null
      ? ''
      : ` (${missing[1]} must be installed where the strategy is, as a dependency of its project; or import nothing from mdcap: the strategy is given engine and broker)`;
  return strategyError(given, `the module failed to load: ${message}${hint}`, error);
}

/**
 * A strategy from a function, or from a module path (resolved against the working directory):
 * the module's default export or its `strategy` export is the function, and its optional
 * `params` export gives default parameters. `.ts` modules load on Node versions that strip
 * types, and elsewhere through the `typescript` package when one is installed.
 * @throws {ConfigError} `MDCAP_ERR_STRATEGY`: a missing file, a module that fails to load, or one
 *   without a strategy function.
 */
export async function loadStrategy(source: Strategy | string): Promise<LoadedStrategy> {
  if (typeof source === 'function') return { fn: source, params: {}, name: source.name === '' ? 'strategy' : source.name, path: null };
  if (typeof source !== 'string' || source === '') {
    throw new ConfigError('MDCAP_ERR_STRATEGY', `strategy: expected a function or a module path, found ${describeValue(source)}`);
  }
  const file = resolve(source);
  if (!existsSync(file) || !statSync(file).isFile()) throw strategyError(source, `expected a module file, found no file at ${file}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?ts$/.test(file)) {
      try {
        mod = await importTypeScript(file, source);
      } catch (inner) {
        if (inner instanceof ConfigError) throw inner;
        throw loadFailure(source, inner);
      }
    } else {
      throw loadFailure(source, error);
    }
  }
  const fn = mod['default'] ?? mod['strategy'];
  if (typeof fn !== 'function') {
    const names = Object.keys(mod);
    throw strategyError(
      source,
      `expected a strategy function as the default export or as \`strategy\` (export default function (ctx) { … }), found ${names.length === 0 ? 'no exports' : `exports ${names.join(', ')}`}${fn === undefined ? '' : ` (default is ${describeValue(fn)})`}`,
    );
  }
  const params = mod['params'] ?? {};
  if (!isPlainObject(params))
    throw strategyError(source, `expected \`params\` to be an object of default parameters, found ${describeValue(params)}`);
  return { fn: fn as Strategy, params, name: source, path: file };
}
