import type { Any } from './gen/google/protobuf/any.js';
import {
  AccountOpened,
  AccountState,
  Deposit,
  MoneyDeposited,
  MoneyWithdrawn,
  OpenAccount,
  Withdraw,
} from './gen/account/v1/account.js';
import type { Account, AccountCommand, AccountEvent } from './domain.js';

/** Between the domain's plain objects and the protobuf messages packed in google.protobuf.Any. */

const PREFIX = 'type.googleapis.com/account.v1.';

const pack = (name: string, bytes: Uint8Array): Any => ({ typeUrl: PREFIX + name, value: bytes });

const typeName = (any: Any): string => any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);

export const encodeCommand = (command: AccountCommand): Any => {
  switch (command.type) {
    case 'OpenAccount':
      return pack('OpenAccount', OpenAccount.encode({ owner: command.owner }).finish());
    case 'Deposit':
      return pack('Deposit', Deposit.encode({ amount: command.amount }).finish());
    case 'Withdraw':
      return pack('Withdraw', Withdraw.encode({ amount: command.amount }).finish());
  }
};

/** Returns undefined for a type this domain does not know. */
export const decodeCommand = (any: Any): AccountCommand | undefined => {
  switch (typeName(any)) {
    case 'account.v1.OpenAccount':
      return { type: 'OpenAccount', ...OpenAccount.decode(any.value) };
    case 'account.v1.Deposit':
      return { type: 'Deposit', ...Deposit.decode(any.value) };
    case 'account.v1.Withdraw':
      return { type: 'Withdraw', ...Withdraw.decode(any.value) };
    default:
      return undefined;
  }
};

export const encodeEvent = (event: AccountEvent): Any => {
  switch (event.type) {
    case 'AccountOpened':
      return pack('AccountOpened', AccountOpened.encode(event).finish());
    case 'MoneyDeposited':
      return pack('MoneyDeposited', MoneyDeposited.encode(event).finish());
    case 'MoneyWithdrawn':
      return pack('MoneyWithdrawn', MoneyWithdrawn.encode(event).finish());
  }
};

export const decodeEvent = (any: Any): AccountEvent | undefined => {
  switch (typeName(any)) {
    case 'account.v1.AccountOpened':
      return { type: 'AccountOpened', ...AccountOpened.decode(any.value) };
    case 'account.v1.MoneyDeposited':
      return { type: 'MoneyDeposited', ...MoneyDeposited.decode(any.value) };
    case 'account.v1.MoneyWithdrawn':
      return { type: 'MoneyWithdrawn', ...MoneyWithdrawn.decode(any.value) };
    default:
      return undefined;
  }
};

export const encodeState = (state: Account): Any => pack('AccountState', AccountState.encode(state).finish());

export const decodeState = (any: Any): Account => AccountState.decode(any.value);
