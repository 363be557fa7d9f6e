import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { AdminConnection } from './admin-client.js';
import { locateRuntime } from './locate.js';

/** The options every command that talks to a running runtime shares, and how they become a connection. */

export interface RemoteOptions {
  address?: string;
  dir?: string;
}

export const withRemoteOptions = (command: Command): Command =>
  command
    .option('--address <host:port>', "a runtime's admin service (default: the one `evented up` started here)")
    .option('--dir <dir>', 'the project folder (default: the current one)');

export const projectDirOf = (context: CliContext, options: RemoteOptions): string =>
  resolve(context.cwd, options.dir ?? '.');

/** Who is calling, as the runtime's audit log names it: user@host and this CLI's pid. */
export const callerName = (context: CliContext): string => {
  let user = context.env.USER ?? context.env.LOGNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()} pid ${context.self?.pid ?? 'unknown'}`;
};

/** Connects to the runtime; closed when `task` ends. gRPC is loaded here, when a command runs, not at start. */
export const withAdmin = async <T>(
  context: CliContext,
  options: RemoteOptions,
  task: (admin: AdminConnection) => Promise<T>,
): Promise<T> => {
  const location = await locateRuntime({
    address: options.address,
    projectDir: projectDirOf(context, options),
  });
  const { connectAdmin } = await import('./admin-client.js');
  const admin = connectAdmin(location, callerName(context));
  try {
    return await task(admin);
  } finally {
    admin.close();
  }
};
