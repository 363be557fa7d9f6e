import { NotFoundError, ValidationError } from '../errors/index.js';
import { aggregateKey, formatAggregate } from '../protocol/cover.js';
import type {
  TracedCommand,
  TracedDelivery,
  TracedEvent,
  TraceRequest,
  TraceTree,
} from '../protocol/gen/evented/evented.js';
import { timestampFromDate, timestampToDate } from '../protocol/timestamp.js';
import { uuidFromBytes } from '../protocol/uuid.js';
import type { AggregateRef, DeadLetter, Delivery, EventStore, StoredEvent } from '../store/port.js';
import type { SubscriberKind } from './elsewhere.js';

/**
 * What `evented trace` shows: one correlation's causal tree, from the store. Each command (its events share
 * Origin.commandId) → its events → each projector and saga that takes their domain: applied when (the delivery
 * log), pending, or dead-lettered (the dead-letter store) → for a saga, the commands whose causationId names the
 * event → their events → … Read in three steps: the correlation's events (bounded), then per aggregate its
 * delivery log, dead letters and each subscriber's progress; the tree itself is built by a pure function.
 */

/** A projector or saga of the project (every one the configuration names, wherever it runs). */
export interface TracedSubscriber {
  kind: SubscriberKind;
  name: string;
  domains: readonly string[];
}

/** What the trace reads from the store. */
export type TraceStore = Pick<
  EventStore,
  'readCorrelation' | 'readAggregate' | 'listDeliveries' | 'listDeadLetters' | 'loadProgress'
>;

/** Events read when the request names no limit, and at most whatever it names; a correlation with more is cut. */
export const DEFAULT_TRACE_EVENTS = 1000;
const MAX_TRACE_EVENTS = 10_000;

/** Everything the tree is built from, read from the store. */
export interface TraceInput {
  correlationId: string;
  /** The correlation's events, in position order. */
  events: readonly StoredEvent[];
  /** There were more events than `events`. */
  truncated: boolean;
  subscribers: readonly TracedSubscriber[];
  /** The delivery log's entries for the events' aggregates. */
  deliveries: readonly Delivery[];
  /** The dead letters of the events' aggregates. */
  letters: readonly DeadLetter[];
  /** The next sequence each subscriber expects per aggregate: key progressKey(subscriber, aggregate). */
  progress: ReadonlyMap<string, number>;
}

/** How an event names itself as a cause (Origin.causationId): "DOMAIN/ROOT/SEQUENCE". */
export const eventRef = (domain: string, root: Uint8Array, sequence: number): string =>
  `${domain}/${uuidFromBytes(root)}/${sequence}`;

export const progressKey = (subscriber: string, aggregate: AggregateRef): string =>
  `${subscriber}|${aggregateKey(aggregate.domain, aggregate.root)}`;

const subscriberId = (subscriber: TracedSubscriber): string => `${subscriber.kind}:${subscriber.name}`;

const msOf = (event: StoredEvent): number => timestampToDate(event.createdAt).getTime();

/** Reads what the tree needs and builds it. Throws NotFoundError for a correlation with no event. */
export const traceCorrelation = async (
  store: TraceStore,
  subscribers: readonly TracedSubscriber[],
  request: TraceRequest,
): Promise<TraceTree> => {
  const correlationId = request.correlationId || (await correlationOfEvent(store, request));
  const limit = Math.min(request.limit || DEFAULT_TRACE_EVENTS, MAX_TRACE_EVENTS);
  const read = await store.readCorrelation(correlationId, limit + 1);
  if (read.length === 0) throw new NotFoundError(`no event of correlation "${correlationId}" in the store`);
  const events = read.slice(0, limit);

  const aggregates = new Map<string, { ref: AggregateRef; from: number; to: number }>();
  for (const { domain, root, sequence } of events) {
    const key = aggregateKey(domain, root);
    const known = aggregates.get(key);
    aggregates.set(key, {
      ref: { domain, root },
      from: Math.min(known?.from ?? sequence, sequence),
      to: Math.max(known?.to ?? sequence + 1, sequence + 1),
    });
  }
  const deliveries: Delivery[] = [];
  const letters: DeadLetter[] = [];
  const progress = new Map<string, number>();
  for (const { ref, from, to } of aggregates.values()) {
    deliveries.push(...(await store.listDeliveries(ref, { from, to })));
    letters.push(...(await store.listDeadLetters({ aggregate: ref })));
  }
  for (const subscriber of subscribers) {
    const refs = [...aggregates.values()]
      .map(({ ref }) => ref)
      .filter((ref) => subscriber.domains.includes(ref.domain));
    const nexts = await store.loadProgress(subscriberId(subscriber), refs);
    refs.forEach((ref, index) => progress.set(progressKey(subscriberId(subscriber), ref), nexts[index] ?? 0));
  }
  return buildTraceTree({
    correlationId,
    events,
    truncated: read.length > limit,
    subscribers,
    deliveries,
    letters,
    progress,
  });
};

const correlationOfEvent = async (store: TraceStore, request: TraceRequest): Promise<string> => {
  const { aggregate, sequence } = request;
  const root = aggregate?.root?.value;
  if (!aggregate?.domain || root?.length !== 16) {
    throw new ValidationError('trace needs a correlation id, or an event: its domain, root and sequence');
  }
  const [event] = await store.readAggregate(
    { domain: aggregate.domain, root },
    { from: sequence, to: sequence + 1 },
  );
  const what = `event ${sequence} of ${formatAggregate(aggregate.domain, root)}`;
  if (event === undefined) throw new NotFoundError(`no ${what} in the store`);
  if (!event.origin?.correlationId)
    throw new NotFoundError(`${what} has no correlation (stored before evented kept one)`);
  return event.origin.correlationId;
};

/** The tree, from what was read: a pure function of its input. */
export const buildTraceTree = (input: TraceInput): TraceTree => {
  // 1. The commands, in the order of their first event; an event without a command id is a command of its own.
  const commands = new Map<string, { command: TracedCommand; events: StoredEvent[] }>();
  for (const event of input.events) {
    const id = event.origin?.commandId || `position ${event.position}`;
    let entry = commands.get(id);
    if (entry === undefined) {
      entry = {
        command: {
          commandId: event.origin?.commandId ?? '',
          commandType: event.origin?.commandType ?? '',
          cover: { domain: event.domain, root: { value: event.root } },
          causationId: event.origin?.causationId ?? '',
          saga: event.origin?.saga ?? '',
          at: event.createdAt,
          events: [],
        },
        events: [],
      };
      commands.set(id, entry);
    }
    entry.events.push(event);
  }

  // 2. Each event with its deliveries; the events by the reference a saga's command names as its cause.
  const byRef = new Map<string, TracedEvent>();
  for (const { command, events } of commands.values()) {
    for (const event of events) {
      const traced: TracedEvent = {
        position: event.position,
        sequence: event.sequence,
        type: event.event?.typeUrl ?? '',
        committedAt: event.createdAt,
        deliveries: input.subscribers
          .filter((subscriber) => subscriber.domains.includes(event.domain))
          .map((subscriber) => deliveryOf(input, subscriber, event)),
      };
      command.events.push(traced);
      byRef.set(eventRef(event.domain, event.root, event.sequence), traced);
    }
  }

  // 3. A saga's command under the saga's delivery of its cause; a command whose cause is not here, at the top.
  const roots: TracedCommand[] = [];
  for (const { command } of commands.values()) {
    const cause = command.causationId ? byRef.get(command.causationId) : undefined;
    if (cause === undefined || !command.saga) {
      roots.push(command);
      continue;
    }
    let delivery = cause.deliveries.find((d) => d.kind === 'saga' && d.subscriber === command.saga);
    if (delivery === undefined) {
      // A saga the configuration does not name (any more): it reacted all the same.
      delivery = { ...emptyDelivery(), subscriber: command.saga, kind: 'saga', state: 'handled' };
      cause.deliveries.push(delivery);
    }
    delivery.commands.push(command);
  }
  return {
    correlationId: input.correlationId,
    commands: roots,
    truncated: input.truncated,
    events: input.events.length,
  };
};

const emptyDelivery = (): TracedDelivery => ({
  subscriber: '',
  kind: '',
  state: '',
  appliedAt: undefined,
  msAfterCommit: 0,
  tookMs: 0,
  deadLetterId: 0,
  error: '',
  commands: [],
});

/** Where one event stands with one subscriber: a dead letter first, then the log, then the progress. */
const deliveryOf = (input: TraceInput, subscriber: TracedSubscriber, event: StoredEvent): TracedDelivery => {
  const id = subscriberId(subscriber);
  const base = { ...emptyDelivery(), subscriber: subscriber.name, kind: subscriber.kind };
  const sameEvent = (entry: AggregateRef): boolean =>
    entry.domain === event.domain &&
    aggregateKey(entry.domain, entry.root) === aggregateKey(event.domain, event.root);
  const applied = input.deliveries
    .filter((d) => d.subscriber === id && sameEvent(d) && d.from <= event.sequence && event.sequence < d.to)
    .sort((a, b) => a.at - b.at)[0];
  const timing = applied && {
    appliedAt: timestampFromDate(new Date(applied.at)),
    msAfterCommit: applied.at - msOf(event),
    tookMs: applied.tookMs,
  };
  const letter = input.letters.find(
    (l) => l.subscriber === id && sameEvent(l) && l.sequence === event.sequence,
  );
  if (letter !== undefined) {
    const state = letter.state === 'open' ? 'dead-lettered' : letter.state;
    return { ...base, ...timing, state, deadLetterId: letter.id, error: letter.lastError };
  }
  if (timing) return { ...base, ...timing, state: 'applied' };
  const next = input.progress.get(progressKey(id, event)) ?? 0;
  return { ...base, state: next > event.sequence ? 'handled' : 'pending' };
};
