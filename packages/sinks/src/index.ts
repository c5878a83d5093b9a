/**
 * @mdcap/sinks: what `engine.onBatch()` hands downstream. `attachSink(engine, sink)` runs a sink
 * with count/time batches, a bounded queue with a declared overflow policy, retries with
 * back-off, metrics, and a `gap` status for whatever it had to drop. Sinks: PostgreSQL /
 * TimescaleDB (binary COPY), Redis (pub/sub and Streams), NATS JetStream and Kafka; and the
 * providers that feed an engine from JetStream and Kafka. See docs/sinks.md.
 */
export { attachSink } from './sink.js';
export type { Sink, SinkHandle, SinkOptions, SinkStats } from './sink.js';
export { EventKeyer } from './keys.js';
export type { EventKey } from './keys.js';
export { CopyBuffer } from './pg-copy.js';
export { PostgresSink, PG_TABLES } from './postgres.js';
export type { PostgresSinkOptions } from './postgres.js';
export { redactUrl } from './url.js';
export { NatsSink, NatsProvider, NATS_ORD_HEADER, describeNatsStream, subjectToken, streamName } from './nats.js';
export type { NatsSinkOptions, NatsProviderOptions, NatsStreamInfo } from './nats.js';
export { MergedNatsProvider } from './nats-merge.js';
export type { MergedNatsProviderOptions } from './nats-merge.js';
export { RedisSink } from './redis.js';
export type { RedisSinkOptions } from './redis.js';
export { openSink, registerSinkScheme, SINK_SCHEMES } from './open.js';
export type { OpenSinkOptions } from './open.js';
export { KafkaSink, KafkaProvider, KAFKA_KEY_HEADER, KAFKA_ORD_HEADER, kafkaSinkOptions } from './kafka.js';
export type { KafkaSinkOptions, KafkaProviderOptions } from './kafka.js';
