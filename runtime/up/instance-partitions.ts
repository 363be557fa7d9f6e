import type { EventStore, PartitionClaim } from '../store/port.js';
import { formatRanges } from '../support/ranges.js';
import type { ComponentState } from './environment.js';

/**
 * `evented up --instances N` shows which partitions each instance holds, and shows them move when one dies or
 * joins: every second the store's claims (what every instance shares) are read and each instance's component gets
 * its `partitions` ("accounts 0-4,10; transfers 0-4,10"), reported only when it changed.
 */

/** The pid in a process id (host:pid:random: support/process-id.ts). */
const pidOf = (id: string): number | undefined => {
  const match = /:(\d+):[0-9a-f]+$/.exec(id);
  return match === null ? undefined : Number(match[1]);
};

/** What each process holds now, by pid, as the claims say: "accounts 0-4,10; transfers 5-9". */
export const partitionsByPid = (claims: readonly PartitionClaim[], now: number): Map<number, string> => {
  const held = new Map<number, Map<string, number[]>>();
  for (const claim of claims) {
    const pid = pidOf(claim.owner);
    if (claim.expiresAt <= now || pid === undefined) continue;
    const groups = held.get(pid) ?? new Map<string, number[]>();
    held.set(pid, groups);
    const name = claim.group.replace(/^(projector|saga):/, '');
    groups.set(name, [...(groups.get(name) ?? []), claim.partition]);
  }
  return new Map(
    [...held].map(([pid, groups]) => [
      pid,
      [...groups]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, partitions]) => `${name} ${formatRanges(partitions)}`)
        .join('; '),
    ]),
  );
};

/** Starts the watch; returns how to stop it (before the store closes). */
export const watchInstancePartitions = (options: {
  store: EventStore;
  instances: () => readonly ComponentState[];
  update: (name: string, change: Partial<ComponentState>) => void;
  everyMs?: number;
}): (() => void) => {
  const timer = setInterval(() => {
    options.store.listClaims().then(
      (claims) => {
        const byPid = partitionsByPid(claims, Date.now());
        for (const instance of options.instances()) {
          const partitions = (instance.pid !== undefined && byPid.get(instance.pid)) || '';
          if ((instance.partitions ?? '') !== partitions) options.update(instance.name, { partitions });
        }
      },
      // The store did not answer this once: what is shown stays until the next read.
      () => undefined,
    );
  }, options.everyMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
};
