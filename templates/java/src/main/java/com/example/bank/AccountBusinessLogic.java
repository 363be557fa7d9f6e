package com.example.bank;

import com.example.bank.domain.Account;
import com.example.bank.domain.AccountCommand;
import com.example.bank.domain.AccountEvent;
import com.example.bank.domain.DomainException;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import name.benjaminabbitt.evented.BusinessLogicGrpc;
import name.benjaminabbitt.evented.Evented.CommandPage;
import name.benjaminabbitt.evented.Evented.ContextualCommand;
import name.benjaminabbitt.evented.Evented.EventBook;
import name.benjaminabbitt.evented.Evented.EventPage;
import name.benjaminabbitt.evented.Evented.Snapshot;

/**
 * The account domain's business logic, served as evented.BusinessLogic. evented sends the aggregate's prior state
 * (its latest snapshot and the events after it) with the command; we answer with the new events, and a snapshot
 * every {@code snapshotEvery} events so that loading an account never replays its whole history. A refused command
 * is a gRPC error (INVALID_ARGUMENT or FAILED_PRECONDITION) that reaches the caller unchanged; nothing is stored.
 */
public final class AccountBusinessLogic extends BusinessLogicGrpc.BusinessLogicImplBase {

  /** The state before the command, and the sequence the next event gets. */
  public record Prior(Account state, int next) {}

  private final int snapshotEvery;

  public AccountBusinessLogic(int snapshotEvery) {
    this.snapshotEvery = snapshotEvery;
  }

  public static Prior priorState(ContextualCommand context) {
    EventBook prior = context.getEvents();
    Snapshot snapshot = prior.getSnapshot();
    Account state = snapshot.hasState() ? Codec.decodeState(snapshot.getState()) : Account.INITIAL;
    int next = snapshot.getSequence();
    for (EventPage page : prior.getPagesList()) {
      Account before = state;
      state = Codec.decodeEvent(page.getEvent()).map(before::evolve).orElse(before);
      next = (page.getSequenceCase() == EventPage.SequenceCase.NUM ? page.getNum() : next) + 1;
    }
    return new Prior(state, next);
  }

  public static EventBook handleCommand(ContextualCommand context, int snapshotEvery) {
    Prior prior = priorState(context);
    Account state = prior.state();
    int first = prior.next();
    int next = first;
    Instant now = Instant.now();
    Timestamp createdAt =
        Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()).build();
    EventBook.Builder book = EventBook.newBuilder().setCover(context.getCommand().getCover());
    int index = 0;
    for (CommandPage page : context.getCommand().getPagesList()) {
      int at = index++;
      AccountCommand command =
          Codec.decodeCommand(page.getCommand())
              .orElseThrow(
                  () ->
                      new DomainException(
                          DomainException.Kind.INVALID,
                          "pages[" + at + "].command has an unknown type: " + page.getCommand().getTypeUrl()));
      for (AccountEvent event : state.decide(command)) {
        state = state.evolve(event);
        book.addPages(
            EventPage.newBuilder()
                .setNum(next++)
                .setCreatedAt(createdAt)
                .setEvent(Codec.encodeEvent(event))
                .setSynchronous(page.getSynchronous()));
      }
    }
    boolean crossed = snapshotEvery > 0 && next / snapshotEvery > first / snapshotEvery;
    if (crossed) {
      book.setSnapshot(Snapshot.newBuilder().setSequence(next).setState(Codec.encodeState(state)));
    }
    return book.build();
  }

  @Override
  public void handle(ContextualCommand request, StreamObserver<EventBook> responseObserver) {
    EventBook decided;
    try {
      decided = handleCommand(request, snapshotEvery);
    } catch (DomainException refused) {
      Status status =
          refused.kind() == DomainException.Kind.INVALID ? Status.INVALID_ARGUMENT : Status.FAILED_PRECONDITION;
      responseObserver.onError(status.withDescription(refused.getMessage()).asRuntimeException());
      return;
    }
    responseObserver.onNext(decided);
    responseObserver.onCompleted();
  }
}
