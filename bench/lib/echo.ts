/** The raw baseline's service: one unary method on Buffers (identity serializers, no protobuf). */
export const ECHO_PATH = '/bench.Echo/Unary';

const identity = (buffer: Buffer): Buffer => buffer;

export const echoService = {
  unary: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} as const;
