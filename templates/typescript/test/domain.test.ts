import { describe, expect, it } from 'vitest';
import {
  decide,
  DomainError,
  evolve,
  initialAccount,
  type Account,
  type AccountCommand,
  type AccountEvent,
} from '../src/domain.js';

/** given(events).when(command) → the events decided, or the refusal. */
const given = (...events: AccountEvent[]) => ({
  when: (command: AccountCommand) => decide(events.reduce<Account>(evolve, initialAccount), command),
});

const refusal = (run: () => unknown): DomainError => {
  try {
    run();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('the command was accepted');
};

const OTHER = '6f1c2d3e-4b5a-4c6d-8e7f-901234567890';

describe('the account domain', () => {
  it('opens an account', () => {
    expect(given().when({ type: 'OpenAccount', owner: 'ada' })).toEqual([
      { type: 'AccountOpened', owner: 'ada' },
    ]);
  });

  it('refuses to open an account twice', () => {
    const err = refusal(() =>
      given({ type: 'AccountOpened', owner: 'ada' }).when({ type: 'OpenAccount', owner: 'bob' }),
    );
    expect(err.kind).toBe('rejected');
    expect(err.message).toMatch(/already open/);
  });

  it('refuses an empty owner', () => {
    expect(refusal(() => given().when({ type: 'OpenAccount', owner: ' ' })).kind).toBe('invalid');
  });

  it('deposits and withdraws, recording the balance', () => {
    const opened: AccountEvent = { type: 'AccountOpened', owner: 'ada' };
    const deposited: AccountEvent = { type: 'MoneyDeposited', amount: 100, balance: 100 };
    expect(given(opened).when({ type: 'Deposit', amount: 100 })).toEqual([deposited]);
    expect(given(opened, deposited).when({ type: 'Withdraw', amount: 30 })).toEqual([
      { type: 'MoneyWithdrawn', amount: 30, balance: 70 },
    ]);
  });

  it('refuses a withdrawal over the balance', () => {
    const err = refusal(() =>
      given(
        { type: 'AccountOpened', owner: 'ada' },
        { type: 'MoneyDeposited', amount: 10, balance: 10 },
      ).when({
        type: 'Withdraw',
        amount: 11,
      }),
    );
    expect(err.kind).toBe('rejected');
    expect(err.message).toBe('insufficient funds: the balance is 10, the withdrawal is 11');
  });

  it('refuses money movements on an account that is not open, and amounts that are not positive', () => {
    expect(refusal(() => given().when({ type: 'Deposit', amount: 5 })).message).toMatch(/not open/);
    expect(
      refusal(() => given({ type: 'AccountOpened', owner: 'ada' }).when({ type: 'Deposit', amount: 0 })).kind,
    ).toBe('invalid');
  });

  it('transfers out only what the balance covers, to a valid account id', () => {
    const funded: AccountEvent[] = [
      { type: 'AccountOpened', owner: 'ada' },
      { type: 'MoneyDeposited', amount: 50, balance: 50 },
    ];
    expect(given(...funded).when({ type: 'TransferMoney', toAccount: OTHER, amount: 20 })).toEqual([
      { type: 'MoneyTransferredOut', toAccount: OTHER, amount: 20, balance: 30 },
    ]);
    expect(
      refusal(() => given(...funded).when({ type: 'TransferMoney', toAccount: OTHER, amount: 60 })).kind,
    ).toBe('rejected');
    expect(
      refusal(() => given(...funded).when({ type: 'TransferMoney', toAccount: 'bob', amount: 5 })).kind,
    ).toBe('invalid');
  });

  it('receives a transfer', () => {
    expect(
      given({ type: 'AccountOpened', owner: 'bob' }).when({
        type: 'ReceiveTransfer',
        fromAccount: OTHER,
        amount: 20,
      }),
    ).toEqual([{ type: 'TransferReceived', fromAccount: OTHER, amount: 20, balance: 20 }]);
  });
});
