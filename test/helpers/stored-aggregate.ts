import { join } from 'node:path';
import { afterEach } from 'vitest';
import { randomUuidBytes } from '../../runtime/protocol/uuid.js';
import { toPage } from '../../runtime/store/page.js';
import type { EventStore } from '../../runtime/store/port.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { coverOf, payload } from './books.js';
import { tempDir } from './tmp.js';

/**
 * One aggregate of `events` events (`e0`, `e1`, … of type test/E) in a SQLite store of its own, and books cut from
 * its stored pages as a consumer would be handed them: what the progress tracker's tests start from. Stores
 * opened here are closed after each test.
 */

const stores: EventStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

export const storedAggregate = async (events: number) => {
  const store = createSqliteEventStore({ path: join(tempDir(), 'events.db') });
  stores.push(store);
  const root = randomUuidBytes();
  const { events: stored } = await store.append({
    domain: 'account',
    root,
    events: Array.from({ length: events }, (_, i) => ({
      num: i,
      event: payload('test/E', `e${i}`),
      synchronous: false,
    })),
  });
  const pages = stored.map(toPage);
  /** A book of the pages with these sequences, in the order given. */
  const book = (...nums: number[]) => ({
    cover: coverOf('account', root),
    snapshot: undefined,
    pages: nums.map((num) => pages[num]!),
  });
  return { store, root, ref: { domain: 'account', root }, book, pages };
};
