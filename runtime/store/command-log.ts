import { ValidationError } from '../errors/index.js';
import { assertRoot } from './batch-plan.js';
import type { CommandLogFilter, CommandOutcome, LoggedCommand, NewLoggedCommand } from './port.js';

/**
 * The decision log's one shape, shared by the adapters (see CommandLog in port.ts): the filter's rules, one row
 * per decision with the same columns in SQLite and PostgreSQL (`command_log`; MongoDB's documents carry the same
 * fields), the query a filter makes of them, and the way back from a row to a LoggedCommand. A row's outcome is
 * in its columns: `error_code` is null for an accepted command, `event_count` null for a refused one.
 */

/** Throws ValidationError for a filter no store can answer: a root that is not 16 bytes, or one without a domain. */
export const checkCommandLogFilter = (filter: CommandLogFilter): void => {
  if (filter.root === undefined) return;
  assertRoot(filter.root);
  if (!filter.domain)
    throw new ValidationError('a root names an aggregate only together with its domain: give the domain too');
};

/** The columns of `command_log` after its id, in the order commandLogRow gives their values. */
export const COMMAND_LOG_COLUMNS = [
  'domain',
  'root',
  'command',
  'command_type',
  'decided_on',
  'at',
  'correlation_id',
  'command_id',
  'event_count',
  'error_code',
  'error_message',
] as const;

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/** A decision's column values, in COMMAND_LOG_COLUMNS order. */
export const commandLogRow = (entry: NewLoggedCommand): unknown[] => [
  entry.domain,
  bytes(entry.root),
  bytes(entry.command),
  entry.commandType,
  entry.decidedOn,
  entry.at,
  entry.correlationId,
  entry.commandId,
  entry.outcome === 'accepted' ? entry.eventCount : null,
  entry.outcome === 'refused' ? entry.errorCode : null,
  entry.outcome === 'refused' ? entry.errorMessage : null,
];

/** A row as a driver returns it (PostgreSQL's bigints as strings, SQLite's as numbers). */
export interface CommandLogRow {
  id: number | string;
  domain: string;
  root: Uint8Array;
  command: Uint8Array;
  command_type: string;
  decided_on: number | string;
  at: number | string;
  correlation_id: string;
  command_id: string;
  event_count: number | string | null;
  error_code: number | null;
  error_message: string | null;
}

/** The outcome a row (or document) holds: refused when it has an error code. */
export const outcomeOf = (
  eventCount: number | string | null,
  errorCode: number | null,
  errorMessage: string | null,
): CommandOutcome =>
  errorCode === null
    ? { outcome: 'accepted', eventCount: Number(eventCount ?? 0) }
    : { outcome: 'refused', errorCode, errorMessage: errorMessage ?? '' };

export const toLoggedCommand = (row: CommandLogRow): LoggedCommand => ({
  id: Number(row.id),
  domain: row.domain,
  root: row.root,
  command: row.command,
  commandType: row.command_type,
  decidedOn: Number(row.decided_on),
  at: Number(row.at),
  correlationId: row.correlation_id,
  commandId: row.command_id,
  ...outcomeOf(row.event_count, row.error_code, row.error_message),
});

/**
 * The SELECT (or, with `count`, the count) of the rows that match a filter, for SQL stores: `param` takes a
 * value and returns its placeholder (`?` or `$n`). `last` takes the last rows (newest ids first, then turned
 * back into id order); `limit` the first of what is left.
 */
export const commandLogQuery = (
  table: string,
  filter: CommandLogFilter,
  param: (value: unknown) => string,
  count = false,
): string => {
  checkCommandLogFilter(filter);
  const where = [`id > ${param(filter.afterId ?? 0)}`];
  if (filter.domain) where.push(`domain = ${param(filter.domain)}`);
  if (filter.root !== undefined) where.push(`root = ${param(bytes(filter.root))}`);
  if (filter.since !== undefined) where.push(`at >= ${param(filter.since)}`);
  const matching = `FROM ${table} WHERE ${where.join(' AND ')}`;
  if (count) return `SELECT count(*) AS count ${matching}`;
  const columns = `id, ${COMMAND_LOG_COLUMNS.join(', ')}`;
  // Placeholders are made in the order they appear (SQLite's `?` are positional).
  const selected = filter.last
    ? `SELECT * FROM (SELECT ${columns} ${matching} ORDER BY id DESC LIMIT ${param(filter.last)}) AS tail ORDER BY id`
    : `SELECT ${columns} ${matching} ORDER BY id`;
  return filter.limit ? `${selected} LIMIT ${param(filter.limit)}` : selected;
};
