/**
 * @mdcap/view: the web viewer's server. `ViewServer` serves the bundled page
 * (@mdcap/view-app) and streams one engine session to it over a WebSocket: a replayed capture
 * (`ReplayViewSession`: play, pause, speed and seek from the page) or live feeds
 * (`LiveViewSession`). See docs/viewer.md.
 */
export { ViewServer, parseClientMessage } from './server.js';
export type { ViewServerOptions } from './server.js';
export { EngineViewSession, ReplayViewSession, LiveViewSession, feedSource, parseSeekTime } from './session.js';
export type { BarOptions, EngineViewOptions, LiveViewOptions, ReplayViewOptions, ViewSession } from './session.js';
export { Bounded, Collector, DEFAULT_VIEW_LIMITS, instrumentKey, seriesKey } from './collector.js';
