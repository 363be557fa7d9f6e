import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventPage } from '../../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes } from '../../runtime/protocol/uuid.js';
import { toPage } from '../../runtime/store/page.js';
import type { EventStore } from '../../runtime/store/port.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { createProgressTracker } from '../../runtime/subscriber/progress.js';
import { coverOf, payload } from '../helpers/books.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * What the progress tracker hands over for a book (runtime/subscriber/progress.ts): every event the subscriber has
 * not handled, contiguous from its progress, whatever the book looks like. A book merged from several bus messages
 * has a hole inside it when one of those messages went to another process (a replay's pause lets such messages pile
 * up), and may hold a page twice: the hole is filled from the store (the truth), the second page dropped.
 */

const stores: EventStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

/** A page as compared here: its sequence and its event's text. */
const plain = (page: EventPage): string => `${page.num}:${new TextDecoder().decode(page.Event?.value)}`;

const aggregateWith = async (events: number) => {
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
  const book = (...nums: number[]) => ({
    cover: coverOf('account', root),
    snapshot: undefined,
    pages: nums.map((num) => pages[num]!),
  });
  return { store, root, book, pages };
};

describe('progress tracker: what a book hands over', () => {
  it('fills a hole inside a book from the store, and drops a page that comes twice', async () => {
    const { store, book, pages } = await aggregateWith(6);
    const tracker = createProgressTracker(store, 'projector:holes');
    await tracker.open();

    const [handed] = await tracker.pending([book(0, 1, 3, 3, 5)]);
    expect(handed!.pages.map(plain)).toEqual(pages.map(plain));
  });

  it('starts from the progress: what was handled is left out, the hole before the first page filled too', async () => {
    const { store, book, pages } = await aggregateWith(6);
    const tracker = createProgressTracker(store, 'projector:holes');
    await tracker.open();
    tracker.advance([book(0, 1)]);

    const [handed] = await tracker.pending([book(1, 3, 5)]);
    expect(handed!.pages.map(plain)).toEqual(pages.slice(2).map(plain));
    expect(await tracker.pending([book(0, 1)])).toEqual([]);
  });
});
