import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import {
  asWholeRuntime,
  configSchema,
  startRuntime,
  type UserConfig,
  type WholeRuntime,
} from '../../runtime/index.js';
import { commandClient, queryClient, type CommandClient, type QueryClient } from './clients.js';
import { tempDir } from './tmp.js';

const runtimes: WholeRuntime[] = [];
afterAll(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close(100)));
});

export interface TestRuntime {
  /** Holding every role, as `evented up` runs it. */
  runtime: WholeRuntime;
  commands: CommandClient;
  queries: QueryClient;
  projectDir: string;
}

/**
 * The runtime in this process, on free ports, over a real SQLite file in a temporary project folder.
 * `config` is merged over those defaults; pass `projectDir` to share a store between two runtimes, `env` for
 * what the configuration takes from the environment.
 */
export const startTestRuntime = async (
  config: Partial<UserConfig> = {},
  options: { projectDir?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<TestRuntime> => {
  const projectDir = options.projectDir ?? tempDir();
  const resolved = configSchema.parse({
    ...config,
    log: { level: 'silent' },
    commandHandler: { port: 0, ...config.commandHandler },
    queryHandler: { port: 0, ...config.queryHandler },
    projectorCoordinator: { port: 0, ...config.projectorCoordinator },
    sagaCoordinator: { port: 0, ...config.sagaCoordinator },
    admin: { port: 0, ...config.admin },
    console: { port: 0, ...config.console },
  });
  const runtime = asWholeRuntime(
    await startRuntime(resolved, { projectDir, logger: pino({ level: 'silent' }), env: options.env }),
  );
  runtimes.push(runtime);
  return {
    runtime,
    commands: commandClient(runtime.commandHandler.address),
    queries: queryClient(runtime.queryHandler.address),
    projectDir,
  };
};

export const storePath = (projectDir: string): string => join(projectDir, '.evented', 'events.db');
