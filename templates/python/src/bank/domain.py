"""The bank account domain, as plain functions.

``decide`` turns a command into events (or refuses it), ``evolve`` folds an event into the state. Commands
and events are the protobuf messages of ``proto/account/v1/account.proto``; there is no gRPC here
(``business_logic.py`` puts the domain on the wire).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from account.v1 import account_pb2 as pb

Command = pb.OpenAccount | pb.Deposit | pb.Withdraw | pb.TransferMoney | pb.ReceiveTransfer
Event = (
    pb.AccountOpened | pb.MoneyDeposited | pb.MoneyWithdrawn | pb.MoneyTransferredOut | pb.TransferReceived
)


@dataclass(frozen=True)
class Account:
    """An account's state: what ``decide`` needs to know, and what a snapshot stores."""

    open: bool = False
    owner: str = ""
    balance: int = 0
    """In cents."""


class DomainError(Exception):
    """A command the domain refuses."""


class InvalidCommand(DomainError):
    """A malformed command (answered with INVALID_ARGUMENT)."""


class CommandRejected(DomainError):
    """A command that breaks a business rule (answered with FAILED_PRECONDITION)."""


def evolve(state: Account, event: Event) -> Account:
    """The state after ``event``."""
    match event:
        case pb.AccountOpened(owner=owner):
            return Account(open=True, owner=owner, balance=0)
        case pb.MoneyDeposited() | pb.MoneyWithdrawn() | pb.MoneyTransferredOut() | pb.TransferReceived():
            return replace(state, balance=event.balance)
        case _:
            return state


def fold(events: list[Event], state: Account | None = None) -> Account:
    """The state after every event, in order."""
    state = state or Account()
    for event in events:
        state = evolve(state, event)
    return state


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _positive(amount: int) -> None:
    if amount <= 0:
        raise InvalidCommand(f"amount must be a positive number of cents, got {amount}")


def _must_be_open(state: Account) -> None:
    if not state.open:
        raise CommandRejected("the account is not open")


def _must_cover(state: Account, amount: int, what: str) -> None:
    if amount > state.balance:
        raise CommandRejected(f"insufficient funds: the balance is {state.balance}, the {what} is {amount}")


def decide(state: Account, command: Command) -> list[Event]:
    """The events ``command`` causes, or a ``DomainError`` saying why it is refused."""
    match command:
        case pb.OpenAccount(owner=owner):
            if not owner.strip():
                raise InvalidCommand("owner must not be empty")
            if state.open:
                raise CommandRejected(f"the account is already open (owner {state.owner})")
            return [pb.AccountOpened(owner=owner)]
        case pb.Deposit(amount=amount):
            _positive(amount)
            _must_be_open(state)
            return [pb.MoneyDeposited(amount=amount, balance=state.balance + amount)]
        case pb.Withdraw(amount=amount):
            _positive(amount)
            _must_be_open(state)
            _must_cover(state, amount, "withdrawal")
            return [pb.MoneyWithdrawn(amount=amount, balance=state.balance - amount)]
        case pb.TransferMoney(to_account=to_account, amount=amount):
            _positive(amount)
            if not _UUID.match(to_account):
                raise InvalidCommand(f'to_account must be an account id (a UUID), got "{to_account}"')
            _must_be_open(state)
            _must_cover(state, amount, "transfer")
            balance = state.balance - amount
            return [pb.MoneyTransferredOut(to_account=to_account, amount=amount, balance=balance)]
        case pb.ReceiveTransfer(from_account=from_account, amount=amount):
            _positive(amount)
            _must_be_open(state)
            balance = state.balance + amount
            return [pb.TransferReceived(from_account=from_account, amount=amount, balance=balance)]
        case _:
            raise InvalidCommand(f"{type(command).__name__} is not a command of the account domain")
