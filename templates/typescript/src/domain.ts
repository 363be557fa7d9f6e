/**
 * The bank account domain, as plain functions: `decide` turns a command into events (or refuses it),
 * `evolve` folds an event into the state. No gRPC here; business-logic.ts puts it on the wire.
 */

export interface Account {
  open: boolean;
  owner: string;
  /** In cents. */
  balance: number;
}

export type AccountCommand =
  | { type: 'OpenAccount'; owner: string }
  | { type: 'Deposit'; amount: number }
  | { type: 'Withdraw'; amount: number }
  | { type: 'TransferMoney'; toAccount: string; amount: number }
  | { type: 'ReceiveTransfer'; fromAccount: string; amount: number };

export type AccountEvent =
  | { type: 'AccountOpened'; owner: string }
  | { type: 'MoneyDeposited'; amount: number; balance: number }
  | { type: 'MoneyWithdrawn'; amount: number; balance: number }
  | { type: 'MoneyTransferredOut'; toAccount: string; amount: number; balance: number }
  | { type: 'TransferReceived'; fromAccount: string; amount: number; balance: number };

/** A command the domain refuses: `invalid` for a malformed command, `rejected` for a broken business rule. */
export class DomainError extends Error {
  constructor(
    readonly kind: 'invalid' | 'rejected',
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const initialAccount: Account = { open: false, owner: '', balance: 0 };

export const evolve = (state: Account, event: AccountEvent): Account => {
  switch (event.type) {
    case 'AccountOpened':
      return { open: true, owner: event.owner, balance: 0 };
    case 'MoneyDeposited':
    case 'MoneyWithdrawn':
    case 'MoneyTransferredOut':
    case 'TransferReceived':
      return { ...state, balance: event.balance };
  }
};

const positiveAmount = (amount: number): void => {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new DomainError('invalid', `amount must be a positive number of cents, got ${amount}`);
  }
};

const mustBeOpen = (state: Account): void => {
  if (!state.open) throw new DomainError('rejected', 'the account is not open');
};

const mustCover = (state: Account, amount: number, what: string): void => {
  if (amount > state.balance) {
    throw new DomainError(
      'rejected',
      `insufficient funds: the balance is ${state.balance}, the ${what} is ${amount}`,
    );
  }
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const decide = (state: Account, command: AccountCommand): AccountEvent[] => {
  switch (command.type) {
    case 'OpenAccount':
      if (command.owner.trim() === '') throw new DomainError('invalid', 'owner must not be empty');
      if (state.open) throw new DomainError('rejected', `the account is already open (owner ${state.owner})`);
      return [{ type: 'AccountOpened', owner: command.owner }];
    case 'Deposit':
      positiveAmount(command.amount);
      mustBeOpen(state);
      return [{ type: 'MoneyDeposited', amount: command.amount, balance: state.balance + command.amount }];
    case 'Withdraw':
      positiveAmount(command.amount);
      mustBeOpen(state);
      mustCover(state, command.amount, 'withdrawal');
      return [{ type: 'MoneyWithdrawn', amount: command.amount, balance: state.balance - command.amount }];
    case 'TransferMoney':
      positiveAmount(command.amount);
      if (!UUID.test(command.toAccount)) {
        throw new DomainError(
          'invalid',
          `toAccount must be an account id (a UUID), got "${command.toAccount}"`,
        );
      }
      mustBeOpen(state);
      mustCover(state, command.amount, 'transfer');
      return [
        {
          type: 'MoneyTransferredOut',
          toAccount: command.toAccount,
          amount: command.amount,
          balance: state.balance - command.amount,
        },
      ];
    case 'ReceiveTransfer':
      positiveAmount(command.amount);
      mustBeOpen(state);
      return [
        {
          type: 'TransferReceived',
          fromAccount: command.fromAccount,
          amount: command.amount,
          balance: state.balance + command.amount,
        },
      ];
  }
};
