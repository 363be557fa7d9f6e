import { describe, expect, it } from 'vitest';
import type { Given } from './store-fixtures.js';

/**
 * What partitioned delivery needs from a store (port.ts, PartitionClaims): a registry of live processes, and
 * claims on partitions that one owner holds at a time until they expire or are released, seen alike by every
 * instance (every process) on the storage.
 */
export const claimsContract = (fresh: () => Promise<Given>): void => {
  describe('process registry', () => {
    it('answers the live processes, the beating one included, and forgets those whose beat expired', async () => {
      const { store, open } = await fresh();
      const other = await open();
      expect(
        await store.beatProcess({ id: 'a/1', roles: ['projectors', 'sagas'], expiresAt: 5000 }, 1000),
      ).toEqual([{ id: 'a/1', roles: ['projectors', 'sagas'], expiresAt: 5000 }]);
      const seen = await other.beatProcess({ id: 'b/2', roles: ['projectors'], expiresAt: 6000 }, 1500);
      expect(seen.map((p) => p.id)).toEqual(['a/1', 'b/2']);
      // a/1 does not beat again: at 5000 it is gone.
      expect(
        (await other.beatProcess({ id: 'b/2', roles: ['projectors'], expiresAt: 9000 }, 5000)).map(
          (p) => p.id,
        ),
      ).toEqual(['b/2']);
      await other.removeProcess('b/2');
      expect(
        (await store.beatProcess({ id: 'a/1', roles: [], expiresAt: 9000 }, 6000)).map((p) => p.id),
      ).toEqual(['a/1']);
    });
  });

  describe('partition claims', () => {
    it('gives a free partition to one owner until it expires; its owner renews it; then another may take it', async () => {
      const { store, open } = await fresh();
      const other = await open();
      expect(await store.claimPartitions('projector:p', 'a', [0, 1, 2], 1000, 6000)).toEqual([0, 1, 2]);
      // Held: b gets only what is free.
      expect(await other.claimPartitions('projector:p', 'b', [1, 2, 3], 2000, 7000)).toEqual([3]);
      // a renews 0 and 1 only; 2 expires at 6000.
      expect(await store.claimPartitions('projector:p', 'a', [0, 1], 5000, 10_000)).toEqual([0, 1]);
      expect(await other.claimPartitions('projector:p', 'b', [0, 1, 2], 6000, 11_000)).toEqual([2]);
      const claims = await store.listClaims('projector:p');
      expect(claims.map(({ partition, owner, expiresAt }) => [partition, owner, expiresAt])).toEqual([
        [0, 'a', 10_000],
        [1, 'a', 10_000],
        [2, 'b', 11_000],
        [3, 'b', 7000],
      ]);
      // The epoch grows when a partition changes hands, not when its owner renews.
      const epochs = new Map(claims.map((c) => [c.partition, c.epoch]));
      expect(epochs.get(0)).toBe(epochs.get(3));
      expect(epochs.get(2)).toBe(epochs.get(0)! + 1);
    });

    it('keeps groups apart, and lists every group', async () => {
      const { store } = await fresh();
      await store.claimPartitions('projector:p', 'a', [0], 1000, 6000);
      expect(await store.claimPartitions('saga:s', 'b', [0], 1000, 6000)).toEqual([0]);
      expect((await store.listClaims()).map((c) => [c.group, c.partition, c.owner])).toEqual([
        ['projector:p', 0, 'a'],
        ['saga:s', 0, 'b'],
      ]);
    });

    it('lets others take a released partition at once; a release by another owner changes nothing', async () => {
      const { store, open } = await fresh();
      const other = await open();
      await store.claimPartitions('projector:p', 'a', [0, 1], 1000, 60_000);
      await other.releasePartitions('projector:p', 'b', [0]);
      expect(await other.claimPartitions('projector:p', 'b', [0], 2000, 61_000)).toEqual([]);
      await store.releasePartitions('projector:p', 'a', [0]);
      expect(await other.claimPartitions('projector:p', 'b', [0, 1], 2000, 61_000)).toEqual([0]);
    });

    it('gives each partition to exactly one of many owners claiming it at once', async () => {
      const { open } = await fresh();
      const instances = await Promise.all(Array.from({ length: 4 }, () => open()));
      const granted = await Promise.all(
        instances.map((instance, index) =>
          instance.claimPartitions('projector:race', `owner-${index}`, [...Array(16).keys()], 1000, 60_000),
        ),
      );
      const all = granted.flat().sort((a, b) => a - b);
      expect(all).toEqual([...Array(16).keys()]);
      const claims = await instances[0]!.listClaims('projector:race');
      for (const [index, partitions] of granted.entries()) {
        for (const partition of partitions) expect(claims[partition]!.owner).toBe(`owner-${index}`);
      }
    });
  });
};
