import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readRuntimeFile } from '../local/runtime-file.js';

/**
 * Where the runtime a command talks to is: `--address` (its admin service), else the `.evented/runtime.json` a
 * running `evented up` wrote in the project folder, else the admin address evented.yaml configures, else the
 * default 127.0.0.1:1316. `source` says which, for error messages.
 */
export interface RuntimeLocation {
  admin: string;
  /** Known only from runtime.json; otherwise asked from the admin service. */
  commandHandler: string | undefined;
  source: string;
}

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:1316';

export const locateRuntime = async (options: {
  address?: string | undefined;
  projectDir: string;
}): Promise<RuntimeLocation> => {
  if (options.address) {
    return { admin: options.address, commandHandler: undefined, source: '--address' };
  }
  const running = readRuntimeFile(options.projectDir);
  if (running?.admin !== undefined) {
    return {
      admin: running.admin,
      commandHandler: running.commandHandler,
      source: join(options.projectDir, '.evented', 'runtime.json'),
    };
  }
  const configPath = join(options.projectDir, 'evented.yaml');
  if (!existsSync(configPath)) {
    return { admin: DEFAULT_ADMIN_ADDRESS, commandHandler: undefined, source: 'the default address' };
  }
  // Only here is the configuration (YAML and its schema) needed: loaded now rather than at every start.
  const { readConfigFile } = await import('../../runtime/config/sources/file.js');
  const config = await readConfigFile(configPath);
  return {
    admin: `${config.admin.host}:${config.admin.port}`,
    commandHandler: undefined,
    source: `the admin port in ${configPath}`,
  };
};
