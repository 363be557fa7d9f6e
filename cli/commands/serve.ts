import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_CONSUL_PREFIX } from '../../runtime/config/sources/consul-defaults.js';
import type { Runtime } from '../../runtime/index.js';
import {
  holdsEveryRole,
  isServeBusFlag,
  isServeStoreFlag,
  parseRoleList,
  ROLES,
  SERVE_BUS_FLAG,
  SERVE_STORE_FLAG,
  type Role,
} from '../../runtime/up/flags.js';
import type { CliContext } from '../context.js';
import { InterruptedError, UsageError } from '../errors.js';
import { version } from '../version.js';
import { findProjectDir } from '../local/project.js';

/**
 * The line `serve` prints once every server listens (tests and scripts wait for it). A process holding every
 * role says where commands and queries go; one holding some says its roles and each server it runs.
 */
const servingLine = (name: string, runtime: Runtime): string => {
  const store = `store ${runtime.store.kind} at ${runtime.store.location}`;
  const { commandHandler, queryHandler } = runtime;
  if (holdsEveryRole(runtime.roles) && commandHandler && queryHandler) {
    return `evented serving ${name}: commands on ${commandHandler.address}, queries on ${queryHandler.address}, ${store}`;
  }
  const servers = Object.entries({
    commands: commandHandler,
    queries: queryHandler,
    projectors: runtime.projectorCoordinator,
    sagas: runtime.sagaCoordinator,
    admin: runtime.admin,
    health: runtime.health,
  }).flatMap(([label, server]) => (server ? [`${label} on ${server.address}`] : []));
  return `evented serving ${name} as ${runtime.roles.join(',')}: ${[...servers, store].join(', ')}`;
};

/** The second line of `serve`: the admin service (what the CLI talks to), the bus, and who receives events. */
const describeDelivery = (runtime: Runtime): string => {
  const { bus, projectors, sagas } = runtime.deliveryStatus();
  const names = (list: { name: string }[]): string =>
    list.length === 0 ? 'none' : list.map((it) => it.name).join(', ');
  return [
    runtime.admin && holdsEveryRole(runtime.roles) && `admin on ${runtime.admin.address}`,
    runtime.metrics && `metrics on ${runtime.metrics.url}`,
    runtime.console && `console on ${runtime.console.url}`,
    bus && `bus ${bus.kind} (${bus.location})`,
    runtime.roles.includes('projectors') && `projectors: ${names(projectors)}`,
    runtime.roles.includes('sagas') && `sagas: ${names(sagas)}`,
  ]
    .filter((part) => typeof part === 'string')
    .join('; ');
};

/** `--role command,query`: the roles, or a usage error naming what is not one. */
const rolesOf = (text: string): Role[] => {
  const parsed = parseRoleList(text);
  if ('roles' in parsed) return parsed.roles;
  const what =
    parsed.unknown.length === 0
      ? 'name at least one role'
      : `unknown role${parsed.unknown.length > 1 ? 's' : ''} ${parsed.unknown.map((it) => `"${it}"`).join(', ')}`;
  throw new UsageError(`--role ${text}: ${what}; the roles are ${ROLES.join(', ')}`);
};

interface ServeOptions {
  /** Read the configuration from Consul KV (written by `evented load-config`) instead of evented.yaml. */
  consul?: string;
  prefix: string;
  name?: string;
  /** The roles of this process, comma-separated (else `roles` in the configuration, else every role). */
  role?: string;
  /** Another configuration file than the project's evented.yaml. */
  config?: string;
  /** The store and the broker instead of the configuration's (how `evented up --instances` runs its instances). */
  store?: string;
  bus?: string;
  portOffset?: string;
}

/** --store, --bus and --port-offset, checked before anything is loaded. */
const serveFlags = (options: ServeOptions): { store?: string; bus?: string; portOffset?: number } => {
  if (options.store !== undefined && !isServeStoreFlag(options.store)) {
    throw new UsageError(`--store ${options.store}: expected ${SERVE_STORE_FLAG}`);
  }
  if (options.bus !== undefined && !isServeBusFlag(options.bus)) {
    throw new UsageError(`--bus ${options.bus}: expected ${SERVE_BUS_FLAG}`);
  }
  const portOffset = options.portOffset === undefined ? undefined : Number(options.portOffset);
  if (portOffset !== undefined && (!Number.isInteger(portOffset) || portOffset < 0)) {
    throw new UsageError(`--port-offset ${options.portOffset}: expected a whole number, 0 or more`);
  }
  return { store: options.store, bus: options.bus, portOffset };
};

/** `evented serve [dir]`: runs the framework services of a project in the foreground until interrupted. */
export const registerServe = (program: Command, context: CliContext): void => {
  program
    .command('serve')
    .description('run the runtime of a project (every role, or those of --role) in the foreground')
    .argument('[dir]', 'the project folder, holding evented.yaml', '.')
    .option('--consul <url>', 'read the configuration from Consul KV at this agent instead of evented.yaml')
    .option('--prefix <prefix>', 'with --consul: the KV prefix the project is under', DEFAULT_CONSUL_PREFIX)
    .option('--name <project>', 'with --consul: the project under the prefix (default: the only one there)')
    .addOption(
      new Option(
        '--role <roles>',
        `what this process runs, comma-separated: ${ROLES.join(', ')} (default: roles in the configuration, else all)`,
      ).env('EVENTED_ROLE'),
    )
    .option('--config <file>', "read this configuration file instead of the project folder's evented.yaml")
    .addOption(
      new Option('--store <store>', `the store instead of the configuration's: ${SERVE_STORE_FLAG}`).env(
        'EVENTED_SERVE_STORE',
      ),
    )
    .addOption(
      new Option('--bus <bus>', `the bus instead of the configuration's: ${SERVE_BUS_FLAG}`).env(
        'EVENTED_SERVE_BUS',
      ),
    )
    .addOption(
      new Option(
        '--port-offset <n>',
        'add n to every port of the configuration (0 stays any free port): a second process on one machine',
      ).env('EVENTED_PORT_OFFSET'),
    )
    .addHelpText(
      'after',
      `
Examples:
  evented serve ./bank     # Ctrl-C drains in-flight calls and stops
  evented serve ./bank --consul http://127.0.0.1:8500 --name bank   # configuration from evented load-config
  evented serve ./bank --role command,query   # on PostgreSQL and RabbitMQ; other processes run the other roles
  evented serve ./bank --store postgres://127.0.0.1/bank --bus amqp://127.0.0.1 --port-offset 10   # a second one
`,
    )
    .action(async (dir: string, options: ServeOptions) => {
      const roles = options.role === undefined ? undefined : rolesOf(options.role);
      const flags = serveFlags(options);
      const projectDir = findProjectDir(context.cwd, dir);
      const { applyServeFlags, readConfigFile, readConfigFromConsul, startRuntime } =
        await import('../../runtime/index.js');
      const file =
        options.config === undefined
          ? join(projectDir, 'evented.yaml')
          : resolve(context.cwd, options.config);
      // SIGTERM or Ctrl-C while loading stops there, without serving (a large configuration takes seconds).
      const read = await (
        options.consul
          ? readConfigFromConsul(options.consul, options.prefix, options.name)
          : readConfigFile(file, { signal: context.signal })
      ).catch((err: unknown) => {
        throw context.signal.aborted ? new InterruptedError() : err;
      });
      const config = applyServeFlags(read, flags);
      if (context.signal.aborted) throw new InterruptedError();
      const runtime = await startRuntime(config, { projectDir, version, roles, env: context.env });
      if (context.signal.aborted) {
        await runtime.close();
        throw new InterruptedError();
      }
      context.stdout.write(`${servingLine(config.name, runtime)}\n`);
      const delivery = describeDelivery(runtime);
      if (delivery !== '') context.stdout.write(`  ${delivery}\n`);
      await new Promise<void>((done) =>
        context.signal.addEventListener('abort', () => done(), { once: true }),
      );
      await runtime.close();
    });
};
