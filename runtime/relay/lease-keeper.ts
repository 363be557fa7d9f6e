import type { Logger } from 'pino';
import { messageOf } from '../errors/index.js';
import type { Lease, LeaseStore } from '../store/port.js';
import { createWakeup } from '../support/timing.js';

/**
 * Keeps the relay's lease: waits in standby until the store grants it, then renews it every third of its ttl,
 * off the publishing path. A term (one stretch of holding it) ends at once when a renewal is refused or fails,
 * when the store says the lease is lost (PostgreSQL: its lock connection dropped), or when the ttl since the last
 * successful renewal has passed on this process's clock without another: whoever holds a term may publish, and
 * nobody else.
 */

export interface LeaseTerm {
  /** The lease's fencing number during this term (a checkpoint saved under it is refused once it has changed). */
  readonly fencing: number;
  /** True once the term has ended. */
  readonly ended: boolean;
  /** Resolves when the term ends. */
  readonly whenEnded: Promise<void>;
}

export interface LeaseKeeper {
  /** Resolves with a new term once the lease is held, or undefined once stopped. */
  nextTerm(): Promise<LeaseTerm | undefined>;
  /** The lease as last seen: held by this process (a term is running) or by another, or by nobody. */
  view(): { active: boolean; lease: Lease | undefined };
  /** No new term: a nextTerm() waiting in standby resolves undefined. The term in progress goes on. */
  cancel(): void;
  /** Ends the term in progress and gives the lease up (another process takes it at once). After cancel(). */
  release(): Promise<void>;
}

export const createLeaseKeeper = (options: {
  store: LeaseStore;
  name: string;
  owner: string;
  ttlMs: number;
  /** What the holder says about itself (its roles, its address): shown with the lease. */
  payload: string;
  logger: Logger;
}): LeaseKeeper => {
  const { store, name, owner, ttlMs, payload, logger } = options;
  const everyMs = Math.max(1, Math.floor(ttlMs / 3));
  const stopped = createWakeup();
  let stopping = false;
  let lease: Lease | undefined;
  let endTerm: (() => void) | undefined;
  let hadTerm = false;
  const unsubscribe = store.onLeaseLost((lost) => {
    if (lost === name && endTerm) {
      logger.warn('relay lease lost: its lock connection to the store dropped; publishing stopped');
      endTerm();
    }
  });

  /** One stretch of holding the lease, from a grant to its end; renews until then. */
  const startTerm = (fencing: number, grantedAt: number): LeaseTerm => {
    let ended = false;
    let resolveEnded!: () => void;
    const whenEnded = new Promise<void>((resolve) => (resolveEnded = resolve));
    let deadline: NodeJS.Timeout;
    const end = (): void => {
      if (ended) return;
      ended = true;
      endTerm = undefined;
      clearTimeout(deadline);
      clearTimeout(renewal);
      resolveEnded();
    };
    const expireAt = (from: number): void => {
      clearTimeout(deadline);
      deadline = setTimeout(
        () => {
          logger.warn({ ttlMs }, 'relay lease not renewed within its ttl; publishing stopped');
          end();
        },
        Math.max(0, from + ttlMs - Date.now()),
      );
    };
    const renew = async (): Promise<void> => {
      const askedAt = Date.now();
      try {
        const grant = await store.acquireLease(name, owner, ttlMs, payload);
        lease = grant.lease;
        if (ended) return;
        if (!grant.held || grant.lease?.fencing !== fencing) {
          logger.warn(
            { holder: grant.lease?.holder },
            'relay lease taken by another process; publishing stopped',
          );
          return end();
        }
        expireAt(askedAt);
      } catch (err) {
        if (ended) return;
        logger.warn({ reason: messageOf(err) }, 'relay lease could not be renewed; publishing stopped');
        return end();
      }
      renewal = setTimeout(() => void renew(), everyMs);
    };
    let renewal = setTimeout(() => void renew(), everyMs);
    expireAt(grantedAt);
    endTerm = end;
    return {
      fencing,
      get ended() {
        return ended;
      },
      whenEnded,
    };
  };

  return {
    async nextTerm() {
      // After a term ends, a third of the ttl passes before asking again: a relay standing by elsewhere, healthy,
      // takes over rather than the one whose renewal or connection just failed.
      const again = hadTerm;
      if (again) await stopped.wait(everyMs);
      hadTerm = true;
      let waited = false;
      while (!stopping) {
        const askedAt = Date.now();
        try {
          const grant = await store.acquireLease(name, owner, ttlMs, payload);
          lease = grant.lease;
          if (grant.held && !stopping) {
            // Said when it is news: a takeover, or a lease taken again; a relay alone takes it at start, quietly.
            const level = waited || again ? 'info' : 'debug';
            logger[level]({ fencing: grant.lease!.fencing }, 'relay lease held: publishing');
            return startTerm(grant.lease!.fencing, askedAt);
          }
          if (!waited)
            logger.info(
              { holder: grant.lease?.holder },
              'relay standing by: another process holds the lease',
            );
        } catch (err) {
          logger.warn({ reason: messageOf(err) }, 'relay could not ask for its lease; asking again');
        }
        waited = true;
        await stopped.wait(everyMs);
      }
      return undefined;
    },

    view: () => ({ active: endTerm !== undefined, lease }),

    cancel() {
      stopping = true;
      stopped.notify();
    },

    async release() {
      unsubscribe();
      endTerm?.();
      // Also when no term runs: a grant may have come in while stopping. A release by a non-holder changes nothing.
      await store.releaseLease(name, owner).catch((err: unknown) => {
        logger.warn({ reason: messageOf(err) }, 'relay could not give its lease up; it lapses after its ttl');
      });
    },
  };
};
