import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../runtime/bus/partition.js';
import type { EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes } from '../../runtime/protocol/uuid.js';
import { toPage } from '../../runtime/store/page.js';
import type { AggregateRef, EventStore, StoredEvent } from '../../runtime/store/port.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { createSubscriberDeadLetters } from '../../runtime/subscriber/dead-letters.js';
import { coverOf, payload } from '../helpers/books.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Dead letters move with a partition (runtime/subscriber/dead-letters.ts, `refresh`): a process that takes a
 * partition over must know the letters another process opened for its aggregates meanwhile — else it would
 * deliver an aggregate's later events past an event still owed — and forget those another process closed (a
 * retry, a skip) — else it would park later events behind a letter that is closed, and nobody would ever deliver
 * them. Two SubscriberDeadLetters on one store stand for the two processes that held the partition in turn.
 */

const stores: EventStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

const SUBSCRIBER = 'projector:accounts';
const PARTITIONS = 16;
const logger = pino({ level: 'silent' });

const setUp = async () => {
  const store = createSqliteEventStore({ path: join(tempDir(), 'events.db') });
  stores.push(store);
  const root = randomUuidBytes();
  const { events } = await store.append({
    domain: 'account',
    root,
    events: Array.from({ length: 3 }, (_, i) => ({
      num: i,
      event: payload('test/E', `e${i}`),
      synchronous: false,
    })),
  });
  const ref: AggregateRef = { domain: 'account', root };
  const bookOf = (...stored: StoredEvent[]): EventBook => ({
    cover: coverOf('account', root),
    pages: stored.map(toPage),
    snapshot: undefined,
  });
  const letters = () =>
    createSubscriberDeadLetters({ store, subscriber: SUBSCRIBER, label: 'accounts', logger });
  const partition = partitionOf('account', root, PARTITIONS);
  const inPartition = (p: number) => (aggregate: AggregateRef) =>
    partitionOf(aggregate.domain, aggregate.root, PARTITIONS) === p;
  return { store, ref, events, bookOf, letters, partition, inPartition };
};

describe('dead letters when a partition changes hands', () => {
  it('the new holder learns of a letter the old holder opened, and parks the later events behind it', async () => {
    const { store, events, bookOf, letters, partition, inPartition } = await setUp();
    const newHolder = letters();
    await newHolder.open(); // started before the letter existed
    const oldHolder = letters();
    await oldHolder.open();
    await oldHolder.setAside(bookOf(events[1]!), { reason: 'projector failed', attempts: 5 });

    // Without reading again, the new holder would deliver #2 past the owed #1:
    expect((await newHolder.admit([bookOf(events[2]!)])).length).toBe(1);
    // Taking the partition, it reads the letters of its aggregates again:
    await newHolder.refresh(inPartition(partition));
    expect(await newHolder.admit([bookOf(events[2]!)])).toEqual([]);
    const open = await store.listDeadLetters({ subscriber: SUBSCRIBER, state: 'open' });
    expect(open.map((letter) => letter.sequence).sort()).toEqual([1, 2]);
  });

  it('the new holder forgets a letter another process closed, and delivers what follows', async () => {
    const { store, events, bookOf, letters, partition, inPartition } = await setUp();
    const holder = letters();
    await holder.open();
    await holder.setAside(bookOf(events[1]!), { reason: 'projector failed', attempts: 5 });
    expect(await holder.admit([bookOf(events[2]!)])).toEqual([]); // parked behind #1
    // The partition went elsewhere; there, a person retried both letters, and they were delivered.
    for (const letter of await store.listDeadLetters({ subscriber: SUBSCRIBER, state: 'open' })) {
      expect(await store.closeDeadLetter(letter.id, { state: 'retried', at: Date.now(), by: 'ops' })).toBe(
        true,
      );
    }
    // Taking the partition back, the holder reads its letters again and delivers what follows.
    await holder.refresh(inPartition(partition));
    const admitted = await holder.admit([bookOf(events[2]!)]);
    expect(admitted.flatMap((book) => book.pages.map((page) => page.num))).toEqual([2]);
  });
});
