import type { PartitionClaim } from '../store/port.js';

/**
 * The balancing arithmetic of partition claims (claims.ts), pure: how many partitions a process should hold,
 * and what to give up or try to take to get there.
 */

/**
 * The share of `me` among the live `members` (ids): ⌊P/N⌋, and one more for each of the first P mod N members
 * in id order, so that the shares add up to P exactly and every member computes the same ones. 0 when `me` is
 * not a member (not registered yet, or not holding the role).
 */
export const shareOf = (members: readonly string[], me: string, partitions: number): number => {
  const sorted = [...new Set(members)].sort();
  const index = sorted.indexOf(me);
  if (index < 0) return 0;
  const base = Math.floor(partitions / sorted.length);
  return base + (index < partitions % sorted.length ? 1 : 0);
};

export interface BalancePlan {
  /** Held beyond the share: the highest-numbered ones, to give up (stop delivering them first). */
  release: number[];
  /** Free partitions (never claimed, released, or expired) to try to take, lowest first, up to the share. */
  take: number[];
}

export const planBalance = (options: {
  /** The partitions this process holds. */
  held: readonly number[];
  /** Every claim of the group as the store has it. */
  claims: readonly PartitionClaim[];
  /** This process's share (shareOf). */
  share: number;
  partitions: number;
  now: number;
}): BalancePlan => {
  const held = [...new Set(options.held)].sort((a, b) => a - b);
  if (held.length > options.share) return { release: held.slice(options.share), take: [] };
  const taken = new Set(
    options.claims.filter((claim) => claim.expiresAt > options.now).map((claim) => claim.partition),
  );
  const mine = new Set(held);
  const free: number[] = [];
  for (let partition = 0; partition < options.partitions; partition += 1) {
    if (!taken.has(partition) && !mine.has(partition)) free.push(partition);
  }
  return { release: [], take: free.slice(0, options.share - held.length) };
};
