import {
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ValidationError, messageOf } from '../errors/index.js';
import { toServiceError } from '../errors/to-grpc-status.js';

/**
 * Requests that do not decode are the client's mistake: INVALID_ARGUMENT, not the INTERNAL "Error deserializing
 * request" grpc-js answers when a deserializer throws. So every server's deserializers never throw: they return
 * an UndecodableRequest, which the interceptor below answers before any handler sees it.
 *
 * Every legal uint64 must decode too. The generated decoders turn uint64 into a JavaScript number and throw above
 * 2^53 - 1; a request that failed for that reason is decoded again with such values clamped to
 * Number.MAX_SAFE_INTEGER. That is exact for what those fields hold: positions in the global log, which no store
 * reaches (2^53 events at a million a second is 285 years), so "after 2^64 - 1" and "after 2^53 - 1" both mean
 * "after everything".
 */

class UndecodableRequest {
  constructor(readonly reason: string) {}
}

const TOO_LARGE = /MAX_SAFE_INTEGER/;

/** Reads a varint at `offset`: its value (exact, as a bigint) and where it ends; undefined when cut short. */
const readVarint = (bytes: Uint8Array, offset: number): { value: bigint; end: number } | undefined => {
  let value = 0n;
  for (let i = offset, shift = 0n; i < bytes.length && i < offset + 10; i += 1, shift += 7n) {
    value |= BigInt(bytes[i]! & 0x7f) << shift;
    if ((bytes[i]! & 0x80) === 0) return { value, end: i + 1 };
  }
  return undefined;
};

const writeVarint = (value: bigint): number[] => {
  const out: number[] = [];
  while (value > 0x7fn) {
    out.push(Number(value & 0x7fn) | 0x80);
    value >>= 7n;
  }
  out.push(Number(value));
  return out;
};

/**
 * The message with every top-level varint above 2^53 - 1 replaced by 2^53 - 1 (uint64 fields are top-level in
 * every request that has them: TailRequest, ReplayRequest). Undefined when the bytes are not well-formed.
 */
export const clampLargeVarints = (bytes: Uint8Array): Uint8Array | undefined => {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  const out: number[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const tag = readVarint(bytes, offset);
    if (tag === undefined) return undefined;
    out.push(...bytes.subarray(offset, tag.end));
    offset = tag.end;
    const wireType = Number(tag.value & 7n);
    let end: number;
    if (wireType === 0) {
      const field = readVarint(bytes, offset);
      if (field === undefined) return undefined;
      if (field.value > max) {
        out.push(...writeVarint(max));
        offset = field.end;
        continue;
      }
      end = field.end;
    } else if (wireType === 1) end = offset + 8;
    else if (wireType === 5) end = offset + 4;
    else if (wireType === 2) {
      const length = readVarint(bytes, offset);
      if (length === undefined) return undefined;
      end = length.end + Number(length.value);
    } else return undefined;
    if (end > bytes.length) return undefined;
    out.push(...bytes.subarray(offset, end));
    offset = end;
  }
  return Uint8Array.from(out);
};

const tolerant =
  (deserialize: (bytes: Buffer) => unknown) =>
  (bytes: Buffer): unknown => {
    try {
      return deserialize(bytes);
    } catch (err) {
      const clamped = TOO_LARGE.test(messageOf(err)) ? clampLargeVarints(bytes) : undefined;
      if (clamped !== undefined) {
        try {
          return deserialize(Buffer.from(clamped));
        } catch {
          // reported below, with the first reason
        }
      }
      return new UndecodableRequest(messageOf(err));
    }
  };

/** The service definition with deserializers that never throw (see above). */
export const withTolerantDecoding = (definition: ServiceDefinition): ServiceDefinition =>
  Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      { ...method, requestDeserialize: tolerant(method.requestDeserialize) },
    ]),
  ) as ServiceDefinition<UntypedServiceImplementation>;

/** Answers an UndecodableRequest with INVALID_ARGUMENT, naming the method; the handler never sees it. */
export const refuseUndecodable: ServerInterceptor = (method, call) => {
  const intercepting: ServerInterceptingCall = new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMessage: (message, forward) => {
          if (!(message instanceof UndecodableRequest)) {
            forward(message);
            return;
          }
          const refusal = new ValidationError(
            `the request to ${method.path.slice(1)} is not a valid protobuf message of its type (${message.reason})`,
            { hint: 'encode it with code generated from proto/evented/evented.proto' },
          );
          intercepting.sendStatus(toServiceError(refusal) as Parameters<typeof call.sendStatus>[0]);
        },
      }),
  });
  return intercepting;
};
