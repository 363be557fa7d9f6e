import type { ResolvedConfig } from '../config/schema.js';
import { holdsEveryRole, ROLES, type Role } from '../config/roles.js';
import { ConfigError } from '../errors/index.js';

/**
 * Which process does what. A process holding every role is today's runtime; one holding some of them shares the
 * work with other processes through the store and the broker, so a split is refused, before anything starts, when
 * it could not work or would do something subtle:
 * - over SQLite or the in-process bus, which do not reach other machines (processes holding every role may still
 *   share one SQLite file on one machine: the store's concurrency control makes that safe);
 * - when the process handles commands but not the synchronous projectors or sagas its commands must run through;
 * - when it runs sagas without the command role and no `commandHandler.address` says where their output goes.
 */

/** The roles as a process names them: "command,query". */
export const roleList = (roles: readonly Role[]): string => roles.join(',');

const refuseSingleMachineSplit = (config: ResolvedConfig, roles: readonly Role[]): void => {
  const store = config.store.kind === 'sqlite';
  const bus = config.bus.kind === 'memory';
  if (!store && !bus) return;
  const why = [
    store && 'SQLite (store.kind: sqlite) is a file on one machine',
    bus && 'the in-process bus (bus.kind: memory) reaches only its own process',
  ].filter((it) => it !== false);
  const use = [store && 'PostgreSQL (store.kind: postgres)', bus && 'RabbitMQ (bus.kind: amqp)'].filter(
    (it) => it !== false,
  );
  throw new ConfigError(
    `roles ${roleList(roles)}: a process with some of the roles shares the work with other processes, but ${why.join(' and ')}: use ${use.join(' and ')}, or run every role in one process`,
  );
};

/** Synchronous projectors and sagas run inside command calls: a command process must hold their roles. */
const refuseCommandWithoutSynchronous = (config: ResolvedConfig, roles: readonly Role[]): void => {
  if (!roles.includes('command')) return;
  const kinds = [
    { role: 'projectors', kind: 'projector', section: 'projectors', subscribers: config.projectors },
    { role: 'sagas', kind: 'saga', section: 'sagas', subscribers: config.sagas },
  ] as const;
  for (const { role, kind, section, subscribers } of kinds) {
    if (roles.includes(role)) continue;
    const name = Object.entries(subscribers).find(([, it]) => it.synchronous)?.[0];
    if (name === undefined) continue;
    throw new ConfigError(
      `roles ${roleList(roles)}: the synchronous ${kind} "${name}" runs inside command calls, so a process holding the role command must hold the role ${role} too: add it (--role ${roleList(ROLES.filter((it) => it === role || roles.includes(it)))}), or set ${section}.${name}.synchronous: false`,
    );
  }
};

/** Sagas' output goes to a command handler: this process's own, or the one `commandHandler.address` names. */
const refuseSagasWithoutCommandHandler = (config: ResolvedConfig, roles: readonly Role[]): void => {
  if (!roles.includes('sagas') || roles.includes('command') || Object.keys(config.sagas).length === 0) return;
  if (config.commandHandler.address !== undefined) return;
  throw new ConfigError(
    `roles ${roleList(roles)}: the sagas' commands need a command handler, and this process does not hold the role command: set commandHandler.address to where the processes holding it are reachable (host:port)`,
  );
};

/** Throws a ConfigError (one line) when a process holding `roles` on `config` could not do its part. */
export const checkRoles = (config: ResolvedConfig, roles: readonly Role[]): void => {
  if (holdsEveryRole(roles)) return;
  refuseSingleMachineSplit(config, roles);
  refuseCommandWithoutSynchronous(config, roles);
  refuseSagasWithoutCommandHandler(config, roles);
};
