import { NotFoundError, UnavailableError, ValidationError } from '../errors/index.js';
import type {
  ReplayProgress as ProgressMessage,
  ReplayRequest as RequestMessage,
} from '../protocol/gen/evented/evented.js';
import type { RuntimeMetrics } from '../metrics/port.js';
import type { EventStore } from '../store/port.js';
import type { ReplayHooks, ReplayProgress, ReplayRequest } from '../subscriber/replay.js';
import { acceptsConnections } from '../support/net.js';
import type { SubscriberView } from './status.js';
import { deliveredElsewhere, isElsewhere, type Elsewhere } from './elsewhere.js';

/**
 * `evented replay` and `evented rebuild` on the runtime's side: checks the request (the subscriber exists, sagas
 * only when asked for by name, the domain is one it follows, the service answers), then streams the replay's
 * progress. A dry run answers the totals and an estimated time, and replays nothing.
 */

export interface Replayable {
  replay(request: ReplayRequest, hooks: ReplayHooks): Promise<ReplayProgress>;
  status(): SubscriberView;
}

export interface ReplaySources {
  store: EventStore;
  projectors: ReadonlyMap<string, Replayable>;
  sagas: ReadonlyMap<string, Replayable>;
  /** The roles of this process, and the subscribers whose coordinators run in other processes. */
  roles: readonly string[];
  elsewhere: Elsewhere;
  /** Events per second a dry run's estimate assumes for a subscriber whose rate has not been measured. */
  estimatedEventsPerSecond: number;
  /**
   * Each subscriber's measured replay rate ("projector:NAME" → events/s): the rate of its last replay of at
   * least MEASURED_MIN_EVENTS events, kept while the runtime runs. A dry run estimates from it when known.
   */
  measuredRates: Map<string, number>;
  /** Where replay progress is reported as metrics (when they are on). */
  metrics?: RuntimeMetrics | undefined;
}

/** A replay shorter than this says little about a subscriber's rate (start-up costs dominate). */
export const MEASURED_MIN_EVENTS = 1000;

const names = (map: ReadonlyMap<string, unknown>): string =>
  map.size === 0 ? 'none is configured' : [...map.keys()].map((name) => `"${name}"`).join(', ');

const findSubscriber = (sources: ReplaySources, request: RequestMessage): Replayable => {
  const name = request.subscriber;
  const kind = request.saga ? 'saga' : 'projector';
  if (isElsewhere(sources.elsewhere, kind, name)) {
    throw deliveredElsewhere(kind, name, sources.roles, request.rebuild ? 'rebuild it' : 'replay it');
  }
  if (request.saga) {
    const saga = sources.sagas.get(name);
    if (!saga) throw new NotFoundError(`no saga named "${name}" (sagas: ${names(sources.sagas)})`);
    return saga;
  }
  const projector = sources.projectors.get(name);
  if (projector) return projector;
  if (sources.sagas.has(name) || isElsewhere(sources.elsewhere, 'saga', name)) {
    throw new ValidationError(
      `"${name}" is a saga; a saga is replayed only when asked for explicitly (its commands would run again): add --saga`,
    );
  }
  throw new NotFoundError(`no projector named "${name}" (projectors: ${names(sources.projectors)})`);
};

const checkedRequest = (subscriber: Replayable, request: RequestMessage): ReplayRequest => {
  const { name, domains } = subscriber.status();
  if (request.domain && !domains.includes(request.domain)) {
    throw new ValidationError(
      `"${name}" does not follow the domain "${request.domain}" (it follows ${domains.join(', ')})`,
    );
  }
  if (request.rebuild && (request.after > 0 || request.domain)) {
    throw new ValidationError(
      'a rebuild replays every event of every domain from the start: leave out the position and the domain',
    );
  }
  return {
    after: request.after,
    domains: request.domain ? [request.domain] : domains,
    rebuild: request.rebuild,
  };
};

/** The replay's progress messages, the last one marked `done`; stops early when `signal` aborts. */
export async function* replaySubscriber(
  sources: ReplaySources,
  message: RequestMessage,
  signal: AbortSignal,
): AsyncGenerator<ProgressMessage> {
  const subscriber = findSubscriber(sources, message);
  const request = checkedRequest(subscriber, message);

  const key = `${message.saga ? 'saga' : 'projector'}:${message.subscriber}`;
  if (message.dryRun) {
    const { events, aggregates } = await sources.store.countLog(request.after, request.domains);
    const measured = sources.measuredRates.get(key);
    const rate = measured ?? sources.estimatedEventsPerSecond;
    yield {
      events: 0,
      total: events,
      aggregates,
      position: request.after,
      eventsPerSecond: rate,
      etaMs: Math.round((events / rate) * 1000),
      done: false,
      dryRun: true,
      rateMeasured: measured !== undefined,
    };
    return;
  }

  const { name, address } = subscriber.status();
  if (!(await acceptsConnections(address))) {
    throw new UnavailableError(`"${name}" at ${address} does not answer: start it, then replay`);
  }

  // The replay reports through a small queue that this generator drains.
  const queue: ProgressMessage[] = [];
  let wake: (() => void) | undefined;
  const push = (progress: ReplayProgress): void => {
    queue.push({ ...progress, dryRun: false, rateMeasured: false });
    sources.metrics?.replayProgress(
      message.saga ? 'saga' : 'projector',
      name,
      progress.events,
      progress.total,
    );
    if (progress.done && progress.events >= MEASURED_MIN_EVENTS) {
      sources.measuredRates.set(key, progress.eventsPerSecond);
    }
    wake?.();
  };
  let finished = false;
  let failure: unknown;
  const running = subscriber.replay(request, { onProgress: push, signal }).then(
    () => {
      finished = true;
      wake?.();
    },
    (err: unknown) => {
      failure = err;
      finished = true;
      wake?.();
    },
  );
  while (!finished || queue.length > 0) {
    if (queue.length === 0) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      continue;
    }
    yield queue.shift()!;
  }
  await running;
  if (failure !== undefined) throw failure;
}
