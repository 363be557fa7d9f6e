import type Database from 'better-sqlite3';
import {
  COMMAND_LOG_COLUMNS,
  commandLogQuery,
  commandLogRow,
  toLoggedCommand,
  type CommandLogRow,
} from '../command-log.js';
import type { CommandLog, CommandLogFilter, NewLoggedCommand } from '../port.js';

/**
 * The decision log in SQLite: one `command_log` row per decision, its id the row id (AUTOINCREMENT: never given
 * out again, even after the newest row is gone). `insert` is what an append's transaction calls for the decisions
 * of its batch; logCommand inserts one alone.
 */
export const createSqliteCommandLog = (
  db: Database.Database,
): { insert(entry: NewLoggedCommand): void; log: CommandLog } => {
  const insert = db.prepare(
    `INSERT INTO command_log (${COMMAND_LOG_COLUMNS.join(', ')}) VALUES (${COMMAND_LOG_COLUMNS.map(() => '?').join(', ')})`,
  );
  // The filters combine in a handful of ways: each statement is prepared once.
  const statements = new Map<string, Database.Statement>();
  const run = (
    filter: CommandLogFilter,
    count: boolean,
  ): { statement: Database.Statement; values: unknown[] } => {
    const values: unknown[] = [];
    const text = commandLogQuery('command_log', filter, (value) => (values.push(value), '?'), count);
    let statement = statements.get(text);
    if (statement === undefined) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return { statement, values };
  };

  return {
    insert: (entry) => insert.run(...commandLogRow(entry)),
    log: {
      async logCommand(entry) {
        insert.run(...commandLogRow(entry));
      },
      async readCommandLog(filter) {
        const { statement, values } = run(filter, false);
        return (statement.all(...values) as CommandLogRow[]).map(toLoggedCommand);
      },
      async countCommandLog(filter) {
        const { statement, values } = run({ ...filter, limit: undefined, last: undefined }, true);
        return (statement.get(...values) as { count: number }).count;
      },
    },
  };
};
