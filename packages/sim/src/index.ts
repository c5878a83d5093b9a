/**
 * @mdcap/sim: the seeded, deterministic simulated venue (`demo`), the embedded default for the
 * demo and for tests. Pure: time only from its clock.
 */
export { SimProvider, DEFAULT_SIM_SYMBOLS, DEFAULT_SIM_START } from './sim-provider.js';
export type { SimOptions, SimSymbol, SimFaults } from './sim-provider.js';
export { Random } from './random.js';
