import type { EventBook } from '../protocol/gen/evented/evented.js';
import type { StoredEvent } from '../store/port.js';
import { inSpan, placeAmong, SpanKind, tracingEnabled } from './spans.js';

/**
 * Spans about stored events, placed in the trace of the commands that stored them (their Origin.traceparent):
 * the relay's publish of a round, and a coordinator's delivery of books to a projector or saga. One span per
 * publish or per call: when what it carries comes from one trace it is a child there; a batch of many
 * aggregates from many commands is a root span linked to each of their traces (spans.ts, placeAmong). A
 * projector's batch that falls back to book-by-book calls gets one delivery span per book, each a child of that
 * book's own trace.
 */

/** The relay publishing one round of the log (PRODUCER); resolves when the broker confirmed it. */
export const inRelayPublish = <T>(
  events: readonly StoredEvent[],
  /** The bus's kind: "amqp" (RabbitMQ) or "memory". */
  busKind: string,
  publish: () => Promise<T>,
): Promise<T> => {
  if (!tracingEnabled()) return publish();
  const { parent, links } = placeAmong(events.map((event) => event.origin?.traceparent));
  return inSpan(
    'evented.relay.publish',
    {
      kind: SpanKind.PRODUCER,
      parent,
      links,
      attributes: {
        'messaging.operation.type': 'publish',
        'messaging.batch.message_count': events.length,
        'evented.events': events.length,
        'evented.first_position': events[0]?.position ?? 0,
        'evented.last_position': events[events.length - 1]?.position ?? 0,
        'messaging.system': busKind === 'amqp' ? 'rabbitmq' : busKind,
      },
    },
    publish,
  );
};

/** A coordinator delivering `books` to `subscriber` ("projector:NAME", "saga:NAME") in one call (CONSUMER). */
export const inDelivery = <T>(
  subscriber: string,
  books: readonly EventBook[],
  deliver: () => Promise<T>,
): Promise<T> => {
  if (!tracingEnabled()) return deliver();
  const { parent, links } = placeAmong(
    books.flatMap((book) => book.pages.map((page) => page.origin?.traceparent)),
  );
  const domains = [...new Set(books.map((book) => book.cover?.domain ?? ''))];
  return inSpan(
    `evented.deliver ${subscriber}`,
    {
      kind: SpanKind.CONSUMER,
      parent,
      links,
      attributes: {
        'messaging.operation.type': 'process',
        'evented.subscriber': subscriber,
        'evented.domain': domains.join(','),
        'evented.books': books.length,
        'evented.events': books.reduce((n, book) => n + book.pages.length, 0),
      },
    },
    deliver,
  );
};
