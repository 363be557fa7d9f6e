"""The account domain's business logic, served as evented.BusinessLogic.

evented sends the aggregate's prior state (its latest snapshot and the events after it) with the command;
we answer with the new events, and a snapshot every ``snapshot_every`` events so that loading an account
never replays its whole history.

Run it: ``python -m bank.business_logic [--port N]`` (default port 1737; ``SNAPSHOT_EVERY``, default 10).
"""

from __future__ import annotations

import os

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from evented import evented_pb2, evented_pb2_grpc

from .codec import pack, pack_state, unpack_command, unpack_event, unpack_state
from .domain import Account, CommandRejected, InvalidCommand, decide, evolve
from .server import listen_address, serve


def prior_state(events: evented_pb2.EventBook) -> tuple[Account, int]:
    """Folds the snapshot and the events after it; returns the state and the sequence the next event gets."""
    state = Account()
    next_sequence = 0
    if events.HasField("snapshot"):
        if events.snapshot.HasField("state"):
            state = unpack_state(events.snapshot.state)
        next_sequence = events.snapshot.sequence
    for page in events.pages:
        event = unpack_event(page.Event)
        if event is not None:
            state = evolve(state, event)
        if page.WhichOneof("sequence") == "num":
            next_sequence = page.num
        next_sequence += 1
    return state, next_sequence


def handle_command(context: evented_pb2.ContextualCommand, snapshot_every: int) -> evented_pb2.EventBook:
    """The events the command's pages decide, numbered after the prior ones, and a snapshot when due."""
    state, next_sequence = prior_state(context.events)
    first = next_sequence
    now = Timestamp()
    now.GetCurrentTime()
    pages = []
    for index, page in enumerate(context.command.pages):
        command = unpack_command(page.command)
        if command is None:
            raise InvalidCommand(f"pages[{index}].command has an unknown type: {page.command.type_url}")
        for event in decide(state, command):
            state = evolve(state, event)
            pages.append(
                evented_pb2.EventPage(
                    num=next_sequence, createdAt=now, Event=pack(event), synchronous=page.synchronous
                )
            )
            next_sequence += 1
    book = evented_pb2.EventBook(cover=context.command.cover, pages=pages)
    if snapshot_every > 0 and next_sequence // snapshot_every > first // snapshot_every:
        book.snapshot.CopyFrom(evented_pb2.Snapshot(sequence=next_sequence, state=pack_state(state)))
    return book


class AccountBusinessLogic(evented_pb2_grpc.BusinessLogicServicer):
    """A refused command is answered with INVALID_ARGUMENT or FAILED_PRECONDITION; nothing is stored."""

    def __init__(self, snapshot_every: int = 10) -> None:
        self.snapshot_every = snapshot_every

    def Handle(self, request, context):
        try:
            return handle_command(request, self.snapshot_every)
        except InvalidCommand as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        except CommandRejected as err:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(err))


def main() -> None:
    logic = AccountBusinessLogic(int(os.environ.get("SNAPSHOT_EVERY", "10")))
    serve(
        "account business logic",
        lambda server: evented_pb2_grpc.add_BusinessLogicServicer_to_server(logic, server),
        listen_address(1737),
    )


if __name__ == "__main__":
    main()
