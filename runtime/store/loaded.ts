import { StoreError } from '../errors/index.js';
import { formatAggregate } from '../protocol/cover.js';
import type { Snapshot } from '../protocol/gen/evented/evented.js';
import type { AggregateRef, LoadedAggregate, StoredEvent } from './port.js';

/**
 * An aggregate as every adapter's `load` returns it, from a snapshot and the events at or after its sequence that
 * the adapter read in ONE consistent view of its storage (see EventStore.load). `next` is derived from what was
 * read, never read apart: the events run to the aggregate's end as of that view, so `next` follows the last of
 * them, or is the snapshot's sequence when no event came after it (a snapshot never covers more events than
 * exist).
 *
 * The events must run without a gap from the snapshot's sequence. The command handler decides on this state and
 * appends with its `next` as the expected sequence, so a torn read would become a decision that did not see an
 * event; a store that ever returned one is failed loudly here rather than trusted.
 */
export const loadedAggregate = (
  ref: AggregateRef,
  snapshot: Snapshot | undefined,
  events: StoredEvent[],
): LoadedAggregate => {
  const from = snapshot?.sequence ?? 0;
  events.forEach((event, index) => {
    if (event.sequence !== from + index) {
      throw new StoreError(
        `the store returned ${formatAggregate(ref.domain, ref.root)} with event #${event.sequence} where #${from + index} was due (snapshot at ${from}): a torn read`,
      );
    }
  });
  return { snapshot, events, next: from + events.length };
};
