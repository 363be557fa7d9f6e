import { ValidationError } from '../errors/index.js';
import type { Lease, LeaseGrant } from './port.js';

/**
 * The rules of LeaseStore (port.ts) that every adapter shares: what a request may be, and what a lease becomes
 * when an owner asks for it. The adapters differ only in how they make that decision atomic.
 */

/** The largest lease payload (what the holder says about itself: its address, its roles), in UTF-8 bytes. */
export const MAX_LEASE_PAYLOAD_BYTES = 4096;

/** Throws ValidationError for a request no store should take. */
export const checkLeaseRequest = (name: string, owner: string, ttlMs: number, payload: string): void => {
  if (name === '') throw new ValidationError('a lease needs a name');
  if (owner === '') throw new ValidationError(`lease ${name}: the owner is empty`);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
    throw new ValidationError(`lease ${name}: ttl ${ttlMs} is not a positive whole number of milliseconds`);
  const bytes = Buffer.byteLength(payload, 'utf8');
  if (bytes > MAX_LEASE_PAYLOAD_BYTES)
    throw new ValidationError(
      `lease ${name}: the payload is ${bytes} bytes; at most ${MAX_LEASE_PAYLOAD_BYTES} are kept`,
    );
};

/**
 * What the lease becomes when `owner` asks for it at `now`: renewed when it holds it, taken (with the next fencing
 * number) when nobody does — never held, lapsed, released, or held by a process known to be gone (`holderGone`) —
 * and left alone otherwise. `write` says whether the store must store `lease`.
 */
export const decideLease = (
  current: Lease | undefined,
  request: { name: string; owner: string; ttlMs: number; payload: string; now: number },
  holderGone = false,
): LeaseGrant & { write: boolean } => {
  const { name, owner, ttlMs, payload, now } = request;
  const live = current !== undefined && current.expiresAt > now;
  if (live && current.holder === owner)
    return { held: true, write: true, lease: { ...current, expiresAt: now + ttlMs, payload } };
  if (live && !holderGone) return { held: false, write: false, lease: current };
  const lease = {
    name,
    holder: owner,
    since: now,
    expiresAt: now + ttlMs,
    fencing: (current?.fencing ?? 0) + 1,
    payload,
  };
  return { held: true, write: true, lease };
};

/** The listeners of LeaseStore.onLeaseLost, for the adapters that learn of a loss between renewals. */
export const createLeaseLostListeners = (): {
  onLeaseLost(listener: (name: string) => void): () => void;
  lost(name: string): void;
} => {
  const listeners = new Set<(name: string) => void>();
  return {
    onLeaseLost(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    lost(name) {
      for (const listener of listeners) {
        try {
          listener(name);
        } catch {
          // A listener's failure is its own.
        }
      }
    },
  };
};

/** Stores that never learn of a loss between renewals answer onLeaseLost with this. */
export const noLeaseLostNews = (): (() => void) => () => undefined;
