import type { Any } from './gen/google/protobuf/any.js';
import {
  AccountOpened,
  AccountState,
  Deposit,
  MoneyDeposited,
  MoneyTransferredOut,
  MoneyWithdrawn,
  OpenAccount,
  ReceiveTransfer,
  TransferMoney,
  TransferReceived,
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
    case 'TransferMoney':
      return pack('TransferMoney', TransferMoney.encode(command).finish());
    case 'ReceiveTransfer':
      return pack('ReceiveTransfer', ReceiveTransfer.encode(command).finish());
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
    case 'account.v1.TransferMoney':
      return { type: 'TransferMoney', ...TransferMoney.decode(any.value) };
    case 'account.v1.ReceiveTransfer':
      return { type: 'ReceiveTransfer', ...ReceiveTransfer.decode(any.value) };
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
    case 'MoneyTransferredOut':
      return pack('MoneyTransferredOut', MoneyTransferredOut.encode(event).finish());
    case 'TransferReceived':
      return pack('TransferReceived', TransferReceived.encode(event).finish());
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
    case 'account.v1.MoneyTransferredOut':
      return { type: 'MoneyTransferredOut', ...MoneyTransferredOut.decode(any.value) };
    case 'account.v1.TransferReceived':
      return { type: 'TransferReceived', ...TransferReceived.decode(any.value) };
    default:
      return undefined;
  }
};

export const encodeState = (state: Account): Any => pack('AccountState', AccountState.encode(state).finish());

export const decodeState = (any: Any): Account => AccountState.decode(any.value);

/** Account ids are UUIDs: text in commands and events, 16 bytes in evented's Cover. */
export const uuidToBytes = (text: string): Uint8Array =>
  Uint8Array.from(Buffer.from(text.replaceAll('-', ''), 'hex'));

export const uuidFromBytes = (bytes: Uint8Array): string => {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
