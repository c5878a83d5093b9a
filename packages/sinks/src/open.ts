import { MdcapError } from '@mdcap/core';
import type { SequenceRule } from '@mdcap/core';
import { NatsSink } from './nats.js';
import { PostgresSink } from './postgres.js';
import { RedisSink } from './redis.js';
import type { Sink } from './sink.js';
import { redactUrl } from './url.js';

/** The URL schemes `openSink` knows, with the sink each opens. */
export const SINK_SCHEMES: Readonly<Record<string, string>> = {
  postgres: 'PostgreSQL / TimescaleDB (binary COPY into md_<kind> tables)',
  postgresql: 'the same as postgres',
  redis: 'Redis (PUBLISH md:<venue>:<symbol>, XADD md:<venue>:<kind>)',
  rediss: 'Redis over TLS',
  nats: 'NATS JetStream (stream MD_<venue>, subjects md.<venue>.<kind>.<symbol>)',
};

export interface OpenSinkOptions {
  /** The venues' sequencing rules (a JetStream stream keeps its venue's). */
  readonly sequencing?: Readonly<Record<string, SequenceRule>>;
}

const extra = new Map<string, (url: string, options: OpenSinkOptions) => Sink>();

/** Adds a sink for a URL scheme (Kafka registers itself this way). */
export function registerSinkScheme(scheme: string, describe: string, open: (url: string, options: OpenSinkOptions) => Sink): void {
  extra.set(scheme, open);
  (SINK_SCHEMES as Record<string, string>)[scheme] = describe;
}

/**
 * The sink a URL names, by its scheme: `postgres://…`, `redis://…`, `nats://…` (and `kafka://…`).
 * Nothing connects until the sink is opened (by `attachSink`'s first write).
 * @throws {MdcapError} `MDCAP_ERR_INVALID_OPTION` for a URL of no known scheme.
 */
export function openSink(url: string, options: OpenSinkOptions = {}): Sink {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase() ?? '';
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return new PostgresSink({ url });
    case 'redis':
    case 'rediss':
      return new RedisSink({ url });
    case 'nats':
      return new NatsSink({ url, ...(options.sequencing === undefined ? {} : { sequencing: options.sequencing }) });
  }
  const open = extra.get(scheme);
  if (open !== undefined) return open(url, options);
  throw new MdcapError(
    'MDCAP_ERR_INVALID_OPTION',
    `--sink: expected a URL of ${Object.keys(SINK_SCHEMES)
      .map((s) => `${s}://`)
      .join(', ')}, found "${redactUrl(url)}"`,
  );
}
