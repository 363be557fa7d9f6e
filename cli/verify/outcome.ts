import type { JsonValue } from '@bufbuild/protobuf';
import type { EventPage } from '../../runtime/protocol/gen/evented/evented.js';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import { fieldDifferences, type FieldDifference } from '../output/field-diff.js';
import type { PayloadTypes } from '../protos/payloads.js';

/**
 * What became of a command — accepted with its events, refused with a status, or failed (business logic broke
 * its contract) — in a form two decisions of the same command can be compared in: each event as its type and its
 * payload in proto3's JSON mapping (decoded with the project's .proto files; as bytes when its type is not
 * among them). `compareOutcomes` says field by field how the new decision differs from the stored one.
 */

export interface DecidedEvent {
  /** The payload's message type ("account.v1.MoneyWithdrawn"). */
  type: string;
  /** Its JSON, or `{ "@bytes": base64 }` when its type is not among the project's. */
  payload: JsonValue;
}

export type Outcome =
  | { outcome: 'accepted'; events: DecidedEvent[] }
  | { outcome: 'refused'; code: number; status: string; message: string }
  | { outcome: 'failed'; message: string };

export const typeNameOf = (any: Any | undefined): string =>
  any === undefined ? '(no payload)' : any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);

export const payloadOf = (any: Any | undefined, types: PayloadTypes): JsonValue => {
  if (any === undefined) return null;
  return types.decode(any) ?? { '@bytes': Buffer.from(any.value).toString('base64') };
};

export const decidedEvents = (pages: readonly EventPage[], types: PayloadTypes): DecidedEvent[] =>
  pages.map((page) => ({ type: typeNameOf(page.Event), payload: payloadOf(page.Event, types) }));

const eventDifferences = (stored: DecidedEvent[], now: DecidedEvent[]): FieldDifference[] => {
  const differences: FieldDifference[] =
    stored.length === now.length
      ? []
      : [{ path: 'events.length', expected: stored.length, actual: now.length }];
  for (let index = 0; index < Math.min(stored.length, now.length); index += 1) {
    const [before, after] = [stored[index]!, now[index]!];
    const path = `events[${index}]`;
    if (before.type !== after.type) {
      differences.push({ path: `${path}.type`, expected: before.type, actual: after.type });
    }
    differences.push(...fieldDifferences(before.payload, after.payload, 'exact', `${path}.payload`));
  }
  return differences;
};

/**
 * How `now` differs from `stored`, field by field (`expected` is the stored side): nothing when the decision is
 * the same — the same events (number, types, payloads) or the same refusal (status and message).
 */
export const compareOutcomes = (stored: Outcome, now: Outcome): FieldDifference[] => {
  if (stored.outcome !== now.outcome) {
    return [{ path: 'outcome', expected: stored.outcome, actual: now.outcome }];
  }
  if (stored.outcome === 'accepted' && now.outcome === 'accepted') {
    return eventDifferences(stored.events, now.events);
  }
  if (stored.outcome === 'refused' && now.outcome === 'refused') {
    return [
      ...(stored.code === now.code ? [] : [{ path: 'status', expected: stored.status, actual: now.status }]),
      ...(stored.message === now.message
        ? []
        : [{ path: 'message', expected: stored.message, actual: now.message }]),
    ];
  }
  // Two failures: the log keeps none, but a failure is never the same decision as anything.
  return [{ path: 'outcome', expected: stored.outcome, actual: now.outcome }];
};
