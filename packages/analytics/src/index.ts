/**
 * @mdcap/analytics: DuckDB over a capture root: views with exact decimals, and canned queries
 * (bars with the engine's rules, VWAP, spreads, gaps, latency).
 */
export { CaptureAnalytics, VIEW_NAMES } from './analytics.js';
export type { Row, BarQueryOptions } from './analytics.js';
