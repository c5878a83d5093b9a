import { readRecording } from '@mdcap/emulators';
import { datasetFile } from '@mdcap/test-utils';

/** The ten pairs of cryptofeed's Kraken recording. */
export const KRAKEN_PAIRS = [
  'WAVES/EUR',
  'XMR/USD',
  'KSM/XBT',
  'GRT/ETH',
  'SC/EUR',
  'ETH/CHF',
  'OCEAN/XBT',
  'OMG/USD',
  'XBT/CHF',
  'ADA/XBT',
];

/** The three recordings were made at the same time: books, trades and tickers of the same pairs. */
export const krakenRecording = () =>
  ['KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'].flatMap((f) => readRecording(datasetFile('cryptofeed', f)));

/** How many checksums the recording has for `pair`. */
export function checksumsOf(pair: string): number {
  return readRecording(datasetFile('cryptofeed', 'KRAKEN.ws.50.0')).filter((l) => l.text.includes('"c":"') && l.text.endsWith(`"${pair}"]`))
    .length;
}
