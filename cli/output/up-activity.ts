import type { RuntimeStatus } from '../../runtime/protocol/gen/evented/evented.js';
import { connectAdmin, type AdminConnection } from '../remote/admin-client.js';
import type { ConnectionSecurity } from '../remote/security.js';
import { ratePerSecond } from '../../runtime/support/rate.js';
import type { ActivityReading, UpViewActivity } from '../ui/activity.js';

/**
 * The readings behind the live view's activity line: every `everyMs`, the status of each runtime process (its
 * admin service, as `evented status` asks it), added up. A process that does not answer this time (an instance
 * being killed) is left out of that reading.
 */

const EVERY_MS = 1000;

/** The processes' statuses as one reading: counts added up; a subscriber's lag, the largest any process sees. */
export const readingOf = (statuses: readonly RuntimeStatus[], at: number): ActivityReading => {
  const lags = new Map<string, { kind: string; name: string; lag: number }>();
  for (const status of statuses) {
    for (const subscriber of status.subscribers) {
      // A process holding none of its partitions says nothing of its lag.
      if (subscriber.state === 'standby') continue;
      const key = `${subscriber.kind}:${subscriber.name}`;
      const lag = Math.max(lags.get(key)?.lag ?? 0, subscriber.lag);
      lags.set(key, { kind: subscriber.kind, name: subscriber.name, lag });
    }
  }
  return {
    at,
    commandsHandled: statuses.reduce((sum, status) => sum + (status.activity?.commandsHandled ?? 0), 0),
    eventsAppended: statuses.reduce((sum, status) => sum + (status.activity?.eventsAppended ?? 0), 0),
    subscribers: [...lags.values()],
  };
};

/** Reads every `everyMs` until the returned function is called. */
export const watchActivity = (options: {
  /** The admin address of each runtime process, as it is now. */
  admins: () => string[];
  security: ConnectionSecurity;
  onReading: (reading: ActivityReading) => void;
  everyMs?: number;
}): (() => void) => {
  const connections = new Map<string, AdminConnection>();
  const connection = (admin: string): AdminConnection => {
    let found = connections.get(admin);
    if (found === undefined) {
      found = connectAdmin(
        { admin, commandHandler: undefined, source: 'evented up' },
        'evented up',
        options.security,
      );
      connections.set(admin, found);
    }
    return found;
  };
  let stopped = false;
  const read = async (): Promise<void> => {
    const answers = await Promise.allSettled(options.admins().map((admin) => connection(admin).status()));
    const statuses = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
    if (!stopped && statuses.length > 0) options.onReading(readingOf(statuses, Date.now()));
  };
  let timer: NodeJS.Timeout | undefined;
  const loop = (): void => {
    void read().finally(() => {
      if (!stopped) timer = setTimeout(loop, options.everyMs ?? EVERY_MS).unref();
    });
  };
  loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const admin of connections.values()) admin.close();
    connections.clear();
  };
};

/** Commands/s and events/s between the two latest readings (undefined until there are two), and the lags. */
export const activityOf = (
  previous: ActivityReading | undefined,
  latest: ActivityReading,
): UpViewActivity => {
  const ms = previous === undefined ? 0 : latest.at - previous.at;
  const known = previous !== undefined && ms > 0;
  return {
    commandsPerSecond: known
      ? ratePerSecond(previous.commandsHandled, latest.commandsHandled, ms)
      : undefined,
    eventsPerSecond: known ? ratePerSecond(previous.eventsAppended, latest.eventsAppended, ms) : undefined,
    subscribers: latest.subscribers,
  };
};
