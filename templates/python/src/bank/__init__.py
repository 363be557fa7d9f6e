"""A bank account on evented: business logic, a projector and a saga, as gRPC services.

The generated protobuf modules (``evented``, ``account.v1``) live beside this package in ``src/``;
``make gen`` writes them from ``proto/``.
"""
