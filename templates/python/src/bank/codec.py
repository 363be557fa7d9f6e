"""Between the domain's messages and google.protobuf.Any, and between account ids and evented's UUIDs."""

from __future__ import annotations

import uuid

from google.protobuf import any_pb2
from google.protobuf.message import Message

from account.v1 import account_pb2 as pb

from .domain import Account, Command, Event

_COMMANDS = {
    cls.DESCRIPTOR.full_name: cls
    for cls in (pb.OpenAccount, pb.Deposit, pb.Withdraw, pb.TransferMoney, pb.ReceiveTransfer)
}
_EVENTS = {
    cls.DESCRIPTOR.full_name: cls
    for cls in (
        pb.AccountOpened,
        pb.MoneyDeposited,
        pb.MoneyWithdrawn,
        pb.MoneyTransferredOut,
        pb.TransferReceived,
    )
}


def pack(message: Message) -> any_pb2.Any:
    """``message`` in an Any (type URL ``type.googleapis.com/account.v1.<Name>``)."""
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _unpack(packed: any_pb2.Any, types: dict[str, type[Message]]) -> Message | None:
    cls = types.get(packed.TypeName())
    if cls is None:
        return None
    message = cls()
    packed.Unpack(message)
    return message


def unpack_command(packed: any_pb2.Any) -> Command | None:
    """The command in ``packed``, or None for a type this domain does not know."""
    return _unpack(packed, _COMMANDS)


def unpack_event(packed: any_pb2.Any) -> Event | None:
    """The event in ``packed``, or None for a type this domain does not know."""
    return _unpack(packed, _EVENTS)


def pack_state(state: Account) -> any_pb2.Any:
    return pack(pb.AccountState(open=state.open, owner=state.owner, balance=state.balance))


def unpack_state(packed: any_pb2.Any) -> Account:
    message = pb.AccountState()
    packed.Unpack(message)
    return Account(open=message.open, owner=message.owner, balance=message.balance)


def uuid_to_bytes(text: str) -> bytes:
    """An account id (a UUID as text, as in commands and events) as evented's 16 bytes."""
    return uuid.UUID(text).bytes


def uuid_from_bytes(value: bytes) -> str:
    """evented's 16 bytes as an account id."""
    return str(uuid.UUID(bytes=bytes(value) or bytes(16)))
