import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../runtime/bus/partition.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import {
  sequencesByAccount,
  startRecordingProjector,
  storedAccountBooks,
  type RecordedCall,
} from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * A projector's `concurrency`: how many calls one process may have in flight to it at once, each for another
 * partition. By default one at a time (as before partitions); with 4, up to 4 overlap, never two of one
 * partition, and every aggregate's events still come in order.
 */

const PARTITIONS = 16;

/** The most calls that were in flight at once. */
const mostInFlight = (calls: readonly RecordedCall[]): number => {
  const edges = calls.flatMap((call) => [
    { at: call.startedAt, step: 1 },
    { at: call.answeredAt ?? Number.POSITIVE_INFINITY, step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let inFlight = 0;
  let most = 0;
  for (const { step } of edges) most = Math.max(most, (inFlight += step));
  return most;
};

/** Calls of one partition that overlapped in time. */
const overlapsWithinPartition = (calls: readonly RecordedCall[]): number => {
  const partitionOfCall = (call: RecordedCall): number =>
    partitionOf('account', uuidToBytes(call.keys[0]!.split('#')[0]!)!, PARTITIONS);
  let found = 0;
  const byPartition = new Map<number, RecordedCall[]>();
  for (const call of calls.filter((c) => c.keys.length > 0)) {
    byPartition.set(partitionOfCall(call), [...(byPartition.get(partitionOfCall(call)) ?? []), call]);
  }
  for (const list of byPartition.values()) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < list.length; i += 1) if (list[i]!.startedAt < list[i - 1]!.answeredAt!) found += 1;
  }
  return found;
};

describe.each([
  { concurrency: undefined, most: 1 },
  { concurrency: 4, most: 4 },
])('a projector with concurrency $concurrency', ({ concurrency, most }) => {
  it(`gets at most ${most} call(s) at once, never two of one partition, each aggregate in order`, async () => {
    const logic = await startSampleBusinessLogic();
    const projector = await startRecordingProjector({ delayMs: 40 });
    const { commands, queries } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'], concurrency } },
      delivery: { partitions: PARTITIONS },
    });

    // Given 40 accounts receiving deposits from 8 clients at once
    const accounts = Array.from({ length: 40 }, () => newRoot());
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let round = 0; round < 5; round += 1) {
          for (const [index, root] of accounts.entries()) {
            if (index % 8 !== worker) continue;
            await commands.handle(command(root, ...(round === 0 ? [open('owner')] : []), deposit(1)));
          }
        }
      }),
    );

    // Then every event arrives once, in order per aggregate
    const stored = sequencesByAccount(await storedAccountBooks(queries));
    await eventually(() => expect(projector.sequences()).toEqual(stored), 60_000);
    expect(projector.duplicates()).toEqual([]);
    // with at most `concurrency` calls in flight (and more than one when allowed), never two of one partition.
    const inFlight = mostInFlight(projector.calls);
    expect(inFlight).toBeLessThanOrEqual(most);
    if (most > 1) expect(inFlight).toBeGreaterThan(1);
    expect(overlapsWithinPartition(projector.calls)).toBe(0);
  }, 120_000);
});
