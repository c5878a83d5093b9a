export { REPO_ROOT, datasetsRoot, datasetStatus, datasetFile, inCI } from './datasets.js';
export type { DatasetStatus } from './datasets.js';
export { describeWithDataset } from './vitest.js';
export { collectCallbacks, hashLines } from './callbacks.js';
export type { CallbackLog } from './callbacks.js';
export { MDCAP_BIN, mdcap, mdcapAsync, mdcapServer, tempDir } from './cli.js';
export { SIM_SYMBOLS, simulatedEvents, recordEvents } from './captures.js';
