import type {
  DeadLetter,
  EventBook,
  LoggedEvent,
  Origin,
  Snapshot,
  TracedCommand,
  TraceTree,
} from '../protocol/gen/evented/evented.js';
import type { Timestamp } from '../protocol/gen/google/protobuf/timestamp.js';
import { timestampToIso } from '../protocol/timestamp.js';
import { uuidFromBytes } from '../protocol/uuid.js';
import { typeNameOf, type PayloadRegistry } from '../protocol/payload-types.js';
import type {
  AggregateView,
  CommandView,
  DeadLetterView,
  EventView,
  OriginView,
  TracedCommandView,
  TraceDeliveryState,
  TraceView,
} from './api.js';

/**
 * The Admin and Query APIs' messages as the console's pages read them (api.ts): strings for UUIDs and times,
 * payloads decoded to JSON with the project's .proto files when they define the type.
 */

const iso = (ts: Timestamp | undefined): string => (ts ? timestampToIso(ts) : '');
const isoOrUndefined = (ts: Timestamp | undefined): string | undefined =>
  ts ? timestampToIso(ts) : undefined;
const kindOf = (kind: string): 'projector' | 'saga' => (kind === 'saga' ? 'saga' : 'projector');

const originView = (origin: Origin | undefined): OriginView | undefined =>
  origin && {
    correlationId: origin.correlationId,
    commandId: origin.commandId,
    commandType: origin.commandType ? typeNameOf(origin.commandType) : '',
    causationId: origin.causationId,
    saga: origin.saga,
  };

export const eventView = (event: LoggedEvent, payloads: PayloadRegistry | undefined): EventView => {
  const page = event.page;
  const payload = page?.Event;
  const decoded = payload && payloads?.decode(payload);
  return {
    position: event.position,
    domain: event.cover?.domain ?? '',
    root: event.cover?.root ? uuidFromBytes(event.cover.root.value) : '',
    sequence: page?.num ?? 0,
    type: payload ? typeNameOf(payload.typeUrl) : '',
    committedAt: iso(page?.createdAt),
    ...(decoded !== undefined && { payload: decoded }),
    size: payload?.value.length ?? 0,
    ...(page?.origin && { origin: originView(page.origin) }),
  };
};

/**
 * An aggregate as GetEvents returns it (every event, in order), with each event's global position from the log
 * (`positions`, by sequence), its latest snapshot (Admin.GetSnapshot), and the commands that produced its events,
 * from their origin.
 */
export const aggregateView = (
  domain: string,
  root: string,
  books: readonly EventBook[],
  positions: ReadonlyMap<number, number>,
  snapshot: Snapshot | undefined,
  payloads: PayloadRegistry | undefined,
): AggregateView => {
  const events = books.flatMap((book) =>
    book.pages.map((page) =>
      eventView({ position: positions.get(page.num ?? 0) ?? 0, cover: book.cover, page }, payloads),
    ),
  );
  const commands = new Map<string, CommandView>();
  for (const event of events) {
    const origin = event.origin;
    if (!origin?.commandId) continue;
    const known = commands.get(origin.commandId);
    if (known) known.sequences.push(event.sequence);
    else commands.set(origin.commandId, { ...origin, sequences: [event.sequence] });
  }
  const state = snapshot?.state;
  const decoded = state && payloads?.decode(state);
  return {
    domain,
    root,
    events,
    ...(state && {
      snapshot: {
        sequence: snapshot.sequence,
        type: typeNameOf(state.typeUrl),
        ...(decoded !== undefined && { payload: decoded }),
      },
    }),
    commands: [...commands.values()],
  };
};

export const deadLetterView = (letter: DeadLetter): DeadLetterView => ({
  id: letter.id,
  subscriber: letter.subscriber,
  kind: kindOf(letter.kind),
  domain: letter.cover?.domain ?? '',
  root: letter.cover?.root ? uuidFromBytes(letter.cover.root.value) : '',
  sequence: letter.sequence,
  position: letter.position,
  attempts: letter.attempts,
  lastError: letter.lastError,
  state: letter.state,
  ...(letter.decidedBy && { decidedBy: letter.decidedBy }),
  ...(letter.decidedAt && { decidedAt: iso(letter.decidedAt) }),
  ...(letter.createdAt && { firstFailedAt: iso(letter.createdAt) }),
});

const DELIVERY_STATES = new Set<TraceDeliveryState>([
  'applied',
  'handled',
  'pending',
  'dead-lettered',
  'retried',
  'skipped',
]);

const tracedCommandView = (command: TracedCommand): TracedCommandView => ({
  commandId: command.commandId,
  commandType: command.commandType ? typeNameOf(command.commandType) : '',
  domain: command.cover?.domain ?? '',
  root: command.cover?.root ? uuidFromBytes(command.cover.root.value) : '',
  causationId: command.causationId,
  saga: command.saga,
  at: iso(command.at),
  events: command.events.map((event) => ({
    position: event.position,
    sequence: event.sequence,
    type: typeNameOf(event.type),
    committedAt: iso(event.committedAt),
    deliveries: event.deliveries.map((delivery) => ({
      subscriber: delivery.subscriber,
      kind: kindOf(delivery.kind),
      state: DELIVERY_STATES.has(delivery.state as TraceDeliveryState)
        ? (delivery.state as TraceDeliveryState)
        : 'pending',
      ...(delivery.appliedAt && {
        appliedAt: isoOrUndefined(delivery.appliedAt),
        msAfterCommit: delivery.msAfterCommit,
        tookMs: delivery.tookMs,
      }),
      ...(delivery.deadLetterId > 0 && { deadLetterId: delivery.deadLetterId }),
      ...(delivery.error && { error: delivery.error }),
      commands: delivery.commands.map(tracedCommandView),
    })),
  })),
});

export const traceView = (tree: TraceTree): TraceView => ({
  correlationId: tree.correlationId,
  truncated: tree.truncated,
  events: tree.events,
  commands: tree.commands.map(tracedCommandView),
});
