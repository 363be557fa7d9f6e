import { describe, expect, it } from 'vitest';
import type { ContextualCommand, EventPage } from '../src/gen/evented/evented.js';
import { decodeEvent, decodeState, encodeCommand, encodeEvent, encodeState } from '../src/codec.js';
import { handleCommand, priorState } from '../src/business-logic.js';
import type { AccountCommand, AccountEvent } from '../src/domain.js';

const ROOT = new Uint8Array(16).fill(7);

const page = (num: number, event: AccountEvent): EventPage => ({
  num,
  createdAt: new Date(0),
  Event: encodeEvent(event),
  synchronous: false,
});

const contextual = (
  prior: EventPage[],
  command: AccountCommand,
  snapshot?: ContextualCommand['events'],
): ContextualCommand => ({
  events: snapshot ?? {
    cover: { domain: 'account', root: { value: ROOT } },
    snapshot: undefined,
    pages: prior,
  },
  command: {
    cover: { domain: 'account', root: { value: ROOT } },
    pages: [{ sequence: 0, synchronous: true, command: encodeCommand(command) }],
  },
});

describe('the account business logic on the wire', () => {
  it('numbers new events after the prior ones and keeps the command page’s synchronous flag', () => {
    const prior = [page(0, { type: 'AccountOpened', owner: 'ada' })];
    const book = handleCommand(contextual(prior, { type: 'Deposit', amount: 5 }), 0);
    expect(book.pages.map((p) => [p.num, p.synchronous, decodeEvent(p.Event!)])).toEqual([
      [1, true, { type: 'MoneyDeposited', amount: 5, balance: 5 }],
    ]);
    expect(book.snapshot).toBeUndefined();
  });

  it('folds a snapshot and the events after it', () => {
    const snapshot = { sequence: 4, state: encodeState({ open: true, owner: 'ada', balance: 40 }) };
    const events = {
      cover: { domain: 'account', root: { value: ROOT } },
      snapshot,
      pages: [page(4, { type: 'MoneyDeposited', amount: 2, balance: 42 })],
    };
    expect(priorState(contextual([], { type: 'Deposit', amount: 1 }, events))).toEqual({
      state: { open: true, owner: 'ada', balance: 42 },
      next: 5,
    });
  });

  it('returns a snapshot covering every event when a multiple of snapshotEvery is crossed', () => {
    const prior = [
      page(0, { type: 'AccountOpened', owner: 'ada' }),
      page(1, { type: 'MoneyDeposited', amount: 1, balance: 1 }),
    ];
    const book = handleCommand(contextual(prior, { type: 'Deposit', amount: 2 }), 3);
    expect(book.snapshot?.sequence).toBe(3);
    expect(decodeState(book.snapshot!.state!)).toEqual({ open: true, owner: 'ada', balance: 3 });
  });
});
