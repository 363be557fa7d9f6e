import { NotFoundError, StateError, UnavailableError, ValidationError } from '../errors/index.js';
import type {
  DeadLetter as LetterMessage,
  DeadLetterDetail,
  DeadLetterList,
  DeadLetterQuery,
  DeadLetterRequest,
} from '../protocol/gen/evented/evented.js';
import type { Timestamp } from '../protocol/gen/google/protobuf/timestamp.js';
import { DEAD_LETTER_STATES, type DeadLetter, type DeadLetterState, type EventStore } from '../store/port.js';
import type { DeadLetterDecisions } from '../subscriber/dead-letter-decisions.js';
import type { SubscriberView } from './status.js';
import { toLogged } from './tail.js';
import { deliveredElsewhere, isElsewhere, type Elsewhere } from './elsewhere.js';

/**
 * `evented dlq` on the runtime's side: dead letters listed and shown from the store (whichever process set them
 * aside), and retried or skipped through the coordinator of their subscriber, which holds its delivery lock
 * meanwhile (subscriber/dead-letter-decisions.ts says what retry and skip do).
 */

export interface DeadLettered {
  status(): SubscriberView;
  readonly deadLetters: DeadLetterDecisions;
}

export interface DeadLetterSources {
  store: EventStore;
  projectors: ReadonlyMap<string, DeadLettered>;
  sagas: ReadonlyMap<string, DeadLettered>;
  /** The roles of this process, and the subscribers whose coordinators run in other processes. */
  roles: readonly string[];
  elsewhere: Elsewhere;
}

interface Subscriber {
  /** "projector:NAME" / "saga:NAME", as the store names it. */
  id: string;
}

const KINDS = ['projector', 'saga'] as const;

const mapOf = (
  sources: DeadLetterSources,
  kind: (typeof KINDS)[number],
): ReadonlyMap<string, DeadLettered> => (kind === 'projector' ? sources.projectors : sources.sagas);

/** The names of `kind` configured in the project: delivered here or by other processes. */
const namesOf = (sources: DeadLetterSources, kind: (typeof KINDS)[number]): string[] => [
  ...mapOf(sources, kind).keys(),
  ...(kind === 'projector' ? sources.elsewhere.projectors : sources.elsewhere.sagas),
];

const configured = (sources: DeadLetterSources): string => {
  const all = KINDS.flatMap((kind) => namesOf(sources, kind).map((name) => `${kind} "${name}"`));
  return all.length === 0 ? 'none is configured' : `configured: ${all.join(', ')}`;
};

/** A subscriber by name ("accounts") or, when a projector and a saga share it, "projector:accounts". */
const findSubscriber = (sources: DeadLetterSources, text: string): Subscriber => {
  const [prefix, ...rest] = text.split(':');
  const kinds = KINDS.filter((kind) => kind === prefix);
  const name = kinds.length > 0 ? rest.join(':') : text;
  const matches = (kinds.length > 0 ? kinds : KINDS).flatMap((kind) =>
    namesOf(sources, kind).includes(name) ? [{ id: `${kind}:${name}` }] : [],
  );
  if (matches.length === 0) {
    throw new NotFoundError(`no projector or saga named "${name}" (${configured(sources)})`);
  }
  if (matches.length > 1) {
    throw new ValidationError(
      `both a projector and a saga are named "${name}": say which, projector:${name} or saga:${name}`,
    );
  }
  return matches[0]!;
};

/** The coordinator that can deliver a letter of `subscriber` again, while it can; `action` for a refusal. */
const deliveringSubscriber = (
  sources: DeadLetterSources,
  subscriber: string,
  action: string,
): DeadLettered => {
  const [kind, ...rest] = subscriber.split(':');
  const name = rest.join(':');
  const known = KINDS.find((it) => it === kind);
  if (known && isElsewhere(sources.elsewhere, known, name)) {
    throw deliveredElsewhere(known, name, sources.roles, action);
  }
  const target = known && mapOf(sources, known).get(name);
  if (!target) {
    throw new StateError(
      `${kind} "${name}" is no longer configured in this runtime: its dead letters can be listed, not delivered`,
    );
  }
  const view = target.status();
  if (view.state === 'waiting') {
    throw new UnavailableError(
      `${kind} "${name}" at ${view.address} does not answer (${view.lastError ?? 'unavailable'}): start it, then try again`,
    );
  }
  return target;
};

const timestampOf = (ms: number): Timestamp => ({
  seconds: Math.floor(ms / 1000),
  nanos: (ms % 1000) * 1_000_000,
});

export const letterMessage = (letter: DeadLetter): LetterMessage => {
  const [kind, ...name] = letter.subscriber.split(':');
  return {
    id: letter.id,
    subscriber: name.join(':'),
    kind: kind ?? '',
    cover: { domain: letter.domain, root: { value: letter.root } },
    sequence: letter.sequence,
    position: letter.position,
    attempts: letter.attempts,
    lastError: letter.lastError,
    state: letter.state,
    createdAt: timestampOf(letter.createdAt),
    updatedAt: timestampOf(letter.updatedAt),
    decidedAt: letter.decidedAt === undefined ? undefined : timestampOf(letter.decidedAt),
    decidedBy: letter.decidedBy ?? '',
  };
};

const stateOf = (text: string): DeadLetterState | undefined => {
  if (text === '') return undefined;
  if (!DEAD_LETTER_STATES.includes(text as DeadLetterState)) {
    throw new ValidationError(`state "${text}" is not one of ${DEAD_LETTER_STATES.join(', ')}`);
  }
  return text as DeadLetterState;
};

export const listDeadLetters = async (
  sources: DeadLetterSources,
  query: DeadLetterQuery,
): Promise<DeadLetterList> => {
  const state = stateOf(query.state);
  const subscriber = query.subscriber ? findSubscriber(sources, query.subscriber).id : undefined;
  const letters = await sources.store.listDeadLetters({ subscriber, state });
  return { letters: letters.map(letterMessage) };
};

const letterById = async (sources: DeadLetterSources, id: number): Promise<DeadLetter> => {
  const letter = id > 0 ? await sources.store.getDeadLetter(id) : undefined;
  if (letter === undefined) throw new NotFoundError(`there is no dead letter #${id}`);
  return letter;
};

export const getDeadLetter = async (sources: DeadLetterSources, id: number): Promise<DeadLetterDetail> => {
  const letter = await letterById(sources, id);
  const [event] = await sources.store.readAggregate(letter, {
    from: letter.sequence,
    to: letter.sequence + 1,
  });
  return {
    letter: letterMessage(letter),
    event: event && toLogged(event),
  };
};

const RETRY = 'retry its dead letters';

/** What a retry or skip request names: letters by id, or a subscriber's (one aggregate's) open letters. */
const checkRequest = (request: DeadLetterRequest, skip: boolean): void => {
  if (request.ids.length > 0 && (request.subscriber || request.aggregate)) {
    throw new ValidationError('name dead letters by id, or a subscriber (and an aggregate): not both');
  }
  if (skip && request.ids.length === 0) {
    throw new ValidationError('name the dead letters to skip by id');
  }
  if (request.ids.length === 0 && !request.subscriber) {
    throw new ValidationError('name dead letters by id, or a subscriber whose open letters to retry');
  }
  const root = request.aggregate?.root?.value;
  if (request.aggregate && (!request.aggregate.domain || root?.length !== 16)) {
    throw new ValidationError('an aggregate is a domain and a root UUID (16 bytes)');
  }
};

export const retryDeadLetters = async (
  sources: DeadLetterSources,
  request: DeadLetterRequest,
  by: string,
): Promise<DeadLetterList> => {
  checkRequest(request, false);
  const touched: DeadLetter[] = [];
  if (request.ids.length > 0) {
    for (const id of request.ids) {
      const letter = await letterById(sources, id);
      const target = deliveringSubscriber(sources, letter.subscriber, RETRY);
      touched.push(...(await target.deadLetters.retry({ letter: id }, by)));
    }
  } else {
    const { id } = findSubscriber(sources, request.subscriber);
    const target = deliveringSubscriber(sources, id, RETRY);
    const aggregate = request.aggregate && {
      domain: request.aggregate.domain,
      root: request.aggregate.root!.value,
    };
    touched.push(...(await target.deadLetters.retry(aggregate ? { aggregate } : { all: true }, by)));
  }
  return { letters: touched.map(letterMessage) };
};

export const skipDeadLetters = async (
  sources: DeadLetterSources,
  request: DeadLetterRequest,
  by: string,
): Promise<DeadLetterList> => {
  checkRequest(request, true);
  const touched: DeadLetter[] = [];
  for (const id of request.ids) {
    const letter = await letterById(sources, id);
    const target = deliveringSubscriber(sources, letter.subscriber, 'skip its dead letters');
    touched.push(...(await target.deadLetters.skip([id], by)));
  }
  return { letters: touched.map(letterMessage) };
};
