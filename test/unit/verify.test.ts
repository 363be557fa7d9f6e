import { describe, expect, it } from 'vitest';
import { formatProgress } from '../../cli/output/replay-progress.js';
import { sampleIndexes } from '../../cli/verify/recorded.js';
import { compareOutcomes, type Outcome } from '../../cli/verify/outcome.js';

/** How `evented verify` tells a decision that came out differently, and how it picks a sample. */

const withdrawn = (amount: number, balance: number | string): Outcome => ({
  outcome: 'accepted',
  events: [{ type: 'account.v1.MoneyWithdrawn', payload: { amount, balance } }],
});
const refused = (message: string, code = 9): Outcome => ({
  outcome: 'refused',
  code,
  status: code === 9 ? 'FAILED_PRECONDITION' : 'INVALID_ARGUMENT',
  message,
});

describe('compareOutcomes', () => {
  it('finds nothing in the same decision, 64-bit integers written as strings included', () => {
    expect(compareOutcomes(withdrawn(100, 400), withdrawn(100, '400'))).toEqual([]);
    expect(compareOutcomes(refused('insufficient funds'), refused('insufficient funds'))).toEqual([]);
  });

  it('names an accepted command refused now, and the reverse, by its outcome', () => {
    expect(compareOutcomes(refused('insufficient funds'), withdrawn(700, -200))).toEqual([
      { path: 'outcome', expected: 'refused', actual: 'accepted' },
    ]);
    expect(compareOutcomes(withdrawn(700, 100), { outcome: 'failed', message: 'bad numbering' })).toEqual([
      { path: 'outcome', expected: 'accepted', actual: 'failed' },
    ]);
  });

  it('compares events by number, type and every payload field', () => {
    expect(compareOutcomes(withdrawn(100, 400), withdrawn(100, 300))).toEqual([
      { path: 'events[0].payload.balance', expected: 400, actual: 300 },
    ]);
    const two: Outcome = {
      outcome: 'accepted',
      events: [
        { type: 'account.v1.MoneyDeposited', payload: { amount: 100, balance: 500 } },
        { type: 'account.v1.FeeCharged', payload: { amount: 1 } },
      ],
    };
    expect(compareOutcomes(withdrawn(100, 400), two)).toEqual([
      { path: 'events.length', expected: 1, actual: 2 },
      { path: 'events[0].type', expected: 'account.v1.MoneyWithdrawn', actual: 'account.v1.MoneyDeposited' },
      { path: 'events[0].payload.balance', expected: 400, actual: 500 },
    ]);
  });

  it("compares a refusal's status and message", () => {
    expect(compareOutcomes(refused('insufficient funds'), refused('amount too large', 3))).toEqual([
      { path: 'status', expected: 'FAILED_PRECONDITION', actual: 'INVALID_ARGUMENT' },
      { path: 'message', expected: 'insufficient funds', actual: 'amount too large' },
    ]);
  });
});

describe('sampleIndexes', () => {
  it('picks n distinct indexes of the range, in order, or all of them when n is not smaller', () => {
    const picked = sampleIndexes(1000, 50);
    expect(picked).toHaveLength(50);
    expect(new Set(picked).size).toBe(50);
    expect(picked).toEqual([...picked].sort((a, b) => a - b));
    expect(picked.every((i) => Number.isInteger(i) && i >= 0 && i < 1000)).toBe(true);
    expect(sampleIndexes(5, 10)).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives every index the same chance', () => {
    const hits = new Array<number>(10).fill(0);
    for (let run = 0; run < 20_000; run += 1) for (const i of sampleIndexes(10, 3)) hits[i]! += 1;
    // 6,000 expected each; a biased pick (the last index, say) is off by thousands.
    for (const n of hits) expect(Math.abs(n - 6000)).toBeLessThan(400);
  });
});

describe('the progress line in commands', () => {
  it('counts commands and leaves the position out', () => {
    const line = formatProgress(
      {
        ...{ events: 250, total: 1000, aggregates: 0, position: 0, eventsPerSecond: 50, etaMs: 15_000 },
        ...{ done: false, dryRun: false, rateMeasured: false },
      },
      { unit: 'commands', position: false },
    );
    expect(line).toBe('[######------------------] 250/1,000 commands  50 commands/s  ETA 15s');
  });
});
