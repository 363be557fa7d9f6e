import { Origin } from '../protocol/gen/evented/evented.js';

/**
 * How every store keeps an event's Origin (see evented.proto): the message's protobuf bytes in one column (or
 * field), so that a field added to Origin later needs no schema change, and the correlation id beside them in a
 * column of its own, indexed, for EventStore.readCorrelation. Events stored before evented recorded origins have
 * neither (null), and read back with `origin` undefined.
 */

export interface StoredOrigin {
  /** The correlation id; null when the event has no origin or its correlation is empty. */
  correlationId: string | null;
  /** The encoded Origin; null when the event has none. */
  bytes: Uint8Array | null;
}

export const encodeOrigin = (origin: Origin | undefined): StoredOrigin =>
  origin === undefined
    ? { correlationId: null, bytes: null }
    : { correlationId: origin.correlationId || null, bytes: Origin.encode(origin).finish() };

export const decodeOrigin = (bytes: Uint8Array | null | undefined): Origin | undefined =>
  bytes === null || bytes === undefined ? undefined : Origin.decode(bytes);
