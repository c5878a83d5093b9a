/**
 * @mdcap/emulators: local venue servers that speak each venue's real wire protocol and replay
 * recorded traffic, for testing feed handlers and strategies offline (`mdcap emulate`).
 */
export { byTime, parseRecording, readRecording } from './recording.js';
export type { RecordedLine } from './recording.js';
export { parseFaults } from './faults.js';
export type { Fault, FaultKind } from './faults.js';
export { KrakenEmulator } from './kraken.js';
export type { KrakenEmulatorOptions } from './kraken.js';
export type { EmulatorOptions, EmulatorStats } from './server.js';
export { BinanceEmulator } from './binance.js';
export type { BinanceEmulatorOptions } from './binance.js';
export { CoinbaseEmulator } from './coinbase.js';
export type { CoinbaseEmulatorOptions } from './coinbase.js';
export { AlpacaEmulator } from './alpaca.js';
export type { AlpacaEmulatorOptions } from './alpaca.js';
export { DatabentoGateway } from './databento.js';
export type { DatabentoGatewayOptions } from './databento.js';
export { datasetsRoot, datasetPath, defaultRecordings, DEFAULT_RECORDINGS, DEFAULT_DBN_FILES } from './datasets.js';
export { EMULATED_VENUES, startVenueEmulator } from './venues.js';
export type { VenueEmulator, VenueEmulatorOptions } from './venues.js';
export { localChannelConfig, loopsOnly, parseCmeFaults, startCmeMulticast } from './cme/sender.js';
export type {
  CmeFaults,
  CmeMulticast,
  CmeMulticastOptions,
  CmeSenderStats,
  CmeStall,
  LocalChannelOptions,
  Mdp3LoopPacket,
  Mdp3PacketSource,
  Mdp3SourcePacket,
} from './cme/sender.js';
export { Mdp3Exchange, MDP3_MAX_PACKET_BYTES } from './cme/exchange.js';
export type {
  BookTruth,
  IncrementalPacket,
  Mdp3DbnInputs,
  Mdp3ExchangeOptions,
  Mdp3Packet,
  SyntheticExchangeOptions,
} from './cme/exchange.js';
export type { DbnSource, DbnSourceKind, Mdp3Instrument } from './cme/dbn-source.js';
