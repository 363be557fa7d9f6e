import { UnavailableError } from '../errors/index.js';
import type { ResolvedConfig } from '../config/schema.js';
import { acceptsConnections, canListen } from '../support/net.js';
import { instanceName, portOffsetOf } from './instances.js';
import { applyServeFlags } from './serve-flags.js';

/**
 * Before `evented up` starts anything: every port it will listen on must be free, and nothing may already
 * answer where a user process is to listen. Checking first means a busy port is one clear line naming the port
 * and the key to change, with nothing half-started.
 */

interface Wanted {
  key: string;
  host: string;
  port: number;
}

/** The framework's own listening ports, with the evented.yaml key of each. */
export const frameworkPorts = (config: ResolvedConfig): Wanted[] => {
  const wanted: Wanted[] = [
    { key: 'commandHandler.port', ...config.commandHandler },
    { key: 'queryHandler.port', ...config.queryHandler },
    { key: 'admin.port', ...config.admin },
  ];
  if (Object.keys(config.projectors).length > 0)
    wanted.push({ key: 'projectorCoordinator.port', ...config.projectorCoordinator });
  if (Object.keys(config.sagas).length > 0)
    wanted.push({ key: 'sagaCoordinator.port', ...config.sagaCoordinator });
  if (config.metrics?.enabled) wanted.push({ key: 'metrics.port', ...config.metrics });
  if (config.console.enabled) wanted.push({ key: 'console.port', ...config.console });
  return wanted.filter((w) => w.port !== 0);
};

/** Every instance's ports (`up --instances`): instance k's are 10·(k−1) above the configured ones. */
const instancesPorts = (config: ResolvedConfig, instances: number): Wanted[] =>
  instances <= 1
    ? frameworkPorts(config)
    : Array.from({ length: instances }, (_, i) =>
        frameworkPorts(applyServeFlags(config, { portOffset: portOffsetOf(i + 1) })).map((wanted) => ({
          ...wanted,
          key: i === 0 ? wanted.key : `${wanted.key} + ${portOffsetOf(i + 1)} for ${instanceName(i + 1)}`,
        })),
      ).flat();

export const checkPortsFree = async (config: ResolvedConfig, instances = 1): Promise<void> => {
  const seen = new Map<number, string>();
  for (const { key, host, port } of instancesPorts(config, instances)) {
    const twice = seen.get(port);
    if (twice !== undefined) {
      throw new UnavailableError(`port ${port} is configured twice: ${twice} and ${key}`, {
        hint: `set ${key} to another port in evented.yaml`,
      });
    }
    seen.set(port, key);
    if (!(await canListen(host, port))) {
      throw new UnavailableError(`port ${port} is already in use (${key}: ${host}:${port})`, {
        hint: `stop what listens there (evented down, if it is an earlier evented up), or set ${key} to another port in evented.yaml`,
      });
    }
  }
  for (const [name, process] of Object.entries(config.processes)) {
    if (process.readyOn && (await acceptsConnections(process.readyOn, 500))) {
      throw new UnavailableError(
        `${process.readyOn} is already in use: something answers where processes.${name}.readyOn says "${name}" will listen`,
        {
          hint: `stop what listens there (evented down, if it is an earlier evented up), or give "${name}" another port (processes.${name}.readyOn and where evented.yaml points at it)`,
        },
      );
    }
  }
};
