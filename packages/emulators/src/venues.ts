import { AlpacaEmulator } from './alpaca.js';
import { BinanceEmulator } from './binance.js';
import { CoinbaseEmulator } from './coinbase.js';
import { KrakenEmulator } from './kraken.js';
import type { RecordedLine } from './recording.js';

/** The WebSocket venues mdcap can emulate (Databento's gateway speaks TCP: `DatabentoGateway`). */
export const EMULATED_VENUES: readonly string[] = ['kraken', 'binance', 'coinbase', 'alpaca'];

export interface VenueEmulatorOptions {
  /** The recording to replay (Alpaca is scripted: none). */
  readonly lines: readonly RecordedLine[];
  readonly port?: number;
  readonly host?: string;
  readonly speed?: number | 'max';
  readonly faults?: string;
  readonly loops?: number;
}

/** A running venue emulator, whatever the venue. */
export interface VenueEmulator extends AsyncDisposable {
  readonly venue: string;
  /** Where a client connects (Binance's combined streams live under `/stream`). */
  readonly url: string;
  readonly restUrl: string;
  readonly port: number;
  /** What it serves, by channel: the pairs of each Kraken channel, Coinbase products, Binance streams, Alpaca's symbols. */
  channels(): Record<string, string[]>;
  close(): Promise<void>;
}

/**
 * Starts the emulator of a venue on its recording.
 * @throws {Error} a listen error (`EADDRINUSE`…) as Node gives it, or a bad fault spec.
 */
export async function startVenueEmulator(venue: string, options: VenueEmulatorOptions): Promise<VenueEmulator> {
  const o = { ...options, lines: [...options.lines] };
  let emulator: KrakenEmulator | BinanceEmulator | CoinbaseEmulator | AlpacaEmulator;
  let channels: () => Record<string, string[]>;
  let path = '';
  switch (venue) {
    case 'kraken': {
      const k = await KrakenEmulator.start(o);
      emulator = k;
      channels = () => Object.fromEntries(k.pairs());
      break;
    }
    case 'binance': {
      const b = await BinanceEmulator.start(o);
      emulator = b;
      path = '/stream';
      channels = () => ({ streams: b.streams() });
      break;
    }
    case 'coinbase': {
      const c = await CoinbaseEmulator.start(o);
      emulator = c;
      channels = () => ({ products: c.productIds() });
      break;
    }
    case 'alpaca':
      emulator = await AlpacaEmulator.start(o);
      channels = () => ({ symbols: ['AAPL', 'MSFT', 'SPY'], credentials: ['key', 'secret'] });
      break;
    default:
      throw new Error(`venue: expected one of ${EMULATED_VENUES.join(', ')}, found "${venue}"`);
  }
  const close = (): Promise<void> => emulator.close();
  return {
    venue,
    url: `${emulator.url}${path}`,
    restUrl: emulator.restUrl,
    port: emulator.port,
    channels,
    close,
    [Symbol.asyncDispose]: close,
  };
}
