import type {
  DeadLetter,
  EventBook,
  LoggedEvent,
  Origin,
  Snapshot,
  TracedCommand,
  TraceTree,
} from './gen/evented/evented.js';
import type { Timestamp } from './gen/google/protobuf/timestamp.js';
import { timestampToIso } from './timestamp.js';
import { uuidFromBytes } from './uuid.js';
import { typeNameOf, type PayloadDecoder } from './payload-types.js';

/**
 * The Admin and Query APIs' messages as JSON: one view per concept, for the CLI's `--json` and the web console's
 * API alike (runtime/console/api.ts) — strings for UUIDs and times, payloads decoded to JSON with the project's
 * .proto files when they define the type.
 */

/** Where an event came from (evented's Origin), as strings. */
export interface OriginView {
  correlationId: string;
  commandId: string;
  commandType: string;
  /** "DOMAIN/ROOT/SEQ" of the event that caused the command (a saga's), or empty. */
  causationId: string;
  saga: string;
  /** W3C trace context of the span that stored it, when tracing was on. */
  traceparent?: string;
}

export interface EventView {
  position: number;
  domain: string;
  /** The aggregate's root, as a UUID string. */
  root: string;
  sequence: number;
  /** The payload's full type name ("account.v1.Deposited"), from its type URL. */
  type: string;
  /** ISO 8601. */
  committedAt: string;
  /** The payload as JSON (proto3 JSON mapping), when the project's .proto files define its type. */
  payload?: unknown;
  /** The payload's size in bytes. */
  size: number;
  origin?: OriginView;
}

/** The commands that produced an aggregate's events (from their Origin). */
export interface CommandView {
  commandId: string;
  commandType: string;
  correlationId: string;
  causationId: string;
  saga: string;
  /** The sequences of the events it produced. */
  sequences: number[];
}

export interface AggregateView {
  domain: string;
  root: string;
  /** Every event, in sequence order. */
  events: EventView[];
  /** The sequence a snapshot was taken at (events up to it are folded into it), when there is one. */
  snapshot?: { sequence: number; type: string; payload?: unknown };
  commands: CommandView[];
}

export interface DeadLetterView {
  id: number;
  subscriber: string;
  kind: 'projector' | 'saga';
  domain: string;
  root: string;
  sequence: number;
  position: number;
  attempts: number;
  lastError: string;
  /** "open", "retried" or "skipped". */
  state: string;
  /** ISO 8601: when it was first set aside, and when it last changed (an attempt, a decision, a reopening). */
  createdAt: string;
  updatedAt: string;
  /** Who retried or skipped it, and when (ISO 8601). */
  decidedBy?: string;
  decidedAt?: string;
}

export type TraceDeliveryState = 'applied' | 'handled' | 'pending' | 'dead-lettered' | 'retried' | 'skipped';

export interface TraceView {
  correlationId: string;
  truncated: boolean;
  events: number;
  commands: TracedCommandView[];
}

export interface TracedCommandView {
  commandId: string;
  commandType: string;
  domain: string;
  root: string;
  causationId: string;
  saga: string;
  at: string;
  events: {
    position: number;
    sequence: number;
    type: string;
    committedAt: string;
    deliveries: {
      subscriber: string;
      kind: 'projector' | 'saga';
      state: TraceDeliveryState;
      appliedAt?: string;
      msAfterCommit?: number;
      tookMs?: number;
      deadLetterId?: number;
      error?: string;
      /** Commands this saga issued in reaction to the event. */
      commands: TracedCommandView[];
    }[];
  }[];
}

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
    ...(origin.traceparent && { traceparent: origin.traceparent }),
  };

export const eventView = (event: LoggedEvent, payloads: PayloadDecoder | undefined): EventView => {
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
  payloads: PayloadDecoder | undefined,
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
  createdAt: iso(letter.createdAt),
  updatedAt: iso(letter.updatedAt),
  ...(letter.decidedBy && { decidedBy: letter.decidedBy }),
  ...(letter.decidedAt && { decidedAt: iso(letter.decidedAt) }),
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
