import { MdcapError } from '@mdcap/core';
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { EXIT } from './command.js';
import type { Command } from './command.js';
import { setQuiet } from './output.js';
import { backtestCommand } from './commands/backtest.js';
import { barsCommand } from './commands/bars.js';
import { dbnCommand } from './commands/dbn.js';
import { mdp3Command } from './commands/mdp3.js';
import { demoCommand } from './commands/demo.js';
import { emulateCommand } from './commands/emulate.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { queryCommand } from './commands/query.js';
import { recordCommand } from './commands/record.js';
import { serveCommand } from './commands/serve.js';
import { replayCommand } from './commands/replay.js';
import { reportCommand } from './commands/report.js';
import { simCommand } from './commands/sim.js';
import { verifyCommand } from './commands/verify.js';
import { viewCommand } from './commands/view.js';

export const VERSION = '0.1.0';

/** Arguments that take several values (variadic positionals); every other one keeps its last value. */
const LIST_ARGUMENTS: ReadonlySet<string> = new Set(['_', 'files', 'feeds', 'sink', 'dirs']);

const COMMANDS: readonly Command<never>[] = [
  demoCommand,
  recordCommand,
  replayCommand,
  barsCommand,
  backtestCommand,
  queryCommand,
  reportCommand,
  inspectCommand,
  verifyCommand,
  emulateCommand,
  serveCommand,
  viewCommand,
  importCommand,
  exportCommand,
  dbnCommand,
  mdp3Command,
  simCommand,
] as readonly Command<never>[];

const EPILOGUE = `Exit codes: 0 ok; 1 problems found (verify) or errors while running; 2 bad input (flags,
paths, corrupt files), reported as one line with its MDCAP_ERR_* code; 3 internal error.
Documentation: docs/cli.md (output formats), docs/capture.md (files), docs/errors.md (codes).`;

function commandName(args: readonly string[]): string {
  const first = args.find((a) => !a.startsWith('-'));
  return first !== undefined && COMMANDS.some((c) => c.command.split(' ')[0] === first) ? first : '';
}

/** Prints an error as one line (the stack only with --verbose) and returns its exit code. */
function report(error: unknown, command: string, verbose: boolean, usage: boolean): number {
  const who = command === '' ? 'mdcap' : `mdcap ${command}`;
  const help = command === '' ? 'mdcap --help' : `mdcap ${command} --help`;
  if (usage && !(error instanceof MdcapError)) {
    const known = COMMANDS.map((c) => c.command.split(' ')[0]).join(', ');
    const hint = command === '' && /^Unknown argument/.test(String((error as Error).message)) ? `; the commands are ${known}` : '';
    const message = String((error as Error).message).replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`${who}: MDCAP_ERR_USAGE: ${message}${hint} (see ${help})\n`);
    return EXIT.badInput;
  }
  if (error instanceof MdcapError) {
    process.stderr.write(`${who}: ${error.code}: ${error.message}\n`);
    if (verbose)
      process.stderr.write(
        `${String(error.stack)}\n${error.cause === undefined ? '' : `caused by: ${error.cause instanceof Error ? String(error.cause.stack) : JSON.stringify(error.cause)}\n`}`,
      );
    return EXIT.badInput;
  }
  // An error of the system (a file, a socket, a process) is the environment, not a bug: say what
  // failed and where, as the other input errors are said.
  const sys = error as NodeJS.ErrnoException;
  if (error instanceof Error && typeof sys.code === 'string' && /^E[A-Z0-9]+$/.test(sys.code) && typeof sys.syscall === 'string') {
    const where = sys.path === undefined ? '' : ` ${sys.path}`;
    process.stderr.write(`${who}: MDCAP_ERR_IO: ${sys.syscall}${where}: ${error.message} (check the path, permissions and free space)\n`);
    if (verbose) process.stderr.write(`${String(error.stack)}\n`);
    return EXIT.badInput;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${who}: internal error: ${message}${verbose ? '' : ' (a bug; run with --verbose for the stack trace and please report it)'}\n`,
  );
  if (verbose && error instanceof Error) process.stderr.write(`${String(error.stack)}\n`);
  return EXIT.internal;
}

/**
 * `--speed -1x`, `--from -5m`: a flag's value that starts with `-` and a digit is the value, not
 * a cluster of short flags (yargs would read `-1x` as `-1 -x` and report "Unknown arguments: 1,
 * x"); it is passed as `--speed=-1x`, and the option's own check then says what it expects.
 */
export function joinNegativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (/^--[a-z][a-z-]*$/.test(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Runs `mdcap` with these arguments (without `node` and the script) and returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const args = joinNegativeValues(argv);
  let code: number = EXIT.ok;
  let handling = false; // errors before a handler runs are yargs' usage errors
  const verbose = args.includes('--verbose');
  const command = commandName(args);
  let parser: Argv = yargs([...args])
    .scriptName('mdcap')
    .usage('mdcap: record market data, replay it exactly, query it with DuckDB\n\nUsage: mdcap <command> [options]')
    .option('verbose', { type: 'boolean', global: true, describe: 'Print stack traces with errors' })
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      global: true,
      describe: 'No progress bar and no informational lines on the terminal (errors and warnings still go to stderr)',
    });
  for (const c of COMMANDS) {
    const cmd = c as unknown as Command<unknown>;
    parser = parser.command(
      cmd.command,
      cmd.describe,
      (y) => cmd.builder(y),
      async (argv) => {
        handling = true;
        code = await cmd.run(argv);
      },
    );
  }
  parser = parser
    .demandCommand(1, 'expected a command: demo, record, replay, bars, query, report, inspect, verify, emulate, import, export, dbn or sim')
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .epilogue(EPILOGUE)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    // A flag given twice: the last one counts. (yargs' own 'duplicate-arguments-array: false'
    // would also cut variadic positionals such as `import dbn FILE…` down to their last value.)
    .middleware((argv) => {
      for (const [k, v] of Object.entries(argv)) if (Array.isArray(v) && !LIST_ARGUMENTS.has(k)) argv[k] = v[v.length - 1] as unknown;
    }, true)
    // --quiet, before any command makes its Progress (docs/cli.md#progress-and---quiet).
    .middleware((argv) => setQuiet(argv['quiet'] === true))
    .fail(false);
  try {
    await parser.parseAsync();
  } catch (error) {
    return report(error, command, verbose, !handling);
  }
  return code;
}
