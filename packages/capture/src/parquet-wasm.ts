import { createRequire } from 'node:module';
import type * as ParquetWasm from 'parquet-wasm';

export type { ParquetWasm };

let loaded: typeof ParquetWasm | null = null;

/**
 * parquet-wasm, loaded on first use. Loading it instantiates its wasm (about 17 MiB of a
 * thread's memory), which a thread that never reads or writes Parquet need not pay: a
 * recorder's main thread (its finalization runs on a worker thread), a replay's engine thread
 * while decoding runs ahead on another.
 */
export function parquetWasm(): typeof ParquetWasm {
  return (loaded ??= createRequire(import.meta.url)('parquet-wasm') as typeof ParquetWasm);
}
