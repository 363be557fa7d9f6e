import type { ClientSession, Filter } from 'mongodb';
import { checkCommandLogFilter, outcomeOf } from '../command-log.js';
import type { CommandLog, CommandLogFilter, LoggedCommand, NewLoggedCommand } from '../port.js';
import type { Collections, CommandDoc } from './collections.js';

/**
 * The decision log in MongoDB: one `command_log` document per decision, its `_id` taken from a counter
 * (`counters {_id: 'command_log'}`, moved by `$inc`, so never given out twice). `insertCommands` is what an
 * append's transaction runs for the decisions of its batch (the counter then moves in that transaction, and ids
 * of appends follow their commit order); logCommand inserts one alone, with majority write concern.
 */

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);
const majority = { writeConcern: { w: 'majority' as const } };

const toDoc = (entry: NewLoggedCommand, id: number): CommandDoc => ({
  _id: id,
  domain: entry.domain,
  root: bytes(entry.root),
  command: bytes(entry.command),
  commandType: entry.commandType,
  decidedOn: entry.decidedOn,
  at: entry.at,
  correlationId: entry.correlationId,
  commandId: entry.commandId,
  eventCount: entry.outcome === 'accepted' ? entry.eventCount : null,
  errorCode: entry.outcome === 'refused' ? entry.errorCode : null,
  errorMessage: entry.outcome === 'refused' ? entry.errorMessage : null,
});

const toLoggedCommand = (doc: CommandDoc): LoggedCommand => ({
  id: doc._id,
  domain: doc.domain,
  root: doc.root,
  command: doc.command,
  commandType: doc.commandType,
  decidedOn: doc.decidedOn,
  at: doc.at,
  correlationId: doc.correlationId,
  commandId: doc.commandId,
  ...outcomeOf(doc.eventCount, doc.errorCode, doc.errorMessage),
});

export const insertCommands = async (
  c: Collections,
  entries: readonly NewLoggedCommand[],
  session?: ClientSession,
): Promise<void> => {
  const counter = await c.counters.findOneAndUpdate(
    { _id: 'command_log' },
    { $inc: { position: entries.length } },
    { session, upsert: true, returnDocument: 'after', ...(session ? {} : majority) },
  );
  const first = counter!.position - entries.length + 1;
  await c.commands.insertMany(
    entries.map((entry, index) => toDoc(entry, first + index)),
    session ? { session } : majority,
  );
};

const filterOf = (filter: CommandLogFilter): Filter<CommandDoc> => {
  checkCommandLogFilter(filter);
  return {
    _id: { $gt: filter.afterId ?? 0 },
    ...(filter.domain ? { domain: filter.domain } : {}),
    ...(filter.root !== undefined ? { root: bytes(filter.root) } : {}),
    ...(filter.since !== undefined ? { at: { $gte: filter.since } } : {}),
  };
};

export const createMongoCommandLog = (c: Collections): CommandLog => ({
  async logCommand(entry) {
    await insertCommands(c, [entry]);
  },
  async readCommandLog(filter) {
    const query = filterOf(filter);
    // The last N: newest first, then turned back into id order.
    const docs = filter.last
      ? (await c.commands.find(query).sort({ _id: -1 }).limit(filter.last).toArray()).reverse()
      : await c.commands
          .find(query)
          .sort({ _id: 1 })
          .limit(filter.limit ?? 0)
          .toArray();
    return (filter.last && filter.limit ? docs.slice(0, filter.limit) : docs).map(toLoggedCommand);
  },
  async countCommandLog(filter) {
    return c.commands.countDocuments(filterOf(filter));
  },
});
