/**
 * What `--store` and `--bus` accept, for a caller that checks its flags before anything starts (the CLI).
 * Dependency-free, so that checking them loads nothing of the runtime.
 */

export const STORE_FLAG = 'sqlite, mongo (an embedded MongoDB), a postgres:// URL or a mongodb:// URL';

/** The kind of store server a --store URL names, if it is one. */
export const storeServerKind = (url: string): 'postgres' | 'mongodb' | undefined =>
  /^postgres(ql)?:\/\//.test(url) ? 'postgres' : /^mongodb(\+srv)?:\/\//.test(url) ? 'mongodb' : undefined;

export const isStoreFlag = (request: string): boolean =>
  ['sqlite', 'mongo'].includes(request) || storeServerKind(request) !== undefined;

export const BUS_FLAG = 'memory, rabbitmq or an amqp:// URL';
export const isBusFlag = (request: string): boolean =>
  request === 'memory' || request === 'rabbitmq' || /^amqps?:\/\//.test(request);

/** What --role accepts (`evented serve`): see config/roles.ts. */
export { ROLES, holdsEveryRole, parseRoleList, type Role } from '../config/roles.js';

/** What `evented serve --store` and `--bus` accept: what is already running (nothing is started for serve). */
export const SERVE_STORE_FLAG = 'sqlite, a postgres:// URL or a mongodb:// URL';
export const SERVE_BUS_FLAG = 'memory or an amqp:// URL';

export const isServeStoreFlag = (request: string): boolean =>
  request === 'sqlite' || storeServerKind(request) !== undefined;
export const isServeBusFlag = (request: string): boolean =>
  request === 'memory' || /^amqps?:\/\//.test(request);
