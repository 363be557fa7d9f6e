import type { EventBook } from '../protocol/gen/evented/evented.js';
import type { CallTiming } from './delivery-log.js';

/**
 * How the consumer hands events to a projector or saga coordinator, which calls the user's service with them:
 * in order, in as many calls as it needs, telling the consumer after each call which books are handled, so that
 * progress follows each call and not only each batch.
 */
export type Deliver = (books: EventBook[], options: DeliverOptions) => Promise<void>;

export interface DeliverOptions {
  /** Marks the calls `evented-replay: true`: the subscriber was given these events before. */
  replay: boolean;
  /**
   * Tells the consumer that these books are handled: their call succeeded (`call`: when it ended, how long it
   * took, for the delivery log), or they were set aside or parked (no `call`).
   */
  handled(books: readonly EventBook[], call?: CallTiming): void;
}
