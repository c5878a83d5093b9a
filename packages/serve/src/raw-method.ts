import type * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

/**
 * A method with raw bytes in and out, for a server or a generic client: the messages are
 * encoded and decoded by hand (the generated codec, or the hand-written reader and writer).
 */
export function rawMethod(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}
