import type { Logger } from 'pino';
import { messageOf } from '../errors/index.js';
import type { PartitionClaims } from '../store/port.js';
import { createKeyedLock } from '../support/keyed-lock.js';
import { createWakeup } from '../support/timing.js';
import { planBalance, shareOf } from './balance.js';
import type { PartitionedConsumer } from './partitions.js';

/**
 * Which partitions of each projector and saga this process delivers, agreed with the other processes through
 * the store (port.ts, PartitionClaims), like Axon's segment claims or Marten's daemon distribution:
 *
 * 1. Every `ttlMs / 3` the process beats its registry entry (id, roles) and learns the live processes; each
 *    subscriber's partitions are shared among those holding its role (balance.ts: ⌊P/N⌋ or one more).
 * 2. It renews its claims (each lasts `ttlMs`). A claim it failed to renew in time (the store out of reach, a
 *    stalled process) it stops delivering at once: by then another process may hold it.
 * 3. Beyond its share it gives partitions up: it stops delivering one (the call in flight finishes, or its batch
 *    goes back to the queue) BEFORE it releases the claim. Below its share it claims free partitions (never
 *    claimed, released, or expired: those of a process that died) and starts delivering them.
 *
 * A partition is delivered only while its claim is known to be held: every call checks that the last renewal is
 * younger than the claim's lifetime (less a margin), so a process that lost a claim makes no new call even
 * before it notices. Progress and dedupe are per aggregate in the store, so a partition that moves resumes
 * exactly where it was; RabbitMQ's single active consumer on each partition queue is the safety net.
 */

export interface ClaimsOptions {
  store: PartitionClaims;
  /** Unique among live processes (`host:pid:random`, support/process-id.ts). */
  processId: string;
  roles: readonly string[];
  /**
   * Each subscriber's partitions in this process, the role whose holders share them, and how its delivery stops
   * (the coordinator's stop: a call waiting for a service that is down gives up, so that stopping never hangs).
   */
  groups: readonly { consumer: PartitionedConsumer; role: string; stop(): Promise<void> }[];
  /** A claim's lifetime; renewed every third of it. */
  ttlMs: number;
  logger: Logger;
}

export interface Claims {
  /** Stops delivering every partition, releases the claims and leaves the registry. */
  stop(): Promise<void>;
}

interface GroupState {
  consumer: PartitionedConsumer;
  role: string;
  stop(): Promise<void>;
  /** Claimed by this process (being delivered, or about to be), with the time each claim is good until. */
  goodUntil: Map<number, number>;
  balancing: Promise<void> | undefined;
}

/** A call is made only this far inside the claim's lifetime: room for clocks and a slow store. */
const MARGIN = 0.1;

export const startClaims = async (options: ClaimsOptions): Promise<Claims> => {
  const { store, processId: me, ttlMs, logger } = options;
  const everyMs = Math.max(50, Math.floor(ttlMs / 3));
  const margin = Math.floor(ttlMs * MARGIN);
  const groups: GroupState[] = options.groups.map(({ consumer, role, stop }) => ({
    consumer,
    role,
    stop,
    goodUntil: new Map(),
    balancing: undefined,
  }));
  /** Renewals and releases of one group one at a time: a renewal never takes back a claim just released. */
  const lock = createKeyedLock();
  const wakeup = createWakeup();
  let stopping = false;

  const stillHeld = (group: GroupState, partition: number) => (): boolean =>
    Date.now() < (group.goodUntil.get(partition) ?? 0) - margin;

  /** Stops delivering a partition no longer held, without waiting (its calls already stopped: stillHeld). */
  const dropNow = (group: GroupState, partition: number): void => {
    group.consumer
      .drop(partition)
      .catch((err: unknown) =>
        logger.warn(
          { group: group.consumer.subscriber, partition, reason: messageOf(err) },
          'could not stop delivering',
        ),
      );
  };

  /** Claims this process can no longer vouch for: stop delivering them (their new holder delivers them). */
  const dropExpired = (group: GroupState): void => {
    const now = Date.now();
    for (const [partition, until] of group.goodUntil) {
      if (now < until - margin) continue;
      group.goodUntil.delete(partition);
      logger.warn(
        { group: group.consumer.subscriber, partition },
        'claim not renewed in time; stopped delivering',
      );
      dropNow(group, partition);
    }
  };

  const renew = (group: GroupState): Promise<void> =>
    lock.run(group.consumer.subscriber, async () => {
      const mine = [...group.goodUntil.keys()];
      if (mine.length === 0) return;
      const now = Date.now();
      const renewed = new Set(
        await store.claimPartitions(group.consumer.subscriber, me, mine, now, now + ttlMs),
      );
      for (const partition of mine) {
        if (renewed.has(partition)) {
          group.goodUntil.set(partition, now + ttlMs);
          continue;
        }
        group.goodUntil.delete(partition);
        logger.warn({ group: group.consumer.subscriber, partition }, 'claim lost to another process');
        dropNow(group, partition);
      }
    });

  const balance = async (group: GroupState, members: readonly string[]): Promise<void> => {
    const name = group.consumer.subscriber;
    const partitions = group.consumer.partitions;
    const plan = planBalance({
      held: [...group.goodUntil.keys()],
      claims: await store.listClaims(name),
      share: shareOf(members, me, partitions),
      partitions,
      now: Date.now(),
    });
    // Every surplus partition is told at once to stop (each stops after the call it has in flight, not after
    // those of the partitions released before it), and each claim is released once its partition has stopped.
    await Promise.all(
      plan.release.map(async (partition) => {
        await group.consumer.drop(partition);
        await lock.run(name, async () => {
          group.goodUntil.delete(partition);
          await store.releasePartitions(name, me, [partition]);
        });
      }),
    );
    if (plan.take.length === 0 || stopping) return;
    const taken = await lock.run(name, async () => {
      const now = Date.now();
      const granted = await store.claimPartitions(name, me, plan.take, now, now + ttlMs);
      for (const partition of granted) group.goodUntil.set(partition, now + ttlMs);
      return granted;
    });
    for (const partition of taken) {
      if (!stopping) await group.consumer.hold(partition, stillHeld(group, partition));
    }
    if (taken.length > 0 || plan.release.length > 0) {
      logger.info({ group: name, holds: group.consumer.held() }, 'partitions rebalanced');
    }
  };

  const tick = async (): Promise<void> => {
    for (const group of groups) dropExpired(group);
    const now = Date.now();
    const live = await store.beatProcess({ id: me, roles: [...options.roles], expiresAt: now + ttlMs }, now);
    for (const group of groups) {
      await renew(group);
      if (group.balancing !== undefined) continue;
      const members = live.filter((entry) => entry.roles.includes(group.role)).map((entry) => entry.id);
      group.balancing = balance(group, members)
        .catch((err: unknown) =>
          logger.warn(
            { group: group.consumer.subscriber, reason: messageOf(err) },
            'could not balance partitions',
          ),
        )
        .finally(() => (group.balancing = undefined));
    }
  };

  // The first round before returning: a process alone takes every partition at once.
  await tick();
  await Promise.all(groups.map((group) => group.balancing));

  const loop = (async () => {
    while (!stopping) {
      await wakeup.wait(everyMs);
      if (stopping) break;
      try {
        await tick();
      } catch (err) {
        logger.warn({ reason: messageOf(err) }, 'could not renew partition claims; trying again');
      }
    }
  })();

  return {
    async stop() {
      stopping = true;
      wakeup.notify();
      await loop;
      // Delivery stops first (a call waiting for a service that is down gives up), then the balancing in progress
      // ends, then the claims go.
      for (const group of groups) await group.stop();
      await Promise.all(groups.map((group) => group.balancing));
      for (const group of groups) {
        await group.consumer.stop();
        const mine = [...group.goodUntil.keys()];
        group.goodUntil.clear();
        await store
          .releasePartitions(group.consumer.subscriber, me, mine)
          .catch((err: unknown) =>
            logger.warn(
              { reason: messageOf(err) },
              'could not release partition claims; they expire by themselves',
            ),
          );
      }
      await store
        .removeProcess(me)
        .catch((err: unknown) =>
          logger.warn(
            { reason: messageOf(err) },
            'could not leave the process registry; the entry expires by itself',
          ),
        );
    },
  };
};
