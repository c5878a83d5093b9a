import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository this package is part of (packages/emulators/src or dist, three levels up). */
const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

/**
 * The one place mdcap looks for the shared third-party datasets (recordings the emulators replay,
 * DBN, LOBSTER files): `MDCAP_DATASETS` if set (relative to the repository), else
 * `../shared/datasets` beside the repository. Tests, the benchmarks and `mdcap emulate` all ask
 * here.
 */
export function datasetsRoot(): string {
  const env = process.env['MDCAP_DATASETS'];
  if (env !== undefined && env !== '') return isAbsolute(env) ? env : resolve(REPO, env);
  return resolve(REPO, '..', 'shared', 'datasets');
}

/** A file of a dataset: `datasetPath('cryptofeed', 'KRAKEN.ws.48.0')`. */
export function datasetPath(dataset: string, file: string): string {
  return join(datasetsRoot(), dataset, file);
}

/** The recordings each venue's emulator replays by default: the cryptofeed samples (Alpaca is scripted). */
export const DEFAULT_RECORDINGS: Readonly<Record<string, readonly string[]>> = {
  kraken: ['KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'],
  binance: ['BINANCE.ws.1.0', 'BINANCE.http.0.0'],
  coinbase: ['COINBASE.ws.28.0'],
  alpaca: [],
};

/** The DBN files the Databento gateway serves by default (NautilusTrader's ES samples). */
export const DEFAULT_DBN_FILES: readonly string[] = [
  'futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst',
  'futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst',
].map((f) => `databento/bars_catalog/${f}`);

/** The files of `DEFAULT_RECORDINGS[venue]`, as paths. */
export function defaultRecordings(venue: string): string[] {
  return (DEFAULT_RECORDINGS[venue] ?? []).map((f) => datasetPath('cryptofeed', f));
}
