import { StateError } from '../errors/index.js';

/**
 * Projectors and sagas of the project whose coordinators run in other processes: this one does not hold their
 * role (projectors, sagas). Their dead letters are in the store, so they can be listed and shown from here. A
 * projector's replay or rebuild runs here all the same (up/delivery.ts `replayOnly`: it pauses the processes that
 * deliver it); a saga's replay (its commands go out again, through the role command) and a dead letter's retry or
 * skip need a subscriber's coordinator: those are refused here with the role they need.
 */
export interface Elsewhere {
  projectors: readonly string[];
  sagas: readonly string[];
}

export type SubscriberKind = 'projector' | 'saga';

export const isElsewhere = (elsewhere: Elsewhere, kind: SubscriberKind, name: string): boolean =>
  (kind === 'projector' ? elsewhere.projectors : elsewhere.sagas).includes(name);

/**
 * FAILED_PRECONDITION, one line: which role must run `action` ("replay it", "retry its dead letters"), and that
 * this process (its roles) is not one of those.
 */
export const deliveredElsewhere = (
  kind: SubscriberKind,
  name: string,
  roles: readonly string[],
  action: string,
): StateError =>
  new StateError(
    `${kind} "${name}" is delivered by the processes holding the role ${kind}s, and this one holds ${roles.join(', ')}: ${action} through the admin service of a process holding both admin and ${kind}s (evented serve --role admin,${kind}s)`,
  );
