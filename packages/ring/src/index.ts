/**
 * @mdcap/ring: single-producer single-consumer ring buffers with a declared overflow policy,
 * in-thread (references) and cross-thread (fixed-size binary records in a SharedArrayBuffer).
 */
export { DEFAULT_CAPACITY, MAX_CAPACITY, OVERFLOW_POLICIES } from './options.js';
export type { OverflowPolicy, RingStats } from './options.js';
export { RingBuffer } from './ring-buffer.js';
export type { RingBufferOptions } from './ring-buffer.js';
export { SHARED_RING_HEADER_BYTES, createSharedRing, SharedRingProducer, SharedRingConsumer } from './shared-ring.js';
export type { SharedRingOptions, SharedRingProducerOptions, RecordViews, RecordHandler } from './shared-ring.js';
export { ringProvider } from './ring-provider.js';
export type { RingProviderOptions, RingedProvider } from './ring-provider.js';
export { EVENT_RECORD_BYTES, errorFromWire, errorToWire } from './event-records.js';
export { EventRecordWriter } from './event-record-writer.js';
export { EventRecordReader } from './event-record-reader.js';
export type { EventRecordHandler, WireError } from './event-records.js';
