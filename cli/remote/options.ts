import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { findProjectDir } from '../local/project.js';
import type { AdminConnection } from './admin-client.js';
import { checkServesProject, locateRuntime } from './locate.js';
import { connectionSecurity, withSecurityOptions, type SecurityOptions } from './security.js';

/** The options every command that talks to a running runtime shares, and how they become a connection. */

export interface RemoteOptions extends SecurityOptions {
  address?: string;
  dir?: string;
}

export const withRemoteOptions = (command: Command): Command =>
  withSecurityOptions(
    command
      .option(
        '--address <host:port>',
        "a runtime's admin service (default: the one `evented up` started here)",
      )
      .option('--dir <dir>', 'the project folder (default: the one holding evented.yaml, from here up)'),
  );

export const projectDirOf = (context: CliContext, options: RemoteOptions): string =>
  findProjectDir(context.cwd, options.dir);

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

/**
 * Connects to the runtime, and, unless it was named with --address, checks that it serves this project; closed
 * when `task` ends. gRPC is loaded here, when a command runs, not at start.
 */
export const withAdmin = async <T>(
  context: CliContext,
  options: RemoteOptions,
  task: (admin: AdminConnection) => Promise<T>,
): Promise<T> => {
  const projectDir = projectDirOf(context, options);
  const location = await locateRuntime({ address: options.address, projectDir });
  const security = await connectionSecurity(context, options, projectDir);
  const { connectAdmin } = await import('./admin-client.js');
  const admin = connectAdmin(location, callerName(context), security);
  try {
    if (location.source === '--address') return await task(admin);
    const status = await admin.status();
    checkServesProject(status, projectDir, location);
    // The status just fetched is the answer to the task's first status() (`evented status` asks for it too).
    let first: typeof status | undefined = status;
    const fetchStatus = admin.status;
    return await task({
      ...admin,
      status: () => {
        const answer = first;
        first = undefined;
        return answer ? Promise.resolve(answer) : fetchStatus();
      },
    });
  } finally {
    admin.close();
  }
};
