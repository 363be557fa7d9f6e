/**
 * The roles a runtime process may hold. One process holds all of them by default; a deployment that outgrows it
 * runs each role in processes of its own, on one store and one broker (runtime/up/roles.ts says what each role
 * starts and which splits are refused). Dependency-free, so that the CLI checks `--role` before loading anything.
 *
 * - command: the command handler (evented.BusinessCoordinator) and the business logic clients;
 * - query: the query handler (evented.EventQuery);
 * - relay: the outbox relay, store → bus;
 * - projectors: the projector coordinators (consuming the bus) and evented.ProjectorCoordinator;
 * - sagas: the saga coordinators and evented.SagaCoordinator;
 * - admin: evented.Admin (status, tail, replay, dead letters).
 */
export const ROLES = ['command', 'query', 'relay', 'projectors', 'sagas', 'admin'] as const;

export type Role = (typeof ROLES)[number];

export const isRole = (text: string): text is Role => (ROLES as readonly string[]).includes(text);

/** Whether `roles` is every role: one process doing all of the work, as `evented up` runs it. */
export const holdsEveryRole = (roles: readonly Role[]): boolean =>
  ROLES.every((role) => roles.includes(role));

/**
 * `--role command,query`: the roles, in the canonical order, or the names that are not roles. An empty list (or
 * only commas) names no role and is refused like an unknown one.
 */
export const parseRoleList = (text: string): { roles: Role[] } | { unknown: string[] } => {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !isRole(name));
  if (unknown.length > 0 || names.length === 0) return { unknown };
  return { roles: ROLES.filter((role) => names.includes(role)) };
};
