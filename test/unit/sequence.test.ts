import { describe, expect, it } from 'vitest';
import { ConcurrencyConflictError, SequenceError, ValidationError } from '../../runtime/errors/index.js';
import { assertExpectedNext, assertSnapshotFits, assignSequences } from '../../runtime/store/sequence.js';
import type { NewEvent } from '../../runtime/store/port.js';

/** The sequence rules every store adapter and the command handler share (runtime/store/sequence.ts). */

const AGGREGATE = 'orders:7f1c2a34-0000-4000-8000-000000000001';
const num = (n: number): NewEvent => ({ num: n, event: undefined, synchronous: false });
const force: NewEvent = { force: true, event: undefined, synchronous: false };
const bare: NewEvent = { event: undefined, synchronous: false };

const thrown = (call: () => unknown): Error => {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
};

describe('assignSequences', () => {
  it('numbers nothing for no pages', () => {
    expect(assignSequences([], 4, AGGREGATE)).toEqual([]);
  });

  it('accepts explicit nums that continue from next', () => {
    expect(assignSequences([num(0), num(1), num(2)], 0, AGGREGATE)).toEqual([0, 1, 2]);
    expect(assignSequences([num(5), num(6)], 5, AGGREGATE)).toEqual([5, 6]);
  });

  it('gives forced pages the next sequence', () => {
    expect(assignSequences([force], 0, AGGREGATE)).toEqual([0]);
    expect(assignSequences([force, force, force], 3, AGGREGATE)).toEqual([3, 4, 5]);
  });

  it('mixes num and force: "0, force, force" is 0, 1, 2, and a num after force must be next', () => {
    expect(assignSequences([num(0), force, force], 0, AGGREGATE)).toEqual([0, 1, 2]);
    expect(assignSequences([force, num(3), force], 2, AGGREGATE)).toEqual([2, 3, 4]);
    const error = thrown(() => assignSequences([num(0), force, num(1)], 0, AGGREGATE));
    expect(error).toBeInstanceOf(SequenceError);
    expect(error.message).toBe(`pages[2].num is 1, but the next sequence of ${AGGREGATE} is 2`);
  });

  it('rejects a num that is not next, naming the page, the aggregate and what was expected', () => {
    const error = thrown(() => assignSequences([num(3), num(4), num(6)], 3, AGGREGATE));
    expect(error).toBeInstanceOf(SequenceError);
    expect(error.message).toBe(`pages[2].num is 6, but the next sequence of ${AGGREGATE} is 5`);
    expect((error as SequenceError).hint).toMatch(/force/);
    expect((error as SequenceError).code).toBe('EVENTED_SEQUENCE');
  });

  it('rejects a num behind next (a page already stored) and one ahead of it', () => {
    expect(thrown(() => assignSequences([num(1)], 2, AGGREGATE)).message).toMatch(
      /^pages\[0\]\.num is 1,.* is 2$/,
    );
    expect(thrown(() => assignSequences([num(3)], 2, AGGREGATE)).message).toMatch(
      /^pages\[0\]\.num is 3,.* is 2$/,
    );
  });

  it('rejects a page with neither num nor force as malformed', () => {
    const error = thrown(() => assignSequences([force, bare], 0, AGGREGATE));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('pages[1].sequence is not set: set num (an explicit sequence) or force');
    expect(thrown(() => assignSequences([{ ...bare, force: false }], 0, AGGREGATE))).toBeInstanceOf(
      ValidationError,
    );
  });

  it('takes num 0 as an explicit sequence, not as unset', () => {
    expect(assignSequences([{ ...num(0), force: false }], 0, AGGREGATE)).toEqual([0]);
    expect(thrown(() => assignSequences([num(0)], 1, AGGREGATE))).toBeInstanceOf(SequenceError);
  });

  it('reports the first bad page, before any later malformed one', () => {
    const error = thrown(() => assignSequences([num(0), num(5), bare], 0, AGGREGATE));
    expect(error).toBeInstanceOf(SequenceError);
    expect(error.message).toMatch(/^pages\[1\]/);
  });
});

describe('assertExpectedNext', () => {
  it('passes when the writer does not say what it expects, or expects the actual next', () => {
    expect(() => assertExpectedNext(undefined, 7, AGGREGATE)).not.toThrow();
    expect(() => assertExpectedNext(7, 7, AGGREGATE)).not.toThrow();
    expect(() => assertExpectedNext(0, 0, AGGREGATE)).not.toThrow();
  });

  it('throws a ConcurrencyConflictError carrying both sequences when the aggregate moved', () => {
    const error = thrown(() => assertExpectedNext(3, 5, AGGREGATE));
    expect(error).toBeInstanceOf(ConcurrencyConflictError);
    expect(error).toMatchObject({ expectedNext: 3, actualNext: 5, code: 'EVENTED_CONCURRENCY_CONFLICT' });
    expect(error.message).toBe(
      `${AGGREGATE} was changed by another writer: expected next sequence 3, found 5`,
    );
    expect(thrown(() => assertExpectedNext(6, 5, AGGREGATE))).toMatchObject({
      expectedNext: 6,
      actualNext: 5,
    });
  });
});

describe('assertSnapshotFits', () => {
  const snapshot = (sequence: number) => ({ sequence, state: undefined });

  it('accepts no snapshot, and a snapshot up to the new next', () => {
    expect(() => assertSnapshotFits(undefined, 0, AGGREGATE)).not.toThrow();
    expect(() => assertSnapshotFits(snapshot(0), 0, AGGREGATE)).not.toThrow();
    expect(() => assertSnapshotFits(snapshot(2), 3, AGGREGATE)).not.toThrow();
    expect(() => assertSnapshotFits(snapshot(3), 3, AGGREGATE)).not.toThrow();
  });

  it('rejects a snapshot beyond the new next, saying how many events there are', () => {
    const error = thrown(() => assertSnapshotFits(snapshot(4), 3, AGGREGATE));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(
      `snapshot.sequence is 4, but ${AGGREGATE} has only 3 events after this append`,
    );
    expect((error as ValidationError).hint).toMatch(/first event not in it/);
  });
});
