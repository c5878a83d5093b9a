export { REPO_ROOT, datasetsRoot, datasetStatus, datasetFile, inCI } from './datasets.js';
export type { DatasetStatus } from './datasets.js';
export { describeWithBrowser, describeWithDataset, describeWithServers } from './vitest.js';
export { ARTIFACTS_DIR, CHROMIUM, browserMissing, launchChromium } from './browser.js';
export type { TestBrowser } from './browser.js';
export { SERVER_PACKAGES, serverMissing, startKafkaMock, startNats, startPostgres, startRedis, startServer } from './servers.js';
export type { ServerKind, TestServer } from './servers.js';
export { collectCallbacks, hashLines } from './callbacks.js';
export type { CallbackLog } from './callbacks.js';
export { MDCAP_BIN, mdcap, mdcapAsync, mdcapServer, mdcapUntil, tempDir } from './cli.js';
export { SIM_SYMBOLS, twoVenueTrades, simulatedEvents, recordEvents, fileHashes } from './captures.js';
export { waitFor } from './wait.js';
export type { WaitOptions } from './wait.js';
export { FrameTrail, RawTapFollower, withFrameTrail } from './frames.js';
export { TcpRelay } from './relay.js';
export { engineRun, publishRun, tableEvents } from './sinks.js';
export type {
  EngineRun,
  EngineRunOptions,
  PublishAttachOptions,
  PublishRun,
  PublishRunOptions,
  SinkHandleLike,
  TableColumns,
  TableEventsOptions,
} from './sinks.js';
