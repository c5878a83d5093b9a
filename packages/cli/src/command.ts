import type { Argv } from 'yargs';

/**
 * One `mdcap` subcommand: its yargs definition and a handler that resolves to the exit code.
 * Exit codes (docs/cli.md): 0 success; 1 problems found (`verify`) or errors reported while
 * running; 2 bad input (flags, paths, corrupt files: one line with its MDCAP_ERR_* code);
 * 3 an internal error (a bug).
 */
export interface Command<A> {
  readonly command: string;
  readonly describe: string;
  builder(y: Argv): Argv;
  run(argv: A): Promise<number>;
}

/** Exit codes. */
export const EXIT = { ok: 0, problems: 1, badInput: 2, internal: 3 } as const;

/** Writes one line to stderr, prefixed with the program and command. */
export function warn(command: string, text: string): void {
  process.stderr.write(`mdcap ${command}: ${text}\n`);
}
