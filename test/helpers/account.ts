import { randomUUID } from 'node:crypto';
import type { CommandBook, EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import {
  decodeEvent,
  decodeState,
  encodeCommand,
  encodeEvent,
} from '../../templates/typescript/src/codec.js';
import type { AccountCommand, AccountEvent } from '../../templates/typescript/src/domain.js';

/** Builders for the sample account domain, so tests read like the domain. */

export const newRoot = (): Uint8Array => uuidToBytes(randomUUID())!;

export const command = (root: Uint8Array, ...commands: AccountCommand[]): CommandBook => ({
  cover: { domain: 'account', root: { value: root } },
  pages: commands.map((c, index) => ({ sequence: index, synchronous: false, command: encodeCommand(c) })),
});

/** A book of account events to Record as they are (each page asks for the next sequence). */
export const events = (root: Uint8Array, ...accountEvents: AccountEvent[]): EventBook => ({
  cover: { domain: 'account', root: { value: root } },
  snapshot: undefined,
  pages: accountEvents.map((e) => ({
    force: true,
    createdAt: undefined,
    Event: encodeEvent(e),
    synchronous: false,
  })),
});

export const opened = (owner = 'ada'): AccountEvent => ({ type: 'AccountOpened', owner });
export const deposited = (amount: number, balance: number): AccountEvent => ({
  type: 'MoneyDeposited',
  amount,
  balance,
});

export const open = (owner = 'ada'): AccountCommand => ({ type: 'OpenAccount', owner });
export const deposit = (amount: number): AccountCommand => ({ type: 'Deposit', amount });
export const withdraw = (amount: number): AccountCommand => ({ type: 'Withdraw', amount });

/** The events of books, decoded, with their sequences. */
export const eventsOf = (books: EventBook[]): (AccountEvent & { sequence: number })[] =>
  books.flatMap((book) => book.pages.map((page) => ({ sequence: page.num!, ...decodeEvent(page.Event!)! })));

export const sequencesOf = (books: EventBook[]): number[] =>
  books.flatMap((book) => book.pages.map((page) => page.num!));

export { decodeState };
