import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../runtime/errors/index.js';
import { MAX_LEASE_PAYLOAD_BYTES } from '../../runtime/store/lease.js';
import { eventually } from '../helpers/eventually.js';
import { range, rejectionOf, type Given } from './store-fixtures.js';

/**
 * Leases (LeaseStore in runtime/store/port.ts): at most one owner holds a lease at a time, whichever instances
 * race for it; a lease that is not renewed lapses and goes to the next owner with a greater fencing number; a
 * release frees it at once; the payload is bounded. And the checkpoint a lease holder saves never moves back, and
 * a save fenced by a fencing number that is no longer the lease's changes nothing.
 */
export const leasesContract = (fresh: () => Promise<Given>): void => {
  describe('leases', () => {
    it('of owners racing on separate instances, exactly one holds the lease, and every instance lists it', async () => {
      const { store, open } = await fresh();
      const stores = [store, await open(), await open()];
      for (const round of range(0, 5)) {
        const name = `race-${round}`;
        const grants = await Promise.all(
          range(0, 6).map((i) =>
            stores[i % stores.length]!.acquireLease(name, `owner-${i}`, 10_000, `p${i}`),
          ),
        );
        const winners = grants.filter((grant) => grant.held);
        expect(winners).toHaveLength(1);
        const winner = winners[0]!.lease!;
        // A loser sees the winner, or (PostgreSQL: the winner holds the lock but has not written its row yet) nobody.
        for (const grant of grants)
          if (grant.lease !== undefined)
            expect(grant.lease).toMatchObject({ holder: winner.holder, fencing: winner.fencing });
        for (const each of stores)
          expect((await each.listLeases()).filter((lease) => lease.name === name)).toEqual([winner]);
        expect(winner.payload).toBe(`p${winner.holder.split('-')[1]}`);
      }
    });

    it('renews for its holder (same fencing, later expiry, new payload) and stays refused to others', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const first = await store.acquireLease('relay', 'a', 10_000, 'one');
      expect(first).toMatchObject({ held: true, lease: { name: 'relay', holder: 'a', payload: 'one' } });
      expect(first.lease!.expiresAt - first.lease!.since).toBeGreaterThanOrEqual(9_000);
      await new Promise((resolve) => setTimeout(resolve, 20));

      const renewed = await store.acquireLease('relay', 'a', 10_000, 'two');
      expect(renewed).toMatchObject({
        held: true,
        lease: { holder: 'a', fencing: first.lease!.fencing, payload: 'two' },
      });
      expect(renewed.lease!.since).toBe(first.lease!.since);
      expect(renewed.lease!.expiresAt).toBeGreaterThan(first.lease!.expiresAt);

      const refused = await other.acquireLease('relay', 'b', 10_000);
      expect(refused).toMatchObject({ held: false, lease: { holder: 'a', fencing: first.lease!.fencing } });
      expect(await other.listLeases()).toEqual([renewed.lease]);
    });

    it('lapses when its holder stops renewing: another owner takes it with a greater fencing number', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const first = await store.acquireLease('relay', 'a', 300);
      expect(first.held).toBe(true);
      expect((await other.acquireLease('relay', 'b', 300)).held).toBe(false);

      const taken = await eventually(async () => {
        const grant = await other.acquireLease('relay', 'b', 10_000);
        expect(grant.held).toBe(true);
        return grant;
      }, 5_000);

      expect(taken.lease!.fencing).toBeGreaterThan(first.lease!.fencing);
      expect(await store.acquireLease('relay', 'a', 10_000)).toMatchObject({
        held: false,
        lease: { holder: 'b', fencing: taken.lease!.fencing },
      });
      expect((await store.listLeases()).map((lease) => lease.holder)).toEqual(['b']);
    });

    it('is free at once after its holder releases it; a release by another owner changes nothing', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const first = await store.acquireLease('relay', 'a', 60_000);
      await other.releaseLease('relay', 'b');
      await store.releaseLease('relay', 'b');
      expect((await other.acquireLease('relay', 'b', 60_000)).held).toBe(false);

      await store.releaseLease('relay', 'a');
      expect(await store.listLeases()).toEqual([]);
      const taken = await other.acquireLease('relay', 'b', 60_000);
      expect(taken.held).toBe(true);
      expect(taken.lease!.fencing).toBeGreaterThan(first.lease!.fencing);
      expect((await other.listLeases()).map((lease) => [lease.name, lease.holder])).toEqual([['relay', 'b']]);
    });

    it('keeps leases of different names apart, listed in name order', async () => {
      const { store, open } = await fresh();
      const other = await open();
      expect((await store.acquireLease('relay', 'a', 60_000)).held).toBe(true);
      expect((await other.acquireLease('partition-1', 'b', 60_000)).held).toBe(true);
      expect((await store.listLeases()).map((lease) => [lease.name, lease.holder])).toEqual([
        ['partition-1', 'b'],
        ['relay', 'a'],
      ]);
    });

    it(`takes a payload of up to ${MAX_LEASE_PAYLOAD_BYTES} bytes and refuses more, and a ttl that is not a positive integer`, async () => {
      const { store } = await fresh();
      const most = 'é'.repeat(MAX_LEASE_PAYLOAD_BYTES / 2);
      expect((await store.acquireLease('relay', 'a', 60_000, most)).lease!.payload).toBe(most);

      const tooLarge = await rejectionOf(store.acquireLease('relay', 'a', 60_000, `${most}x`));
      expect(tooLarge).toBeInstanceOf(ValidationError);
      expect((tooLarge as Error).message).toBe(
        `lease relay: the payload is ${MAX_LEASE_PAYLOAD_BYTES + 1} bytes; at most ${MAX_LEASE_PAYLOAD_BYTES} are kept`,
      );
      for (const ttl of [0, -1, 1.5, Number.NaN])
        expect(await rejectionOf(store.acquireLease('relay', 'a', ttl))).toBeInstanceOf(ValidationError);
      // The refused calls changed nothing.
      expect((await store.listLeases()).map((lease) => lease.payload)).toEqual([most]);
    });
  });

  describe('checkpoints saved under a lease', () => {
    it('never move back: a late save of an older position changes nothing', async () => {
      const { store, open } = await fresh();
      const other = await open();
      await store.saveCheckpoint('relay', 100);
      await other.saveCheckpoint('relay', 40);
      expect(await store.getCheckpoint('relay')).toBe(100);
      await other.saveCheckpoint('relay', 101);
      expect(await store.getCheckpoint('relay')).toBe(101);
    });

    it('are a no-op when fenced by a holder that has lost the lease since, and saved for the holder', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const stale = await store.acquireLease('relay', 'a', 60_000);
      await store.saveCheckpoint('relay', 10, { lease: 'relay', fencing: stale.lease!.fencing });
      expect(await store.getCheckpoint('relay')).toBe(10);
      await store.releaseLease('relay', 'a');
      const current = await other.acquireLease('relay', 'b', 60_000);

      // The old holder's late save, even of a later position, is refused: its fencing number is not the lease's.
      await store.saveCheckpoint('relay', 50, { lease: 'relay', fencing: stale.lease!.fencing });
      expect(await other.getCheckpoint('relay')).toBe(10);
      // A fenced save of a checkpoint that does not exist yet is refused the same way.
      await store.saveCheckpoint('other', 5, { lease: 'relay', fencing: stale.lease!.fencing });
      expect(await other.getCheckpoint('other')).toBe(0);

      await other.saveCheckpoint('relay', 20, { lease: 'relay', fencing: current.lease!.fencing });
      expect(await store.getCheckpoint('relay')).toBe(20);
    });
  });
};
