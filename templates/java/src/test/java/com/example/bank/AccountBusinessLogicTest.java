package com.example.bank;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.bank.domain.Account;
import com.example.bank.domain.AccountCommand;
import com.example.bank.domain.AccountEvent;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import name.benjaminabbitt.evented.Evented.CommandBook;
import name.benjaminabbitt.evented.Evented.CommandPage;
import name.benjaminabbitt.evented.Evented.ContextualCommand;
import name.benjaminabbitt.evented.Evented.Cover;
import name.benjaminabbitt.evented.Evented.EventBook;
import name.benjaminabbitt.evented.Evented.EventPage;
import name.benjaminabbitt.evented.Evented.Snapshot;
import name.benjaminabbitt.evented.Evented.UUID;
import org.junit.jupiter.api.Test;

class AccountBusinessLogicTest {

  private static final Cover COVER =
      Cover.newBuilder()
          .setDomain("account")
          .setRoot(UUID.newBuilder().setValue(ByteString.copyFrom(new byte[16])))
          .build();

  private static EventPage page(int num, AccountEvent event) {
    return EventPage.newBuilder().setNum(num).setEvent(Codec.encodeEvent(event)).build();
  }

  private static ContextualCommand contextual(EventBook prior, AccountCommand command) {
    return ContextualCommand.newBuilder()
        .setEvents(prior)
        .setCommand(
            CommandBook.newBuilder()
                .setCover(COVER)
                .addPages(CommandPage.newBuilder().setSynchronous(true).setCommand(Codec.encodeCommand(command))))
        .build();
  }

  private static EventBook prior(EventPage... pages) {
    return EventBook.newBuilder().setCover(COVER).addAllPages(Arrays.asList(pages)).build();
  }

  @Test
  void numbersNewEventsAfterThePriorOnesAndKeepsTheSynchronousFlag() {
    EventBook book =
        AccountBusinessLogic.handleCommand(
            contextual(prior(page(0, new AccountEvent.AccountOpened("ada"))), new AccountCommand.Deposit(5)), 0);
    assertEquals(1, book.getPagesCount());
    EventPage decided = book.getPages(0);
    assertEquals(1, decided.getNum());
    assertTrue(decided.getSynchronous());
    assertEquals(new AccountEvent.MoneyDeposited(5, 5), Codec.decodeEvent(decided.getEvent()).orElseThrow());
    assertFalse(book.hasSnapshot());
  }

  @Test
  void foldsASnapshotAndTheEventsAfterIt() {
    EventBook events =
        prior(page(4, new AccountEvent.MoneyDeposited(2, 42))).toBuilder()
            .setSnapshot(Snapshot.newBuilder().setSequence(4).setState(Codec.encodeState(new Account(true, "ada", 40))))
            .build();
    assertEquals(
        new AccountBusinessLogic.Prior(new Account(true, "ada", 42), 5),
        AccountBusinessLogic.priorState(contextual(events, new AccountCommand.Deposit(1))));
  }

  @Test
  void returnsASnapshotCoveringEveryEventWhenAMultipleOfSnapshotEveryIsCrossed() {
    EventBook events =
        prior(page(0, new AccountEvent.AccountOpened("ada")), page(1, new AccountEvent.MoneyDeposited(1, 1)));
    EventBook book = AccountBusinessLogic.handleCommand(contextual(events, new AccountCommand.Deposit(2)), 3);
    assertEquals(3, book.getSnapshot().getSequence());
    assertEquals(new Account(true, "ada", 3), Codec.decodeState(book.getSnapshot().getState()));
  }

  @Test
  void refusesAnOverdraftWithFailedPreconditionAndTheReason() {
    List<Throwable> errors = new ArrayList<>();
    new AccountBusinessLogic(10)
        .handle(
            contextual(prior(page(0, new AccountEvent.AccountOpened("ada"))), new AccountCommand.Withdraw(1)),
            new StreamObserver<>() {
              @Override
              public void onNext(EventBook value) {
                throw new AssertionError("the overdraft was accepted");
              }

              @Override
              public void onError(Throwable t) {
                errors.add(t);
              }

              @Override
              public void onCompleted() {}
            });
    assertEquals(1, errors.size());
    Status status = ((StatusRuntimeException) errors.get(0)).getStatus();
    assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode());
    assertEquals("insufficient funds: the balance is 0, the withdrawal is 1", status.getDescription());
  }
}
