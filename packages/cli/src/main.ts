#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { runCli } from './cli.js';

// parquet-wasm (loaded on a command's first Parquet read or write) is a 5 MB module. By default
// V8 compiles its hot functions again on background threads, whose memory stays with the
// process: 20-40 MiB more peak RSS for each thread that decodes, and no faster decoding on two
// cores (measured in BENCHMARKS.md, "Memory of Parquet decoding"). Compiled on the thread that
// runs it instead. Process-wide, so set before any worker thread starts (docs/capture.md).
setFlagsFromString('--wasm-num-compilation-tasks=0');

process.exitCode = await runCli(process.argv.slice(2));
