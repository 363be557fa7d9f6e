import { describe, expect, it } from 'vitest';
import { createGroupCommit, type Outcome } from '../../runtime/store/group-commit.js';

/**
 * Group commit (runtime/store/group-commit.ts): appends that arrive together are written in one batch, one
 * batch at a time, and every item settles with its own outcome.
 */

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A writer that records its batches and doubles numbers; negative numbers fail on their own. */
const recordingWriter = (delayMs?: number) => {
  const batches: number[][] = [];
  let active = 0;
  let maxActive = 0;
  const write = async (items: number[]): Promise<Outcome<number>[]> => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    batches.push(items);
    if (delayMs !== undefined) await tick(delayMs);
    active -= 1;
    return items.map((n) =>
      n < 0 ? { ok: false, error: new Error(`bad ${n}`) } : { ok: true, value: n * 2 },
    );
  };
  return { batches, write, maxActive: () => maxActive };
};

describe('createGroupCommit', () => {
  it('writes items submitted together in one batch, in submit order', async () => {
    const writer = recordingWriter();
    const commit = createGroupCommit(writer.write);
    const results = await Promise.all([1, 2, 3, 4].map((n) => commit.submit(n)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(writer.batches).toEqual([[1, 2, 3, 4]]);
  });

  it('settles each item with its own outcome', async () => {
    const commit = createGroupCommit(recordingWriter().write);
    const results = await Promise.allSettled([1, -2, 3].map((n) => commit.submit(n)));
    expect(results[0]).toEqual({ status: 'fulfilled', value: 2 });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: new Error('bad -2') });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 6 });
  });

  it('works with a synchronous writer too', async () => {
    const batches: string[][] = [];
    const commit = createGroupCommit((items: string[]) => {
      batches.push(items);
      return items.map((value): Outcome<string> => ({ ok: true, value: value.toUpperCase() }));
    });
    expect(await Promise.all([commit.submit('a'), commit.submit('b')])).toEqual(['A', 'B']);
    expect(batches).toEqual([['a', 'b']]);
  });

  it('rejects the whole batch when the writer throws, and goes on with the next one', async () => {
    let fail = true;
    const commit = createGroupCommit((items: number[]): Outcome<number>[] => {
      if (fail) throw new Error('disk full');
      return items.map((value) => ({ ok: true, value }));
    });
    const failed = await Promise.allSettled([commit.submit(1), commit.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(failed.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : ''))).toEqual([
      'disk full',
      'disk full',
    ]);
    fail = false;
    expect(await commit.submit(3)).toBe(3);
  });

  it('rejects the whole batch when an asynchronous writer rejects', async () => {
    const commit = createGroupCommit(async (): Promise<Outcome<number>[]> => {
      await tick();
      throw new Error('connection lost');
    });
    await expect(Promise.all([commit.submit(1), commit.submit(2)])).rejects.toThrow('connection lost');
  });

  it('splits a burst into batches of at most maxBatch, keeping the order', async () => {
    const writer = recordingWriter();
    const commit = createGroupCommit(writer.write, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => commit.submit(n)))).toEqual([2, 4, 6, 8, 10]);
    expect(writer.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('never runs two batches at once, and loses nothing submitted while a batch is being written', async () => {
    const writer = recordingWriter(5);
    const commit = createGroupCommit(writer.write);
    const first = [1, 2].map((n) => commit.submit(n));
    await tick(1);
    const second = [3, 4, 5].map((n) => commit.submit(n));
    await tick(1);
    const third = [6].map((n) => commit.submit(n));

    expect(await Promise.all([...first, ...second, ...third])).toEqual([2, 4, 6, 8, 10, 12]);
    expect(writer.maxActive()).toBe(1);
    expect(writer.batches.flat()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(writer.batches[0]).toEqual([1, 2]);
    expect(writer.batches.length).toBeLessThan(6);
  });

  it('starts again after going idle', async () => {
    const writer = recordingWriter();
    const commit = createGroupCommit(writer.write);
    expect(await commit.submit(1)).toBe(2);
    await tick(5);
    expect(await commit.submit(2)).toBe(4);
    expect(writer.batches).toEqual([[1], [2]]);
  });

  describe('drain', () => {
    it('resolves at once when nothing is pending', async () => {
      const writer = recordingWriter();
      await createGroupCommit(writer.write).drain();
      expect(writer.batches).toEqual([]);
    });

    it('resolves only after everything submitted so far is written', async () => {
      const writer = recordingWriter(5);
      const commit = createGroupCommit(writer.write, 2);
      const settled: number[] = [];
      const submitted = [1, 2, 3, 4, 5].map((n) => commit.submit(n).then(() => settled.push(n)));
      await tick(1);
      const late = commit.submit(6).then(() => settled.push(6));

      await commit.drain();

      expect(writer.batches.flat()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(writer.maxActive()).toBe(1);
      await Promise.all([...submitted, late]);
      expect(settled.sort()).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('resolves even when the writer failed', async () => {
      const commit = createGroupCommit((): Outcome<number>[] => {
        throw new Error('broken');
      });
      const submitted = commit.submit(1).catch((error: unknown) => error);
      await commit.drain();
      expect(await submitted).toEqual(new Error('broken'));
    });
  });
});
