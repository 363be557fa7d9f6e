import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { toBatches } from '../../runtime/bus/batches.js';
import { createMemoryEventBus } from '../../runtime/bus/memory/index.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import type { EventStore } from '../../runtime/store/port.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { createConsumer, type Consumer } from '../../runtime/subscriber/consumer.js';
import type { Deliver } from '../../runtime/subscriber/deliver.js';
import { newRoot } from '../helpers/account.js';
import { payload } from '../helpers/books.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The consumer that projector and saga coordinators share (runtime/subscriber/consumer.ts), on a real SQLite store
 * and the in-process bus, with `deliver` noting what the subscriber is given. A subscriber may have handled events
 * past its checkpoint (a synchronous projection, a batch cut short by a crash, events from the bus while it was
 * catching up): a rebuild still marks as a replay exactly what it was given before, those included. And a rebuild
 * whose first step (the projector's Reset) fails forgets nothing.
 */

const SUBSCRIBER = 'projector:test';
const stores: EventStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

interface Given {
  key: string;
  replay: boolean;
}

const setUp = async (): Promise<{
  store: EventStore;
  consumer: Consumer;
  given: Given[];
  a: Uint8Array;
  b: Uint8Array;
}> => {
  const store = createSqliteEventStore({ path: join(tempDir(), 'events.db') });
  stores.push(store);
  const [a, b] = [newRoot(), newRoot()];
  const append = (root: Uint8Array, count: number) =>
    store.append({
      domain: 'd',
      root,
      events: Array.from({ length: count }, () => ({ force: true, event: payload(), synchronous: false })),
    });
  // The log: a#0..2 (positions 1-3), b#0..1 (4-5), a#3..4 (6-7).
  await append(a, 3);
  await append(b, 2);
  await append(a, 2);

  const given: Given[] = [];
  const deliver: Deliver = async (books, { replay, handled }) => {
    for (const book of books) {
      const root = uuidFromBytes(book.cover!.root!.value);
      for (const page of book.pages)
        given.push({ key: `${root === uuidFromBytes(a) ? 'a' : 'b'}#${page.num}`, replay });
      handled([book]);
    }
  };
  const consumer = createConsumer({
    subscriber: SUBSCRIBER,
    domains: ['d'],
    store,
    bus: createMemoryEventBus(),
    deliver,
    logger: pino({ level: 'silent' }),
  });

  // Given a subscriber that handled positions 1-3 (its checkpoint), and a#3..4 past it, but not b
  const log = await store.readLog(0, 100);
  const [upTo3] = toBatches(log.slice(0, 3));
  const [past] = toBatches(log.slice(5));
  await consumer.handleBatch(upTo3!.batch, { checkpoint: 3 });
  await consumer.handleBatch(past!.batch);
  expect(given.map((g) => g.key)).toEqual(['a#0', 'a#1', 'a#2', 'a#3', 'a#4']);
  given.length = 0;
  return { store, consumer, given, a, b };
};

const progress = async (store: EventStore, a: Uint8Array, b: Uint8Array) => ({
  checkpoint: await store.getCheckpoint(SUBSCRIBER),
  next: await store.loadProgress(SUBSCRIBER, [
    { domain: 'd', root: a },
    { domain: 'd', root: b },
  ]),
});

describe('a rebuild', () => {
  it('marks as a replay what the subscriber was given, past its checkpoint too, and nothing else', async () => {
    const { store, consumer, given, a, b } = await setUp();
    let resets = 0;

    const done = await consumer.replay(
      { after: 0, domains: ['d'], rebuild: true },
      { onProgress: () => undefined, beforeRebuild: async () => void (resets += 1) },
    );

    expect(done).toMatchObject({ done: true, events: 7, position: 7 });
    expect(resets).toBe(1);
    expect(given).toEqual([
      { key: 'a#0', replay: true },
      { key: 'a#1', replay: true },
      { key: 'a#2', replay: true },
      { key: 'a#3', replay: true },
      { key: 'a#4', replay: true },
      { key: 'b#0', replay: false },
      { key: 'b#1', replay: false },
    ]);
    expect(await progress(store, a, b)).toEqual({ checkpoint: 7, next: [5, 2] });
  });

  it('whose first step fails stops with its error, and forgets nothing', async () => {
    const { store, consumer, given, a, b } = await setUp();
    const before = await progress(store, a, b);
    expect(before).toEqual({ checkpoint: 3, next: [5, 0] });

    await expect(
      consumer.replay(
        { after: 0, domains: ['d'], rebuild: true },
        {
          onProgress: () => undefined,
          beforeRebuild: () => Promise.reject(new Error('the read model is on a read-only disk')),
        },
      ),
    ).rejects.toThrow('the read model is on a read-only disk');

    expect(given).toEqual([]);
    expect(await progress(store, a, b)).toEqual(before);
    expect(consumer.tracker.checkpoint()).toBe(3);

    // and what comes next is only what the subscriber had not handled
    const [rest] = toBatches((await store.readLog(0, 100)).slice(3, 5));
    await consumer.handleBatch(rest!.batch, { checkpoint: 5 });
    expect(given).toEqual([
      { key: 'b#0', replay: false },
      { key: 'b#1', replay: false },
    ]);
  });
});

describe('a replay', () => {
  it('marks as a replay what the subscriber was given, past its checkpoint too, and nothing else', async () => {
    const { store, consumer, given, a, b } = await setUp();

    await consumer.replay({ after: 0, domains: ['d'], rebuild: false }, { onProgress: () => undefined });

    expect(given).toEqual([
      { key: 'a#0', replay: true },
      { key: 'a#1', replay: true },
      { key: 'a#2', replay: true },
      { key: 'a#3', replay: true },
      { key: 'a#4', replay: true },
      { key: 'b#0', replay: false },
      { key: 'b#1', replay: false },
    ]);
    expect(await progress(store, a, b)).toEqual({ checkpoint: 7, next: [5, 2] });
  });
});
