/**
 * @mdcap/capture: records normalized events into Arrow IPC segments finalized to Parquet (zstd),
 * in a Hive-style layout with a manifest; repairs crashed or damaged captures (and rebuilds a
 * lost manifest); reads them back as batches. See docs/capture.md.
 */
export { CAPTURE_KINDS, SCHEMA_VERSION, createRowBuilder, decodeBatch } from './kinds/index.js';
export type { CaptureKind, RowBuilder, DecodedBatch, DecodedHead } from './kinds/index.js';
export { MANIFEST, LOCK, FLUSHED, SEGMENT_EXT, PARQUET_EXT } from './layout.js';
export { scanChunks } from './ipc.js';
export type { ChunkScan } from './ipc.js';
export { readManifest, instrumentFromJson, captureContaining, captureSpan } from './manifest.js';
export type {
  Manifest,
  FileEntry,
  SessionEntry,
  SourceFile,
  GapEntry,
  RowGroupStats,
  InstrumentEntry,
  ExecutionFile,
  ExecutionTable,
} from './manifest.js';
export { addSessionExecutions, EXECUTION_TABLES } from './executions.js';
export type { ExecutionTableBytes } from './executions.js';
export { finalizeSegment, sha256File, sha256FileAsync } from './finalize.js';
export type { FileMeta } from './finalize.js';
export type { FinalizeMode } from './finalizer.js';
export { CaptureWriter } from './writer.js';
export type { CaptureWriterOptions, WriterStats } from './writer.js';
export { repairRoot, findSegments } from './repair.js';
export type { RepairReport, DamagedRegion } from './repair.js';
export { segmentDamage } from './segment.js';
export type { SegmentDamage } from './segment.js';
export type { RebuildReport } from './rebuild.js';
export { acquireLock, releaseLock, lockHolder } from './lock.js';
export { CaptureReader } from './reader.js';
export type { CaptureFile, CaptureGroup, ReadFilter } from './reader.js';
export { CaptureColumns } from './capture-columns.js';
export { CaptureSet } from './capture-set.js';
export type { CaptureSource, CaptureColumnsData, ColumnChunk, LoadColumnsOptions, LoadedPart } from './capture-columns.js';
export type { IpcBatch } from './parquet-read.js';
export { parquetWasm } from './parquet-wasm.js';
