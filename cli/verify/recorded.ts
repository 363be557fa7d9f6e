import type { CommandLogRequest, LoggedCommand } from '../../runtime/protocol/gen/evented/evented.js';
import type { AdminConnection } from '../remote/admin-client.js';

/**
 * The recorded commands `evented verify` decides again, read from the runtime's decision log
 * (Admin.ListCommands) in pages of PAGE_SIZE by id, each with the events it was decided on: all that match, or
 * a uniform random sample of them.
 */

/** Commands per ListCommands call: each comes with its aggregate's history, so a page stays a few MB. */
export const PAGE_SIZE = 256;

export type LogFilter = Pick<CommandLogRequest, 'domain' | 'since'>;

const requestOf = (
  filter: LogFilter,
  page: { after: number; limit: number; withHistory: boolean },
): CommandLogRequest => ({ ...filter, root: undefined, last: 0, ...page });

/** Every command that matches `filter`, oldest first, with its history. */
export async function* allCommands(
  admin: AdminConnection,
  filter: LogFilter,
  signal: AbortSignal,
  pageSize = PAGE_SIZE,
): AsyncGenerator<LoggedCommand> {
  for (let after = 0; ;) {
    let received = 0;
    for await (const logged of admin.listCommands(
      requestOf(filter, { after, limit: pageSize, withHistory: true }),
      signal,
    )) {
      received += 1;
      after = logged.id;
      yield logged;
    }
    if (received < pageSize || signal.aborted) return;
  }
}

/** `n` distinct indexes of 0 … total - 1, each set of them as likely as any other (Floyd), in increasing order. */
export const sampleIndexes = (total: number, n: number, random: () => number = Math.random): number[] => {
  const chosen = new Set<number>();
  for (let upper = total - Math.min(n, total); upper < total; upper += 1) {
    const pick = Math.floor(random() * (upper + 1));
    chosen.add(chosen.has(pick) ? upper : pick);
  }
  return [...chosen].sort((a, b) => a - b);
};

/** The ids of the commands at `indexes` (increasing) among those that match: one pass without histories. */
const idsAt = async (
  admin: AdminConnection,
  filter: LogFilter,
  indexes: readonly number[],
  signal: AbortSignal,
): Promise<number[]> => {
  const ids: number[] = [];
  let index = 0;
  let next = 0;
  for (let after = 0; next < indexes.length;) {
    let received = 0;
    for await (const logged of admin.listCommands(
      requestOf(filter, { after, limit: PAGE_SIZE * 16, withHistory: false }),
      signal,
    )) {
      received += 1;
      after = logged.id;
      if (index === indexes[next]) {
        ids.push(logged.id);
        next += 1;
      }
      index += 1;
    }
    if (received < PAGE_SIZE * 16 || signal.aborted) break;
  }
  return ids;
};

/**
 * `n` commands chosen uniformly at random among the `total` that match, oldest first, each with its history:
 * their ids are found in one pass over the log without histories, then each is read with its own.
 */
export async function* sampledCommands(
  admin: AdminConnection,
  filter: LogFilter,
  total: number,
  n: number,
  signal: AbortSignal,
): AsyncGenerator<LoggedCommand> {
  const ids = await idsAt(admin, filter, sampleIndexes(total, n), signal);
  for (const id of ids) {
    for await (const logged of admin.listCommands(
      requestOf(filter, { after: id - 1, limit: 1, withHistory: true }),
      signal,
    )) {
      yield logged;
    }
  }
}
