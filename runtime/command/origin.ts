import type { Metadata } from '@grpc/grpc-js';
import { ValidationError } from '../errors/index.js';
import type { Origin } from '../protocol/gen/evented/evented.js';
import { ORIGIN_METADATA, originValueProblem } from '../protocol/origin-metadata.js';
import { timeOrderedUuid } from '../protocol/uuid.js';

/**
 * Where a command's events come from (Origin in evented.proto): decided by the runtime, never by business logic.
 * A caller may give the correlation (and, for a saga in another process, the causation and the saga) as gRPC
 * metadata; the command handler completes the rest and stores it with every event of the call.
 */

/** One metadata value, checked: undefined when absent; ValidationError when it is not acceptable. */
const valueOf = (metadata: Metadata, field: keyof typeof ORIGIN_METADATA): string | undefined => {
  const key = ORIGIN_METADATA[field];
  const [raw] = metadata.get(key);
  if (raw === undefined) return undefined;
  const value = String(raw);
  const problem = originValueProblem(value, field);
  if (problem !== undefined) throw new ValidationError(`metadata ${key} ${problem}`);
  return value;
};

/**
 * The origin a call through the gRPC service asks for: the caller's correlation id (`evented-correlation-id`), a
 * new UUID otherwise, and a new command id. Throws ValidationError for a value that is not acceptable.
 */
export const originFromMetadata = (metadata: Metadata): Origin => ({
  correlationId: valueOf(metadata, 'correlationId') ?? timeOrderedUuid(),
  commandId: timeOrderedUuid(),
  commandType: '',
  causationId: valueOf(metadata, 'causationId') ?? '',
  saga: valueOf(metadata, 'saga') ?? '',
  traceparent: '',
});

/** The metadata that passes a saga's origin to a command handler in another process (see originFromMetadata). */
export const setOriginMetadata = (metadata: Metadata, origin: Origin): void => {
  if (origin.correlationId !== '') metadata.set(ORIGIN_METADATA.correlationId, origin.correlationId);
  if (origin.causationId !== '') metadata.set(ORIGIN_METADATA.causationId, origin.causationId);
  if (origin.saga !== '') metadata.set(ORIGIN_METADATA.saga, origin.saga);
};

/**
 * The origin stored with the events of one call: the caller's, with what it left empty filled in (a new
 * correlation id and command id), and the command's type, which only the command handler knows for sure (the
 * first page's type URL; empty for a Record). Made once per call, so the retries after a conflict keep it.
 */
export const completeOrigin = (given: Origin | undefined, commandType: string): Origin => ({
  correlationId: given?.correlationId || timeOrderedUuid(),
  commandId: given?.commandId || timeOrderedUuid(),
  commandType,
  causationId: given?.causationId ?? '',
  saga: given?.saga ?? '',
  traceparent: given?.traceparent ?? '',
});
