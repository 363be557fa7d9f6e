import type { Pool, PoolClient } from 'pg';
import {
  COMMAND_LOG_COLUMNS,
  commandLogQuery,
  commandLogRow,
  toLoggedCommand,
  type CommandLogRow,
} from '../command-log.js';
import type { CommandLog, CommandLogFilter, NewLoggedCommand } from '../port.js';

/**
 * The decision log in PostgreSQL: one `command_log` row per decision, its id from an identity column (a value is
 * never given out twice, a rolled-back one included). `insertCommands` is what an append's transaction runs for
 * the decisions of its batch, after its events (see append.ts: then the ids of appends follow their commit order
 * too); logCommand inserts one alone.
 */

/** The SQL type of each of COMMAND_LOG_COLUMNS, for unnest. */
const TYPES = ['text', 'bytea', 'bytea', 'text', 'bigint', 'bigint', 'text', 'text', 'int', 'int', 'text'];

export const insertCommandsSql = (s: string): string =>
  `INSERT INTO ${s}.command_log (${COMMAND_LOG_COLUMNS.join(', ')})
   SELECT * FROM unnest(${TYPES.map((type, index) => `$${index + 1}::${type}[]`).join(', ')})`;

/** The decisions as one array per column, in COMMAND_LOG_COLUMNS order (the values of insertCommandsSql). */
export const commandColumns = (entries: readonly NewLoggedCommand[]): unknown[][] => {
  const rows = entries.map(commandLogRow);
  return TYPES.map((_, index) => rows.map((row) => row[index]));
};

export const insertCommands = async (
  client: Pool | PoolClient,
  s: string,
  entries: readonly NewLoggedCommand[],
): Promise<void> => {
  await client.query({
    name: 'evented.commandLog.insert',
    text: insertCommandsSql(s),
    values: commandColumns(entries),
  });
};

export const createPostgresCommandLog = (pool: Pool, s: string): CommandLog => {
  const query = (filter: CommandLogFilter, count: boolean): { text: string; values: unknown[] } => {
    const values: unknown[] = [];
    const text = commandLogQuery(`${s}.command_log`, filter, (value) => `$${values.push(value)}`, count);
    return { text, values };
  };
  return {
    async logCommand(entry) {
      await insertCommands(pool, s, [entry]);
    },
    async readCommandLog(filter) {
      const { rows } = await pool.query<CommandLogRow>(query(filter, false));
      return rows.map(toLoggedCommand);
    },
    async countCommandLog(filter) {
      const { rows } = await pool.query<{ count: string }>(
        query({ ...filter, limit: undefined, last: undefined }, true),
      );
      return Number(rows[0]!.count);
    },
  };
};
