import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventBus, PublishedBatch } from '../../runtime/bus/port.js';
import { startRelay, type Relay } from '../../runtime/relay/relay.js';
import type { EventStore } from '../../runtime/store/port.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { createPostgresEventStore } from '../../runtime/store/postgres/index.js';
import pg from 'pg';
import { force, newRef } from '../contract/store-fixtures.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';
import { describeWith } from '../helpers/services.js';
import { dropScratchSchemas, scratchNames } from '../helpers/store-adapter.js';

/**
 * Two relays on one store (two instances on one SQLite file), each with a lease: only the holder publishes; a
 * holder whose renewals fail stops publishing within a third of the ttl and saves nothing more; the other takes
 * over once the lease lapses and publishes from the checkpoint; and a late checkpoint save by the old holder —
 * fenced by its old fencing number, or not fenced at all and older — leaves the checkpoint where the new holder
 * put it.
 */

const TTL_MS = 900;
const stores: EventStore[] = [];
const relays: Relay[] = [];
afterAll(async () => {
  for (const relay of relays) await relay.stop();
  for (const store of stores) await store.close();
});

/** A bus that records the last position of every batch published through it. */
const recordingBus = (): { bus: EventBus; positions: number[] } => {
  const positions: number[] = [];
  const bus = {
    kind: 'test',
    location: 'memory',
    publish: async (batches: readonly PublishedBatch[]) => {
      for (const { batch } of batches) positions.push(batch.lastPosition);
    },
  } as unknown as EventBus;
  return { bus, positions };
};

const appendEvents = async (store: EventStore, count: number): Promise<void> => {
  await store.append({ ...newRef(), events: Array.from({ length: count }, (_, i) => force(`e${i}`)) });
};

describe('relays sharing a store through its lease', () => {
  it('only the holder publishes; a holder that cannot renew stops, the other takes over from the checkpoint, and a late save by the old holder changes nothing', async () => {
    const path = join(tempDir(), 'events.db');
    const storeA = createSqliteEventStore({ path });
    const storeB = createSqliteEventStore({ path });
    stores.push(storeA, storeB);
    let renewalsFail = false;
    const flakyA: EventStore = {
      ...storeA,
      acquireLease: (...args) =>
        renewalsFail
          ? Promise.reject(new Error('the store cannot be reached'))
          : storeA.acquireLease(...args),
    };
    const a = recordingBus();
    const b = recordingBus();
    const options = { checkpointEveryMs: 0, idlePollMs: 20, logger: pino({ level: 'silent' }) };

    // Given 100 events, relay A holding the lease and relay B standing by,
    await appendEvents(storeA, 100);
    const relayA = startRelay({
      ...options,
      store: flakyA,
      bus: a.bus,
      lease: { owner: 'A', ttlMs: TTL_MS },
    });
    relays.push(relayA);
    await eventually(async () => expect(await storeA.getCheckpoint('relay')).toBe(100));
    const relayB = startRelay({
      ...options,
      store: storeB,
      bus: b.bus,
      lease: { owner: 'B', ttlMs: TTL_MS },
    });
    relays.push(relayB);
    await eventually(() =>
      expect(relayB.status()).toMatchObject({
        state: 'standby',
        lease: { active: false, lease: { holder: 'A' } },
      }),
    );
    expect(relayA.status().lease?.active).toBe(true);
    const fencingA = relayA.status().lease!.lease!.fencing;
    expect(b.positions).toEqual([]);

    // when A's renewals fail, A stops at once (within a third of the ttl) …
    renewalsFail = true;
    await eventually(() =>
      expect(relayA.status()).toMatchObject({ state: 'standby', lease: { active: false } }),
    );
    const publishedByA = a.positions.length;
    await appendEvents(storeA, 50);

    // … and B takes over once the lease lapses, publishing from the checkpoint (100) on, with a new fencing number.
    await eventually(() => expect(b.positions.at(-1)).toBe(150), 10_000);
    expect(Math.min(...b.positions)).toBeGreaterThan(100);
    await eventually(async () => expect(await storeB.getCheckpoint('relay')).toBe(150));
    const fencingB = relayB.status().lease!.lease!.fencing;
    expect(fencingB).toBeGreaterThan(fencingA);
    expect(relayB.status().lease?.active).toBe(true);

    // A published nothing after it lost the lease;
    expect(a.positions.length).toBe(publishedByA);
    expect(Math.max(...a.positions)).toBe(100);
    // a late save by A, fenced with its old fencing number, is refused even for a later position;
    await storeA.saveCheckpoint('relay', 160, { lease: 'relay', fencing: fencingA });
    expect(await storeB.getCheckpoint('relay')).toBe(150);
    // and an older position never moves the checkpoint back, fenced or not.
    await storeA.saveCheckpoint('relay', 120);
    expect(await storeB.getCheckpoint('relay')).toBe(150);

    // When B stops, it gives the lease up, and A (renewing again) takes it at once and goes on from 150.
    renewalsFail = false;
    await relayB.stop();
    await appendEvents(storeA, 10);
    await eventually(() => expect(a.positions.at(-1)).toBe(160), 5_000);
    expect(a.positions.slice(publishedByA).every((position) => position > 150)).toBe(true);
    expect(relayA.status().lease?.lease?.fencing).toBeGreaterThan(fencingB);
  });
});

describeWith('postgres', 'a relay on PostgreSQL whose lock connection drops', (url) => {
  const schemas = scratchNames();
  afterAll(() => dropScratchSchemas(url, schemas.run));

  it('stops publishing on the news, long before its ttl, and the other relay takes over at once', async () => {
    const schema = schemas.next();
    const storeA = await createPostgresEventStore({ url, schema, poolSize: 2 });
    const storeB = await createPostgresEventStore({ url, schema, poolSize: 2 });
    stores.push(storeA, storeB);
    const a = recordingBus();
    const b = recordingBus();
    const options = { checkpointEveryMs: 0, idlePollMs: 20, logger: pino({ level: 'silent' }) };
    await appendEvents(storeA, 20);
    // A's ttl is ten minutes: A can only stop early because it heard that its lock connection is gone. B looks
    // for the lease every 200 ms.
    const relayA = startRelay({
      ...options,
      store: storeA,
      bus: a.bus,
      lease: { owner: 'A', ttlMs: 600_000 },
    });
    relays.push(relayA);
    await eventually(async () => expect(await storeA.getCheckpoint('relay')).toBe(20));
    const relayB = startRelay({ ...options, store: storeB, bus: b.bus, lease: { owner: 'B', ttlMs: 600 } });
    relays.push(relayB);
    await eventually(() =>
      expect(relayB.status()).toMatchObject({ state: 'standby', lease: { lease: { holder: 'A' } } }),
    );

    // When the session holding A's advisory lock ends (as when the network to it is lost),
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
        [`evented lease ${schema} relay`],
      );
      expect(rowCount).toBe(1);
    } finally {
      await admin.end();
    }

    // A stands by, B publishes what comes next from A's checkpoint, and A publishes none of it.
    await eventually(() => expect(relayA.status()).toMatchObject({ lease: { active: false } }));
    const publishedByA = a.positions.length;
    await eventually(() => expect(relayB.status()).toMatchObject({ lease: { active: true } }));
    await appendEvents(storeA, 5);
    await eventually(() => expect(b.positions.at(-1)).toBe(25));
    expect(Math.min(...b.positions)).toBeGreaterThan(20);
    expect(a.positions.length).toBe(publishedByA);
  });
});
