import { SequenceError, ValidationError, ConcurrencyConflictError } from '../errors/index.js';
import type { Snapshot } from '../protocol/gen/evented/evented.js';
import type { NewEvent } from './port.js';

/**
 * The sequence rules, in one place, shared by every store adapter and the command handler:
 * - an aggregate's events are numbered 0, 1, 2, … with no gaps;
 * - a page with `num` must carry exactly the next sequence; a page with `force` takes the next one;
 * - a page with neither is malformed;
 * - a snapshot may cover at most the events that exist after the append.
 */

/** Numbers pages from `next`; throws SequenceError naming the first page that is not next. */
export const assignSequences = (events: readonly NewEvent[], next: number, aggregate: string): number[] => {
  const sequences: number[] = [];
  let expected = next;
  events.forEach((event, index) => {
    if (event.force === true) {
      sequences.push(expected);
    } else if (event.num !== undefined) {
      if (event.num !== expected) {
        throw new SequenceError(
          `pages[${index}].num is ${event.num}, but the next sequence of ${aggregate} is ${expected}`,
          {
            hint: 'number pages from the aggregate’s next sequence, or set force to let the store number them',
          },
        );
      }
      sequences.push(expected);
    } else {
      throw new ValidationError(
        `pages[${index}].sequence is not set: set num (an explicit sequence) or force`,
      );
    }
    expected += 1;
  });
  return sequences;
};

export const assertExpectedNext = (
  expectedNext: number | undefined,
  actualNext: number,
  aggregate: string,
): void => {
  if (expectedNext !== undefined && expectedNext !== actualNext) {
    throw new ConcurrencyConflictError(
      `${aggregate} was changed by another writer: expected next sequence ${expectedNext}, found ${actualNext}`,
      expectedNext,
      actualNext,
    );
  }
};

export const assertSnapshotFits = (snapshot: Snapshot | undefined, next: number, aggregate: string): void => {
  if (snapshot !== undefined && snapshot.sequence > next) {
    throw new ValidationError(
      `snapshot.sequence is ${snapshot.sequence}, but ${aggregate} has only ${next} events after this append`,
      {
        hint: 'snapshot.sequence counts the events the state covers (the sequence of the first event not in it)',
      },
    );
  }
};
