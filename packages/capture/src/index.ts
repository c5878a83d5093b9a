/**
 * @mdcap/capture: records normalized events into Arrow IPC segments finalized to Parquet (zstd),
 * in a Hive-style layout with a manifest; repairs crashed captures; reads them back as batches.
 */
export { CAPTURE_KINDS, KIND_OF, SCHEMA_VERSION, createRowBuilder, decodeBatch } from './kinds/index.js';
export type { CaptureKind, RowBuilder, DecodedBatch, DecodedHead } from './kinds/index.js';
export { scanChunks } from './ipc.js';
export type { ChunkScan } from './ipc.js';
export { MANIFEST, LOCK, FLUSHED, SEGMENT_EXT, PARQUET_EXT, groupName, partitionDir, relativePath, utcDate } from './layout.js';
export {
  readManifest,
  writeManifest,
  emptyManifest,
  instrumentFromJson,
  instrumentToJson,
  WRITER_NAME,
  WRITER_VERSION,
} from './manifest.js';
export type { Manifest, FileEntry, SessionEntry, SourceFile, GapEntry, RowGroupStats, InstrumentEntry } from './manifest.js';
export { importOverlap, describeOverlap, removeSessions } from './sessions.js';
export type { ImportOverlap } from './sessions.js';
export { finalizeSegment, sha256File, sha256FileAsync, ROW_GROUP_ROWS } from './finalize.js';
export { Finalizer } from './finalizer.js';
export type { FinalizeMode } from './finalizer.js';
export { CaptureWriter } from './writer.js';
export { isDataLoss } from './gaps.js';
export type { CaptureWriterOptions, WriterStats } from './writer.js';
export { repairCapture, repairRoot, findSegments } from './repair.js';
export { segmentDamage, segmentPieces } from './segment.js';
export { rebuildManifest, manifestState } from './rebuild.js';
export type { RebuildReport, ManifestState } from './rebuild.js';
export type { SegmentDamage, SegmentPiece, ChunkTrailer } from './segment.js';
export { acquireLock, releaseLock, lockHolder } from './lock.js';
export type { RepairReport, DamagedRegion } from './repair.js';
export { CaptureReader } from './reader.js';
export type { CaptureFile, CaptureGroup, ReadFilter } from './reader.js';
