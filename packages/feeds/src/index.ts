/**
 * @mdcap/feeds: venue and vendor formats into the normalized event model. So far: LOBSTER
 * limit-order-book files (`mdcap import lobster`); live venue handlers follow.
 */
export { LobsterParser, parseLobsterFileName, lobsterMidnight, LOBSTER_PRICE_SCALE } from './lobster.js';
export type { LobsterOptions, LobsterFileName } from './lobster.js';
