import type { RuntimeStatus } from '../protocol/gen/evented/evented.js';
import { formatRanges } from '../support/ranges.js';
import { ratePerSecond } from '../support/rate.js';
import type { StatusView, SubscriberView } from './api.js';

/**
 * The status page's view: Admin.Status as the pages read it, with rates. The runtime reports counts (events each
 * subscriber delivered, commands and events this process handled); a rate is the difference between two readings
 * over the time between them.
 */

export interface StatusReading {
  status: RuntimeStatus;
  /** When it was read (ms since the epoch). */
  at: number;
}

/** Readings closer than this give no rate of their own: the last one computed stands. */
const MIN_INTERVAL_MS = 500;

const subscriberKey = (kind: string, name: string): string => `${kind}:${name}`;

export const statusView = (reading: StatusReading, previous: StatusReading | undefined): StatusView => {
  const { status, at } = reading;
  const ms = previous ? at - previous.at : 0;
  const before = new Map(
    (previous?.status.subscribers ?? []).map((s) => [subscriberKey(s.kind, s.name), s.delivered]),
  );
  const subscribers: SubscriberView[] = status.subscribers.map((s) => {
    const delivered = before.get(subscriberKey(s.kind, s.name));
    return {
      name: s.name,
      kind: s.kind === 'saga' ? 'saga' : 'projector',
      address: s.address,
      domains: [...s.domains],
      state: s.state,
      checkpoint: s.checkpoint,
      lag: s.lag,
      delivered: s.delivered,
      deadLettered: s.deadLettered,
      lastError: s.lastError,
      rate: delivered === undefined ? 0 : ratePerSecond(delivered, s.delivered, ms),
      holders: s.holders.map((holder) => ({
        process: holder.process,
        partitions: formatRanges(holder.partitions),
      })),
    };
  });
  const activity = status.activity;
  const earlier = previous?.status.activity;
  return {
    project: status.name,
    version: status.version,
    head: status.head,
    at: new Date(at).toISOString(),
    components: status.components.map((c) => ({
      process: status.processId,
      roles: [...status.roles],
      name: c.name,
      kind: c.kind,
      address: c.address,
      state: c.state,
      detail: c.detail,
    })),
    subscribers,
    ...(activity && {
      commandsPerSecond: earlier ? ratePerSecond(earlier.commandsHandled, activity.commandsHandled, ms) : 0,
      eventsPerSecond: earlier ? ratePerSecond(earlier.eventsAppended, activity.eventsAppended, ms) : 0,
    }),
  };
};

/**
 * Keeps the last reading, so that each new one has rates: one per stream (each reads every second), and one
 * for GET /api/status. Readings closer than MIN_INTERVAL_MS keep the rates of the last one long enough apart.
 */
export const createStatusReader = (read: () => Promise<RuntimeStatus>): { read(): Promise<StatusView> } => {
  let previous: StatusReading | undefined;
  let rated: StatusView | undefined;
  return {
    async read() {
      const reading = { status: await read(), at: Date.now() };
      if (previous && reading.at - previous.at < MIN_INTERVAL_MS && rated) {
        const rates = new Map(rated.subscribers.map((s) => [subscriberKey(s.kind, s.name), s.rate]));
        const view = statusView(reading, undefined);
        return {
          ...view,
          subscribers: view.subscribers.map((s) => ({
            ...s,
            rate: rates.get(subscriberKey(s.kind, s.name)) ?? 0,
          })),
          ...(view.commandsPerSecond !== undefined && {
            commandsPerSecond: rated.commandsPerSecond ?? 0,
            eventsPerSecond: rated.eventsPerSecond ?? 0,
          }),
        };
      }
      rated = statusView(reading, previous);
      previous = reading;
      return rated;
    },
  };
};
