import { createPostgresEventStore } from '../../runtime/store/postgres/index.js';
import type { EventStore } from '../../runtime/store/port.js';
import { scaleSettings, type Served } from './scale-setup.js';

/**
 * Who holds what among the benchmark's `evented serve` processes, read from their store as `evented status`
 * does: the relay lease (store.listLeases()) and each subscriber's partition claims (store.listClaims()), the
 * owner of each matched to a process by the pid in its process id (`host:pid:random`).
 */

const RELAY_LEASE = 'relay';

export interface Holders {
  /** The process holding the relay lease now, if one of `processes` does. */
  relay(processes: readonly Served[]): Promise<Served | undefined>;
  /** The live claims of `group` ("projector:NAME") by process: each process of `processes`, its partitions. */
  partitions(group: string, processes: readonly Served[]): Promise<Map<Served, number[]>>;
  close(): Promise<void>;
}

const pidOf = (processId: string): number | undefined => {
  const match = /:(\d+):[0-9a-f]+$/.exec(processId);
  return match === null ? undefined : Number(match[1]);
};

const byPid = (processes: readonly Served[], processId: string): Served | undefined =>
  processes.find((served) => served.process.pid === pidOf(processId));

export const openHolders = async (schema: string): Promise<Holders> => {
  const store: EventStore = await createPostgresEventStore({
    url: scaleSettings.postgresUrl,
    schema,
    poolSize: 2,
  });
  return {
    async relay(processes) {
      const lease = (await store.listLeases()).find((it) => it.name === RELAY_LEASE);
      return lease && byPid(processes, lease.holder);
    },
    async partitions(group, processes) {
      const now = Date.now();
      const held = new Map<Served, number[]>(processes.map((served) => [served, []]));
      for (const claim of await store.listClaims(group)) {
        const served = claim.expiresAt > now ? byPid(processes, claim.owner) : undefined;
        if (served !== undefined) held.get(served)!.push(claim.partition);
      }
      return held;
    },
    close: () => store.close(),
  };
};

/** "runtime 1: 0 3 5 …; runtime 2: …", for the printout. */
export const describeHeld = (held: ReadonlyMap<Served, readonly number[]>): string =>
  [...held].map(([served, partitions]) => `${served.process.name} ${partitions.length}`).join(', ');

/**
 * Whether every one of `partitions` is held by one of the processes and each holds its share (⌊P/N⌋ or one
 * more), as the balancing reaches once the claims of a process that died have expired.
 */
export const balanced = (held: ReadonlyMap<Served, readonly number[]>, partitions: number): boolean => {
  const counts = [...held.values()].map((it) => it.length);
  const share = Math.floor(partitions / Math.max(1, counts.length));
  return counts.reduce((a, b) => a + b, 0) === partitions && counts.every((count) => count >= share);
};
