import { describe, expect, it } from 'vitest';
import type { EventPage } from '../../runtime/protocol/gen/evented/evented.js';
import { createProgressTracker } from '../../runtime/subscriber/progress.js';
import { storedAggregate } from '../helpers/stored-aggregate.js';

/**
 * What the progress tracker hands over for a book (runtime/subscriber/progress.ts): every event the subscriber has
 * not handled, contiguous from its progress, whatever the book looks like. A book merged from several bus messages
 * has a hole inside it when one of those messages went to another process (a replay's pause lets such messages pile
 * up), and may hold a page twice: the hole is filled from the store (the truth), the second page dropped.
 */

/** A page as compared here: its sequence and its event's text. */
const plain = (page: EventPage): string => `${page.num}:${new TextDecoder().decode(page.Event?.value)}`;

describe('progress tracker: what a book hands over', () => {
  it('fills a hole inside a book from the store, and drops a page that comes twice', async () => {
    const { store, book, pages } = await storedAggregate(6);
    const tracker = createProgressTracker(store, 'projector:holes');
    await tracker.open();

    const [handed] = await tracker.pending([book(0, 1, 3, 3, 5)]);
    expect(handed!.pages.map(plain)).toEqual(pages.map(plain));
  });

  it('starts from the progress: what was handled is left out, the hole before the first page filled too', async () => {
    const { store, book, pages } = await storedAggregate(6);
    const tracker = createProgressTracker(store, 'projector:holes');
    await tracker.open();
    tracker.advance([book(0, 1)]);

    const [handed] = await tracker.pending([book(1, 3, 5)]);
    expect(handed!.pages.map(plain)).toEqual(pages.slice(2).map(plain));
    expect(await tracker.pending([book(0, 1)])).toEqual([]);
  });
});
