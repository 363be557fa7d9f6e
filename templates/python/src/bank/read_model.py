"""The accounts read model: every account's owner and balance, in a JSON file of its own.

Each account also remembers the sequence of the last event applied to it, saved in the same write, so that
an event delivered twice (evented delivers at least once) is applied once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from evented import evented_pb2

from .codec import unpack_event, uuid_from_bytes
from .domain import Account, evolve


@dataclass(frozen=True)
class AccountView:
    """One account as the read model shows it."""

    account: Account
    sequence: int
    """The sequence of the last event applied."""

    def to_json(self) -> dict:
        return {**asdict(self.account), "sequence": self.sequence}

    @classmethod
    def from_json(cls, data: dict) -> AccountView:
        return cls(Account(data["open"], data["owner"], data["balance"]), data["sequence"])


class AccountsReadModel:
    """Not thread-safe: the projector serialises the calls."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            data = {}
        self._accounts = {id_: AccountView.from_json(view) for id_, view in data.items()}

    def get(self, account_id: str) -> AccountView | None:
        return self._accounts.get(account_id)

    def apply(self, book: evented_pb2.EventBook) -> int:
        """Applies the pages not applied yet; returns how many were new."""
        account_id = uuid_from_bytes(book.cover.root.value)
        view = self._accounts.get(account_id, AccountView(Account(), -1))
        applied = 0
        for page in book.pages:
            if page.WhichOneof("sequence") != "num" or page.num <= view.sequence:
                continue
            event = unpack_event(page.Event)
            account = view.account if event is None else evolve(view.account, event)
            view = AccountView(account, page.num)
            applied += 1
        self._accounts[account_id] = view
        return applied

    def reset(self) -> None:
        """Forgets every account (before a rebuild replays every event)."""
        self._accounts = {}

    def save(self) -> None:
        """Writes the file atomically: a crash leaves the old or the new version, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        data = {id_: view.to_json() for id_, view in self._accounts.items()}
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, self.path)
