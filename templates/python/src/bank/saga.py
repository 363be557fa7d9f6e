"""The transfers saga, served as evented.Saga.

When money leaves an account (MoneyTransferredOut), it issues ReceiveTransfer to the receiving account.
evented sends the command through the account domain's business logic, and makes sure a redelivered
event does not credit the money twice.

Run it: ``python -m bank.saga [--port N]`` (default port 1749).
"""

from __future__ import annotations

from google.protobuf import empty_pb2

from account.v1 import account_pb2 as pb
from evented import evented_pb2, evented_pb2_grpc

from .codec import pack, unpack_event, uuid_from_bytes, uuid_to_bytes
from .server import listen_address, serve


def transfer_commands(book: evented_pb2.EventBook) -> list[evented_pb2.CommandBook]:
    """A ReceiveTransfer for the receiving account of each MoneyTransferredOut in ``book``."""
    from_account = uuid_from_bytes(book.cover.root.value)
    domain = book.cover.domain or "account"
    commands = []
    for page in book.pages:
        event = unpack_event(page.Event)
        if not isinstance(event, pb.MoneyTransferredOut):
            continue
        receive = pb.ReceiveTransfer(from_account=from_account, amount=event.amount)
        commands.append(
            evented_pb2.CommandBook(
                cover=evented_pb2.Cover(
                    domain=domain, root=evented_pb2.UUID(value=uuid_to_bytes(event.to_account))
                ),
                pages=[evented_pb2.CommandPage(sequence=0, synchronous=False, command=pack(receive))],
            )
        )
    return commands


class TransfersSaga(evented_pb2_grpc.SagaServicer):
    """evented calls HandleSync and sends the commands it returns; Handle has nothing to return them in."""

    def Handle(self, request, context):
        return empty_pb2.Empty()

    def HandleSync(self, request, context):
        return evented_pb2.SynchronousProcessingResponse(commands=transfer_commands(request))


def main() -> None:
    serve(
        "transfers saga",
        lambda server: evented_pb2_grpc.add_SagaServicer_to_server(TransfersSaga(), server),
        listen_address(1749),
    )


if __name__ == "__main__":
    main()
