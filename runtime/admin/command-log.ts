import { ValidationError } from '../errors/index.js';
import {
  CommandBook,
  type CommandCount,
  type CommandLogRequest,
  type LoggedCommand as WireLoggedCommand,
} from '../protocol/gen/evented/evented.js';
import { timestampFromDate, timestampToDate } from '../protocol/timestamp.js';
import { toPage } from '../store/page.js';
import type { CommandLogFilter, EventStore, LoggedCommand } from '../store/port.js';

/**
 * Admin.ListCommands and Admin.CountCommands: the decision log (`commandLog: true`) as `evented verify` and
 * `evented test --record` read it. Read-only. The log is read from the store page by page, so that a log of
 * millions never sits in memory; each command is sent with the events it produced, read from the aggregate
 * (its events from decidedOn, eventCount of them), and, when asked, the events it was decided on.
 */

const PAGE_COMMANDS = 500;

/** The store's filter for a request; ValidationError for a root that is not a UUID or comes without a domain. */
const filterOf = (request: CommandLogRequest): CommandLogFilter => {
  const root = request.root?.value;
  if (root !== undefined && root.length !== 16) {
    throw new ValidationError(`root must be a UUID (16 bytes), got ${root.length} bytes`);
  }
  if (root !== undefined && !request.domain) {
    throw new ValidationError('a root names an aggregate only together with its domain: give the domain too');
  }
  return {
    domain: request.domain || undefined,
    root,
    since: request.since && timestampToDate(request.since).getTime(),
    afterId: request.after || undefined,
  };
};

/** A logged decision as the wire carries it, with its events (and its history, when asked) read from the store. */
const toWire = async (
  store: EventStore,
  entry: LoggedCommand,
  withHistory: boolean,
): Promise<WireLoggedCommand> => {
  const ref = { domain: entry.domain, root: entry.root };
  const accepted = entry.outcome === 'accepted';
  const produced = accepted ? entry.eventCount : 0;
  const events =
    produced > 0
      ? await store.readAggregate(ref, { from: entry.decidedOn, to: entry.decidedOn + produced })
      : [];
  const history =
    withHistory && entry.decidedOn > 0
      ? await store.readAggregate(ref, { from: 0, to: entry.decidedOn })
      : [];
  return {
    id: entry.id,
    command: CommandBook.decode(entry.command),
    decidedOn: entry.decidedOn,
    decidedAt: timestampFromDate(new Date(entry.at)),
    accepted,
    events: events.map(toPage),
    errorCode: accepted ? 0 : entry.errorCode,
    errorMessage: accepted ? '' : entry.errorMessage,
    correlationId: entry.correlationId,
    commandId: entry.commandId,
    history: history.map(toPage),
  };
};

/**
 * The logged commands that match, oldest first: all of them, the first `limit`, or the last `last` (those logged
 * by the time the call began: the first of them is found first, then the rest are read forward from it).
 */
export async function* listCommands(
  store: EventStore,
  request: CommandLogRequest,
): AsyncGenerator<WireLoggedCommand> {
  const filter = filterOf(request);
  let after = filter.afterId ?? 0;
  let remaining = Math.min(request.limit || Infinity, request.last || Infinity);
  if (request.last > 0) {
    const [first] = await store.readCommandLog({ ...filter, last: request.last, limit: 1 });
    if (first === undefined) return;
    after = first.id - 1;
  }
  while (remaining > 0) {
    const wanted = Math.min(PAGE_COMMANDS, remaining);
    const page = await store.readCommandLog({ ...filter, afterId: after, limit: wanted });
    for (const entry of page) yield await toWire(store, entry, request.withHistory);
    if (page.length < wanted) return;
    after = page[page.length - 1]!.id;
    remaining -= page.length;
  }
}

/** How many commands listCommands would send, `limit` and `last` aside. */
export const countCommands = async (
  store: EventStore,
  request: CommandLogRequest,
): Promise<CommandCount> => ({
  commands: await store.countCommandLog(filterOf(request)),
});
