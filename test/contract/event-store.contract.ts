import { describe } from 'vitest';
import { appendContract } from './append.contract.js';
import { claimsContract } from './claims.contract.js';
import { commandLogContract } from './command-log.contract.js';
import { concurrencyContract } from './concurrency.contract.js';
import { deadLettersContract } from './dead-letters.contract.js';
import { deliveryContract } from './delivery.contract.js';
import { deliveryLogContract } from './delivery-log.contract.js';
import { leasesContract } from './leases.contract.js';
import { logContract } from './log.contract.js';
import { originContract } from './origin.contract.js';
import { pausesContract } from './pauses.contract.js';
import { readContract } from './read.contract.js';
import { storageFor, type StoreFactory } from './store-fixtures.js';

export type { StoreFactory, StoreStorage } from './store-fixtures.js';
export type { StoreOpener } from './writers.js';

/**
 * The event store contract: what every adapter of the EventStore port (runtime/store/port.ts) must do, run by
 * each adapter's integration test against real storage:
 *
 *   describeEventStoreContract('sqlite', { create: async () => ({ open, forChildProcess, cleanup }) });
 *
 * The factory gives each test fresh, isolated storage; the contract opens as many independent instances on it
 * as a test needs (separate connections or clients) and, through `forChildProcess`, writers in other processes
 * too. By topic:
 * - append.contract.ts: atomic books, the sequence rules, optimistic concurrency, snapshots;
 * - read.contract.ts: aggregate reads (bounds, order, exact round trips) and listing aggregates;
 * - log.contract.ts: the global log, checkpoints, close();
 * - concurrency.contract.ts: racing writers and a reader polling the global log while they write;
 * - delivery.contract.ts: subscriber progress, idempotency keys, append announcements;
 * - delivery-log.contract.ts: the calls that applied events, saved with the progress, listed and pruned;
 * - dead-letters.contract.ts: dead letters (idempotent puts, listing, decisions);
 * - leases.contract.ts: leases (one holder, lapse, release, fencing) and forward-only, fenced checkpoints.
 * - pauses.contract.ts: subscriber pauses (one holder at a time, expiry) and the deliverers' reports.
 * - claims.contract.ts: the process registry and partition claims.
 * - origin.contract.ts: each event's origin on every read, and a correlation's events (readCorrelation).
 * - command-log.contract.ts: the decision log (accepted commands logged by their append, the rest by logCommand).
 */
export const describeEventStoreContract = (name: string, factory: StoreFactory): void => {
  describe(`event store contract: ${name}`, () => {
    const storage = storageFor(factory);
    appendContract(storage.fresh);
    readContract(storage.fresh);
    logContract(storage.fresh);
    concurrencyContract(storage.fresh);
    deliveryContract(storage.fresh);
    deliveryLogContract(storage.fresh);
    deadLettersContract(storage.fresh);
    leasesContract(storage.fresh);
    pausesContract(storage.fresh);
    claimsContract(storage.fresh);
    originContract(storage.fresh);
    commandLogContract(storage.fresh);
  });
};
