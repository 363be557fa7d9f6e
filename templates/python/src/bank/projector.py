"""The accounts projector, served as evented.Projector: keeps the accounts read model up to date.

Every call is saved before it is answered, so an acknowledged event is never lost by a crash.

Run it: ``python -m bank.projector [--port N]`` (default port 1738; ``READ_MODEL``, default
``read-model/accounts.json``).
"""

from __future__ import annotations

import os
import threading

from google.protobuf import empty_pb2

from evented import evented_pb2, evented_pb2_grpc

from .codec import pack_state, uuid_from_bytes
from .read_model import AccountsReadModel
from .server import listen_address, serve

NAME = "accounts"


class AccountsProjector(evented_pb2_grpc.ProjectorServicer):
    def __init__(self, model: AccountsReadModel) -> None:
        self.model = model
        self._lock = threading.Lock()  # gRPC calls arrive on several threads

    def _apply(self, *books: evented_pb2.EventBook) -> None:
        with self._lock:
            if sum(self.model.apply(book) for book in books) > 0:
                self.model.save()

    def Handle(self, request, context):
        self._apply(request)
        return empty_pb2.Empty()

    def HandleBatch(self, request, context):
        self._apply(*request.books)
        return empty_pb2.Empty()

    def Reset(self, request, context):
        with self._lock:
            self.model.reset()
            self.model.save()
        return empty_pb2.Empty()

    def HandleSync(self, request, context):
        self._apply(request)
        view = self.model.get(uuid_from_bytes(request.cover.root.value))
        projection = evented_pb2.Projection(cover=request.cover, projector=NAME)
        if view is not None:
            projection.sequence = max(view.sequence, 0)
            projection.projection.CopyFrom(pack_state(view.account))
        return projection


def main() -> None:
    projector = AccountsProjector(AccountsReadModel(os.environ.get("READ_MODEL", "read-model/accounts.json")))
    serve(
        "accounts projector",
        lambda server: evented_pb2_grpc.add_ProjectorServicer_to_server(projector, server),
        listen_address(1738),
    )


if __name__ == "__main__":
    main()
