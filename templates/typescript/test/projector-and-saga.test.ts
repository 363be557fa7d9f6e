import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventBook } from '../src/gen/evented/evented.js';
import { decodeCommand, encodeEvent, uuidFromBytes } from '../src/codec.js';
import type { AccountEvent } from '../src/domain.js';
import { AccountsReadModel } from '../src/read-model.js';
import { transferCommands } from '../src/saga.js';

const ADA = new Uint8Array(16).fill(1);
const BOB = '02020202-0202-0202-0202-020202020202';

const book = (root: Uint8Array, ...events: [number, AccountEvent][]): EventBook => ({
  cover: { domain: 'account', root: { value: root } },
  snapshot: undefined,
  pages: events.map(([num, event]) => ({
    num,
    createdAt: new Date(0),
    Event: encodeEvent(event),
    synchronous: false,
  })),
});

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('the accounts read model', () => {
  it('applies each event once, even when it is delivered again, and survives a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'read-model-'));
    dirs.push(dir);
    const path = join(dir, 'accounts.json');
    const model = new AccountsReadModel(path);
    const opened = book(
      ADA,
      [0, { type: 'AccountOpened', owner: 'ada' }],
      [1, { type: 'MoneyDeposited', amount: 5, balance: 5 }],
    );
    expect(model.apply(opened)).toBe(2);
    expect(model.apply(opened)).toBe(0);
    model.save();
    const reloaded = new AccountsReadModel(path);
    expect(reloaded.get(uuidFromBytes(ADA))).toEqual({ open: true, owner: 'ada', balance: 5, sequence: 1 });
    expect(
      reloaded.apply(
        book(
          ADA,
          [1, { type: 'MoneyDeposited', amount: 5, balance: 5 }],
          [2, { type: 'MoneyWithdrawn', amount: 1, balance: 4 }],
        ),
      ),
    ).toBe(1);
    expect(reloaded.get(uuidFromBytes(ADA))?.balance).toBe(4);
  });
});

describe('the transfers saga', () => {
  it('issues ReceiveTransfer to the receiving account for each transfer out, and nothing for other events', () => {
    const commands = transferCommands(
      book(
        ADA,
        [3, { type: 'MoneyDeposited', amount: 5, balance: 50 }],
        [4, { type: 'MoneyTransferredOut', toAccount: BOB, amount: 20, balance: 30 }],
      ),
    );
    expect(commands).toHaveLength(1);
    expect(uuidFromBytes(commands[0]!.cover!.root!.value)).toBe(BOB);
    expect(decodeCommand(commands[0]!.pages[0]!.command!)).toEqual({
      type: 'ReceiveTransfer',
      fromAccount: uuidFromBytes(ADA),
      amount: 20,
    });
  });
});
