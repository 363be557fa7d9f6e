import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeStatus } from '../../runtime/protocol/gen/evented/evented.js';
import { CliError } from '../errors.js';
import { readRuntimeFile } from '../local/runtime-file.js';

/**
 * Where the runtime a command talks to is: `--address` (its admin service), else the `.evented/runtime.json` a
 * running `evented up` wrote in the project folder, else the admin address evented.yaml configures, else the
 * default 127.0.0.1:1316. `source` says which, for error messages.
 *
 * Only `--address` names a runtime outright. Found any other way, an address may be another project's runtime
 * (one that took the same port, or the default one): the runtime says which project it serves, and a command
 * acts only on its own project's (checkServesProject).
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
  // A runtime.json without addresses is an `evented up` still starting (or one that died starting).
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

const realPath = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/** Refuses a runtime that serves another project than `projectDir` (unless it was named with --address). */
export const checkServesProject = (
  status: RuntimeStatus,
  projectDir: string,
  location: RuntimeLocation,
): void => {
  if (location.source === '--address' || realPath(status.projectDir) === realPath(projectDir)) return;
  const serves = status.projectDir
    ? `serves the project "${status.name}" in ${status.projectDir}`
    : `does not say which project it serves ("${status.name}")`;
  throw new CliError(
    `the runtime at ${location.admin} (from ${location.source}) ${serves}, not this one (${projectDir})`,
    `start this project's runtime with \`evented up\`, or pass --address ${location.admin} to use that one anyway`,
  );
};
