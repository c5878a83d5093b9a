/**
 * @mdcap/pipeline: what the `mdcap` command does, as a library. Open a feed from the registry
 * (`openFeed`), or several into one engine (`openFeeds`), record them into a capture (`record`,
 * stopped by an AbortSignal), import vendor files (`importDbn`, `importLobster`), export to DBN
 * (`exportDbn`), check a capture (`verifyCapture`). See docs/pipeline.md.
 */
export { openFeed, registerFeed, feedNames, feedDefinition } from './feeds.js';
export type { FeedSpec, OpenedFeed, FeedDefinition, TapHolder, OverflowPolicy } from './feeds.js';
export { openFeeds } from './feed-manager.js';
export type { FeedManager, FeedReconnects, FeedState, ManagedFeed, OpenFeedsOptions } from './feed-manager.js';
export { record } from './record.js';
export type { RecordOptions, RecordProgress, RecordSource, RecordSummary, RecordedFeed } from './record.js';
export { importDbn } from './import-dbn.js';
export type { DbnImportOptions, DbnImportSummary } from './import-dbn.js';
export { importPcap } from './import-pcap.js';
export type { PcapImportOptions, PcapImportSummary } from './import-pcap.js';
export { importLobster } from './import-lobster.js';
export type { LobsterImportOptions, LobsterImportSummary } from './import-lobster.js';
export { exportDbn } from './export-dbn.js';
export type { DbnExport, DbnExportOptions } from './export-dbn.js';
export { verifyCapture } from './verify.js';
export type { VerifyOptions, VerifyReport, StreamReport } from './verify.js';
export {
  runBacktest,
  runPaper,
  latencySamples,
  summaryJson,
  summaryFieldsJson,
  positionJson,
  fillsHash,
  stringifyJson,
} from './backtest.js';
export type {
  BacktestRunOptions,
  PaperRunOptions,
  StrategyRunOptions,
  RunLatencySpec,
  BacktestResult,
  BacktestRunStats,
  BacktestProgress,
  BacktestSummaryJson,
  SummaryFieldsJson,
  PositionJson,
} from './backtest.js';
export { loadStrategy } from './backtest-strategy.js';
export type { LoadedStrategy } from './backtest-strategy.js';
export { writeBacktestOutputs, checkOutputDir, fillsParquet, ordersParquet, equityParquet, BACKTEST_FILES } from './backtest-output.js';
export { runSweep, sweepRowJson } from './backtest-sweep.js';
export type { SweepOptions, SweepRow, SweepRowJson } from './backtest-sweep.js';
