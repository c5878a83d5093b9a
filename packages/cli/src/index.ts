/**
 * @mdcap/cli: the `mdcap` command (record, replay, bars, query, inspect, verify, import, demo,
 * sim). `runCli(args)` runs it in-process and resolves to the exit code.
 */
export { runCli, VERSION } from './cli.js';
export { LineOutput } from './output.js';
export type { Pausable } from './output.js';
