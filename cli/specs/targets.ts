import { relative } from 'node:path';
import type { ResolvedConfig, UserProcess } from '../../runtime/index.js';
import { UsageError } from '../errors.js';
import type { Target } from './spec.js';

/**
 * Where each spec's target listens, and the services to start for them: a target's address is the one evented.yaml
 * gives it (domains.NAME.businessLogic, sagas.NAME.address, projectors.NAME.address), unless --address NAME=HOST:PORT
 * points it elsewhere. A process of evented.yaml `processes` whose readyOn is a target's address is started as
 * `evented up` starts it (runtime/up/processes.ts: its own process group, its log in .evented/logs) when nothing
 * answers there yet, and stopped again when the run ends.
 */

const ADDRESS = /^[^\s=]+:\d{1,5}$/;

/** `--address NAME=HOST:PORT` flags, by name. */
export const parseAddressFlags = (flags: readonly string[]): Map<string, string> => {
  const addresses = new Map<string, string>();
  for (const flag of flags) {
    const at = flag.indexOf('=');
    const [name, address] = [flag.slice(0, at), flag.slice(at + 1)];
    if (at <= 0 || !ADDRESS.test(address)) {
      throw new UsageError(
        `--address ${flag}: expected NAME=HOST:PORT`,
        'name a domain, saga or projector of the specs, for example --address account=127.0.0.1:50051',
      );
    }
    addresses.set(name, address);
  }
  return addresses;
};

/** The address evented.yaml gives a target, or undefined. */
export const configuredAddress = (config: ResolvedConfig, target: Target): string | undefined => {
  if (target.kind === 'businessLogic') return config.domains[target.name]?.businessLogic;
  return (target.kind === 'saga' ? config.sagas : config.projectors)[target.name]?.address;
};

export const targetAddress = (
  config: ResolvedConfig,
  overrides: ReadonlyMap<string, string>,
  target: Target,
): string => overrides.get(target.name) ?? configuredAddress(config, target)!;

export interface StartedServices {
  /** The names of the processes started, in order. */
  readonly started: readonly string[];
  /** Stops what was started, in reverse order. */
  stop(): Promise<void>;
}

/**
 * Starts the processes serving `targets` (by evented.yaml's addresses; the --address ones are left alone) that
 * are not running yet, each waited for on its readyOn. On a failure, what was started is stopped before throwing.
 */
export const startServices = async (options: {
  config: ResolvedConfig;
  projectDir: string;
  targets: readonly Target[];
  overrides: ReadonlyMap<string, string>;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  onStart?: (name: string, log: string) => void;
}): Promise<StartedServices> => {
  const { config, projectDir } = options;
  const { acceptsConnections, spawnUserProcess, waitUntilReady } = await import('../../runtime/index.js');
  const wanted = new Set(
    options.targets
      .filter((target) => !options.overrides.has(target.name))
      .map((target) => configuredAddress(config, target)),
  );
  const children: UserProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) await child.stop();
  };
  try {
    for (const [name, process] of Object.entries(config.processes)) {
      if (!process.readyOn || !wanted.has(process.readyOn)) continue;
      if (await acceptsConnections(process.readyOn, 250)) continue;
      options.signal.throwIfAborted();
      const child = spawnUserProcess(name, process, projectDir, options.env);
      children.push(child);
      options.onStart?.(name, relative(projectDir, child.log));
      await waitUntilReady(child, process.command, 60_000, options.signal);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { started: children.map((child) => child.name), stop };
};
