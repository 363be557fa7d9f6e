import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../../runtime/bus/memory/index.js';
import { encodeEventBatch } from '../../runtime/protocol/event-batch-encoder.js';
import { startRelay } from '../../runtime/relay/relay.js';
import type { EventStore } from '../../runtime/store/port.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { newRoot } from '../helpers/account.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The outbox relay with large events: its messages stay below bus.maxMessageBytes, and a round reads fewer
 * events when they are large, so that what it holds in memory (a round, and the rounds in flight) is bounded by
 * bytes, not only by `relay.batchSize` events (a thousand 1 MiB events would be a gigabyte).
 */

const KiB = 1024;
const stores: EventStore[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
});

describe('the relay with large events', () => {
  it('reads rounds of about four messages’ worth and publishes messages below the bound, every event once', async () => {
    const store = createSqliteEventStore({ path: join(tempDir(), 'events.db') });
    stores.push(store);
    const root = newRoot();
    // Given 40 events of 256 KiB (10 MiB) in the store,
    await store.append({
      domain: 'account',
      root,
      events: Array.from({ length: 40 }, () => ({
        force: true,
        event: { typeUrl: 'test/Large', value: new Uint8Array(256 * KiB) },
        synchronous: false,
      })),
    });
    const limits: number[] = [];
    const watched: EventStore = {
      ...store,
      readLog: (after, limit) => {
        limits.push(limit);
        return store.readLog(after, limit);
      },
    };
    const bus = createMemoryEventBus();
    const messages: number[] = [];
    const delivered: number[] = [];
    await bus.subscribe({ subscriber: 'watcher', domains: ['account'] }, async ({ batch }) => {
      messages.push(encodeEventBatch(batch).length);
      delivered.push(...batch.books.flatMap((book) => book.pages.map((page) => page.num!)));
    });

    // when the relay publishes them with messages of at most 1 MiB and rounds of 1,000 events at most,
    const relay = startRelay({
      store: watched,
      bus,
      batchSize: 1000,
      maxMessageBytes: 1024 * KiB,
      logger: pino({ level: 'silent' }),
    });
    try {
      await eventually(() => expect(delivered).toHaveLength(40));
    } finally {
      await relay.stop();
      await bus.close();
    }

    // then every event went once, in order, in messages below 1 MiB (three 256 KiB events each),
    expect(delivered).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(Math.max(...messages)).toBeLessThanOrEqual(1024 * KiB);
    // and after a first round of a few events, each round asked for at most 4 MiB of them (16), not 1,000.
    expect(limits[0]).toBeLessThanOrEqual(64);
    expect(Math.max(...limits.slice(1))).toBeLessThanOrEqual(16);
  });
});
