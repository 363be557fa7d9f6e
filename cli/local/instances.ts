import { isSameProcess } from '../../runtime/support/signals.js';
import { formatTable } from '../output/table.js';
import { readRuntimeFile, type RuntimeComponent } from './runtime-file.js';

/**
 * The instances of a running `evented up --instances N`, as its runtime.json records them, each checked against
 * the live processes (by pid and start time): which are running, what roles they hold, where they listen. The
 * admin service answers for its own process only; this is how `evented status` shows all of them.
 */

export interface LocalInstance {
  name: string;
  pid: number;
  running: boolean;
  roles: string[];
  servers: Record<string, string>;
}

const isRunning = (component: RuntimeComponent): boolean =>
  component.stop?.how === 'signal' &&
  isSameProcess({ pid: component.stop.pid, startTime: component.stop.startTime });

/** The instances recorded in the project's runtime.json; none when `up` runs one runtime (or nothing runs). */
export const localInstances = (projectDir: string): LocalInstance[] =>
  (readRuntimeFile(projectDir)?.components ?? [])
    .filter((component) => component.kind === 'instance')
    .map((component) => ({
      name: component.name,
      pid: component.pid ?? 0,
      running: isRunning(component),
      roles: component.roles ?? [],
      servers: component.servers ?? {},
    }));

export const formatInstances = (instances: readonly LocalInstance[]): string =>
  formatTable(
    ['INSTANCE', 'PID', 'STATE', 'COMMANDS', 'QUERIES', 'ADMIN', 'ROLES'],
    instances.map((instance) => [
      instance.name,
      String(instance.pid),
      instance.running ? 'running' : 'not running',
      instance.servers.commands ?? '',
      instance.servers.queries ?? '',
      instance.servers.admin ?? '',
      instance.roles.join(','),
    ]),
  );
