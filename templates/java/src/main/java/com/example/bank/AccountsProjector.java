package com.example.bank;

import com.google.protobuf.Empty;
import io.grpc.stub.StreamObserver;
import name.benjaminabbitt.evented.Evented.EventBatch;
import name.benjaminabbitt.evented.Evented.EventBook;
import name.benjaminabbitt.evented.Evented.Projection;
import name.benjaminabbitt.evented.ProjectorGrpc;

/**
 * The accounts projector, served as evented.Projector: keeps the accounts read model up to date. Every call is saved
 * before it is answered, so an acknowledged event is never lost by a crash. gRPC calls arrive on several threads;
 * the read model sees them one at a time.
 */
public final class AccountsProjector extends ProjectorGrpc.ProjectorImplBase {

  public static final String NAME = "accounts";

  private final AccountsReadModel model;

  public AccountsProjector(AccountsReadModel model) {
    this.model = model;
  }

  @Override
  public void handle(EventBook book, StreamObserver<Empty> responseObserver) {
    synchronized (model) {
      if (model.apply(book) > 0) model.save();
    }
    done(responseObserver, Empty.getDefaultInstance());
  }

  /** Many books in one call (evented uses it when a projector has it): one write for all of them. */
  @Override
  public void handleBatch(EventBatch batch, StreamObserver<Empty> responseObserver) {
    synchronized (model) {
      int applied = 0;
      for (EventBook book : batch.getBooksList()) applied += model.apply(book);
      if (applied > 0) model.save();
    }
    done(responseObserver, Empty.getDefaultInstance());
  }

  /** Before a rebuild replays every event: forget everything. */
  @Override
  public void reset(Empty request, StreamObserver<Empty> responseObserver) {
    synchronized (model) {
      model.reset();
      model.save();
    }
    done(responseObserver, Empty.getDefaultInstance());
  }

  @Override
  public void handleSync(EventBook book, StreamObserver<Projection> responseObserver) {
    Projection.Builder projection = Projection.newBuilder().setCover(book.getCover()).setProjector(NAME);
    synchronized (model) {
      if (model.apply(book) > 0) model.save();
      model
          .get(Codec.uuidFromBytes(book.getCover().getRoot().getValue()))
          .ifPresent(
              view ->
                  projection
                      .setSequence((int) Math.max(view.sequence(), 0))
                      .setProjection(Codec.encodeState(view.account())));
    }
    done(responseObserver, projection.build());
  }

  private static <T> void done(StreamObserver<T> responseObserver, T response) {
    responseObserver.onNext(response);
    responseObserver.onCompleted();
  }
}
