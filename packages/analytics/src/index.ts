/**
 * @mdcap/analytics: DuckDB over a capture root: views with exact decimals, and canned queries
 * (bars with the engine's rules, VWAP, spreads, gaps, latency). Read-only unless an export file
 * is named.
 */
export { CaptureAnalytics, EXPORT_FORMATS, VIEW_NAMES } from './analytics.js';
export type { AnalyticsOptions, BarQueryOptions, ExportFormat, ExportSummary, Row } from './analytics.js';
export { REFUSED_TABLE_FUNCTIONS } from './read-only.js';
export { readBacktestRun } from './backtest-run.js';
export type { RunEquityPoint, RunFill } from './backtest-run.js';
