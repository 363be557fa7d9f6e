import { describe, expect, it } from 'vitest';
import { planBalance, shareOf } from '../../runtime/subscriber/balance.js';
import type { PartitionClaim } from '../../runtime/store/port.js';

const claim = (partition: number, owner: string, expiresAt: number): PartitionClaim => ({
  group: 'projector:p',
  partition,
  owner,
  expiresAt,
  epoch: 1,
});

describe('shareOf', () => {
  it('splits P partitions over N processes so that the shares add up to P and differ by at most one', () => {
    for (const partitions of [1, 7, 16, 64]) {
      for (let n = 1; n <= 9; n += 1) {
        const members = Array.from({ length: n }, (_, i) => `host/${100 + i}`);
        const shares = members.map((me) => shareOf(members, me, partitions));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(partitions);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
        expect(Math.max(...shares)).toBe(Math.ceil(partitions / n));
      }
    }
  });

  it('is the same whatever order the members come in, and 0 for a process that is not a member', () => {
    expect(shareOf(['c', 'a', 'b'], 'a', 16)).toBe(6);
    expect(shareOf(['b', 'c', 'a'], 'c', 16)).toBe(5);
    expect(shareOf(['a', 'b'], 'z', 16)).toBe(0);
  });
});

describe('planBalance', () => {
  it('gives up the highest partitions beyond the share', () => {
    expect(planBalance({ held: [5, 1, 9, 3], claims: [], share: 2, partitions: 16, now: 0 })).toEqual({
      release: [5, 9],
      take: [],
    });
  });

  it('takes free partitions only: never claimed, released (expiry 0) or expired; not those another holds', () => {
    const claims = [
      claim(0, 'other', 2000),
      claim(1, 'other', 0),
      claim(2, 'other', 999),
      claim(3, 'me', 2000),
    ];
    expect(planBalance({ held: [3], claims, share: 4, partitions: 6, now: 1000 })).toEqual({
      release: [],
      take: [1, 2, 4],
    });
  });

  it('takes nothing when at its share, and no more than are free', () => {
    expect(planBalance({ held: [0, 1], claims: [], share: 2, partitions: 4, now: 0 }).take).toEqual([]);
    const claims = [claim(0, 'a', 10), claim(1, 'a', 10), claim(2, 'a', 10)];
    expect(planBalance({ held: [], claims, share: 3, partitions: 4, now: 0 }).take).toEqual([3]);
  });

  it('converges: processes that each follow the plan end up holding every partition once, at their shares', () => {
    const members = ['a', 'b', 'c'];
    const owner = new Map<number, string>();
    // a starts alone with all 16; b and c join.
    for (let p = 0; p < 16; p += 1) owner.set(p, 'a');
    for (let round = 0; round < 4; round += 1) {
      for (const me of members) {
        const held = [...owner].filter(([, o]) => o === me).map(([p]) => p);
        const claims = [...owner].map(([p, o]) => claim(p, o, 10));
        const plan = planBalance({ held, claims, share: shareOf(members, me, 16), partitions: 16, now: 0 });
        for (const p of plan.release) owner.delete(p);
        for (const p of plan.take) owner.set(p, me);
      }
    }
    expect(owner.size).toBe(16);
    const counts = members.map((me) => [...owner.values()].filter((o) => o === me).length);
    expect(counts).toEqual([6, 5, 5]);
  });
});
