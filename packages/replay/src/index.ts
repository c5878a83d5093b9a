/**
 * @mdcap/replay: replays a capture through the DataProvider contract, in the documented total
 * order, on a virtual clock paced at any speed, so the same RealtimeEngine runs a strategy
 * unchanged.
 */
export { DECODE_AHEAD_MIN_ROWS, ReplayProvider, parseSpeed } from './replay-provider.js';
export type { ReplayOptions, ReplaySpeed, ReplayStats } from './replay-provider.js';
