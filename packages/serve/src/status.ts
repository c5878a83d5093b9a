import { MdcapError } from '@mdcap/core';
import type { MdcapErrorCode } from '@mdcap/core';
import { Metadata, status as Code } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { ProtoWriter } from './wire.js';

/** The trailing metadata key that carries the `MDCAP_ERR_*` code of an error status. */
export const ERROR_CODE_KEY = 'mdcap-error-code';
/** The `ErrorInfo.domain` of mdcap's errors in `grpc-status-details-bin`. */
export const ERROR_DOMAIN = 'mdcap.dev';

/** gRPC status codes of the mdcap errors a call can end with; any other is INTERNAL. */
const GRPC_CODE: Partial<Record<MdcapErrorCode, Code>> = {
  MDCAP_ERR_UNAUTHENTICATED: Code.UNAUTHENTICATED,
  MDCAP_ERR_SOURCE_NOT_FOUND: Code.NOT_FOUND,
  MDCAP_ERR_UNKNOWN_SYMBOL: Code.NOT_FOUND,
  MDCAP_ERR_CAPTURE_NOT_FOUND: Code.NOT_FOUND,
  MDCAP_ERR_SLOW_CONSUMER: Code.RESOURCE_EXHAUSTED,
  MDCAP_ERR_BUSY: Code.RESOURCE_EXHAUSTED,
  MDCAP_ERR_CAPTURE_CORRUPT: Code.DATA_LOSS,
  MDCAP_ERR_CAPTURE_SCHEMA: Code.FAILED_PRECONDITION,
  MDCAP_ERR_CONNECT_FAILED: Code.UNAVAILABLE,
  MDCAP_ERR_CONNECT_TIMEOUT: Code.UNAVAILABLE,
  MDCAP_ERR_RECONNECT_GAVE_UP: Code.UNAVAILABLE,
  MDCAP_ERR_SHUTDOWN: Code.UNAVAILABLE,
  MDCAP_ERR_BAD_REQUEST: Code.INVALID_ARGUMENT,
  MDCAP_ERR_INVALID_OPTION: Code.INVALID_ARGUMENT,
  MDCAP_ERR_INVALID_ORDER: Code.INVALID_ARGUMENT,
  MDCAP_ERR_BAR_INTERVAL: Code.INVALID_ARGUMENT,
  MDCAP_ERR_REPLAY_RANGE: Code.INVALID_ARGUMENT,
};

/** The gRPC status code for an mdcap error code. */
export function grpcCodeOf(code: MdcapErrorCode): Code {
  return GRPC_CODE[code] ?? Code.INTERNAL;
}

/**
 * `google.rpc.Status` with one `google.rpc.ErrorInfo` (reason: the MDCAP code), the rich error
 * model clients read from `grpc-status-details-bin`.
 */
function richStatus(code: Code, message: string, reason: string): Buffer {
  const w = new ProtoWriter(512);
  w.uint32(1, code);
  w.string(2, message);
  w.begin(3); // google.protobuf.Any
  w.string(1, 'type.googleapis.com/google.rpc.ErrorInfo');
  w.begin(2);
  w.string(1, reason);
  w.string(2, ERROR_DOMAIN);
  w.end();
  w.end();
  return w.take();
}

/** An error for grpc-js to send: the status code, `MDCAP_ERR_X: message`, and the code in metadata. */
export function toServiceError(error: unknown): Partial<ServiceError> & { code: Code; details: string; metadata: Metadata } {
  const e =
    error instanceof MdcapError
      ? error
      : new MdcapError('MDCAP_ERR_IO', `internal error: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  const code = grpcCodeOf(e.code);
  const details = `${e.code}: ${e.message}`;
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  metadata.set('grpc-status-details-bin', richStatus(code, details, e.code));
  return { name: 'MdcapError', message: details, code, details, metadata };
}

/** The MDCAP code and message of an error status a client received. */
export function mdcapErrorFromStatus(error: { code?: number; details?: string; metadata?: Metadata }): MdcapError {
  const fromMeta = error.metadata?.get(ERROR_CODE_KEY)[0];
  const details = error.details ?? '';
  const m = /^(MDCAP_ERR_[A-Z_]+): ([\s\S]*)$/.exec(details);
  const code = (typeof fromMeta === 'string' ? fromMeta : (m?.[1] ?? 'MDCAP_ERR_CONNECT_FAILED')) as MdcapErrorCode;
  const text = m?.[2] ?? `gRPC status ${error.code ?? '?'}: ${details}`;
  return new MdcapError(code, text, { details: { grpcCode: error.code } });
}
