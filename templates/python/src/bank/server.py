"""Runs one gRPC service until SIGINT or SIGTERM, then stops it cleanly."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent import futures

import grpc

GRACE_SECONDS = 5


def listen_address(default_port: int, argv: list[str] | None = None) -> str:
    """Where to listen: ``--port N``, else ``$PORT``, else the default; on ``$HOST`` (127.0.0.1)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", default_port)))
    args = parser.parse_args(argv)
    return f"{os.environ.get('HOST', '127.0.0.1')}:{args.port}"


def serve(name: str, register: Callable[[grpc.Server], None], address: str) -> None:
    """Serves what ``register`` adds to a new server on ``address`` until the process is told to stop."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    register(server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as err:  # grpcio >= 1.53 raises; older versions return 0
        port, reason = 0, err
    else:
        reason = "the port is in use, or the address is not this machine's"
    if port == 0:
        sys.exit(f"{name} cannot listen on {address}: {reason}")
    server.start()
    host = address.rsplit(":", 1)[0]
    print(f"{name} listening on {host}:{port}", flush=True)

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()
    server.stop(GRACE_SECONDS).wait()


def trace_parent(context: grpc.ServicerContext) -> str | None:
    """The W3C trace context evented sent with this call (its ``traceparent`` metadata), or None when tracing is off.

    Hand it to your OpenTelemetry SDK's propagator to continue evented's trace in your service: this template
    exports no spans itself (the OpenTelemetry Python packages are not installed where it is built).
    """
    for key, value in context.invocation_metadata() or ():
        if key == "traceparent":
            return value if isinstance(value, str) else value.decode()
    return None
