import type { EventPage } from '../protocol/gen/evented/evented.js';
import type { StoredEvent } from './port.js';

/** A stored event as the wire carries it: a page whose `num` is its sequence (every reader of the store needs it). */
export const toPage = (event: StoredEvent): EventPage => ({
  num: event.sequence,
  createdAt: event.createdAt,
  Event: event.event,
  synchronous: event.synchronous,
  origin: event.origin,
});
