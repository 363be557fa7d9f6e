package com.example.bank;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.bank.AccountsReadModel.AccountView;
import com.example.bank.domain.Account;
import com.example.bank.domain.AccountCommand;
import com.example.bank.domain.AccountEvent;
import com.google.protobuf.Empty;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import name.benjaminabbitt.evented.BusinessLogicGrpc;
import name.benjaminabbitt.evented.Evented.CommandBook;
import name.benjaminabbitt.evented.Evented.CommandPage;
import name.benjaminabbitt.evented.Evented.ContextualCommand;
import name.benjaminabbitt.evented.Evented.Cover;
import name.benjaminabbitt.evented.Evented.EventBatch;
import name.benjaminabbitt.evented.Evented.EventBook;
import name.benjaminabbitt.evented.Evented.EventPage;
import name.benjaminabbitt.evented.Evented.Projection;
import name.benjaminabbitt.evented.Evented.SynchronousProcessingResponse;
import name.benjaminabbitt.evented.Evented.UUID;
import name.benjaminabbitt.evented.ProjectorGrpc;
import name.benjaminabbitt.evented.SagaGrpc;
import org.junit.jupiter.api.Test;

/** The three services through gRPC (in-process: real stubs, serialization and status codes, no sockets). */
class ServicesTest {

  private static final String ADA = "01010101-0101-0101-0101-010101010101";
  private static final String BOB = "02020202-0202-0202-0202-020202020202";

  private static Cover cover(String account) {
    return Cover.newBuilder()
        .setDomain("account")
        .setRoot(UUID.newBuilder().setValue(Codec.uuidToBytes(account)))
        .build();
  }

  private static EventBook book(String account, int first, AccountEvent... events) {
    EventBook.Builder book = EventBook.newBuilder().setCover(cover(account));
    for (AccountEvent event : events) {
      book.addPages(EventPage.newBuilder().setNum(first++).setEvent(Codec.encodeEvent(event)));
    }
    return book.build();
  }

  /** Serves `service` in-process for the length of `body`. */
  private static void serving(BindableService service, Consumer<ManagedChannel> body) throws Exception {
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      body.accept(channel);
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void theBusinessLogicAnswersWithEventsOrRefusesWithStatusAndReason() throws Exception {
    serving(
        new AccountBusinessLogic(10),
        channel -> {
          var stub = BusinessLogicGrpc.newBlockingStub(channel);
          ContextualCommand.Builder context =
              ContextualCommand.newBuilder()
                  .setEvents(book(ADA, 0, new AccountEvent.AccountOpened("ada")))
                  .setCommand(
                      CommandBook.newBuilder()
                          .setCover(cover(ADA))
                          .addPages(
                              CommandPage.newBuilder()
                                  .setCommand(Codec.encodeCommand(new AccountCommand.Deposit(100)))));
          EventBook decided = stub.handle(context.build());
          assertEquals(1, decided.getPages(0).getNum());
          assertEquals(
              new AccountEvent.MoneyDeposited(100, 100),
              Codec.decodeEvent(decided.getPages(0).getEvent()).orElseThrow());

          context
              .getCommandBuilder()
              .setPages(
                  0, CommandPage.newBuilder().setCommand(Codec.encodeCommand(new AccountCommand.Withdraw(5))));
          StatusRuntimeException refused =
              assertThrows(StatusRuntimeException.class, () -> stub.handle(context.build()));
          assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode());
          assertEquals(
              "insufficient funds: the balance is 0, the withdrawal is 5", refused.getStatus().getDescription());

          context.getCommandBuilder().setPages(0, CommandPage.newBuilder());
          StatusRuntimeException invalid =
              assertThrows(StatusRuntimeException.class, () -> stub.handle(context.build()));
          assertEquals(Status.Code.INVALID_ARGUMENT, invalid.getStatus().getCode());
        });
  }

  @Test
  void theProjectorAppliesBooksAndBatchesOnceProjectsAndResets() throws Exception {
    Path dir = Files.createTempDirectory("projector-");
    Path path = dir.resolve("accounts.json");
    try {
      serving(
          new AccountsProjector(new AccountsReadModel(path)),
          channel -> {
            var stub = ProjectorGrpc.newBlockingStub(channel);
            EventBook opened =
                book(ADA, 0, new AccountEvent.AccountOpened("ada"), new AccountEvent.MoneyDeposited(5, 5));
            stub.handle(opened);
            stub.handleBatch(
                EventBatch.newBuilder()
                    .addBooks(opened)
                    .addBooks(book(BOB, 0, new AccountEvent.AccountOpened("bob")))
                    .build());
            Projection projection = stub.handleSync(book(ADA, 2, new AccountEvent.MoneyWithdrawn(2, 3)));
            assertEquals("accounts", projection.getProjector());
            assertEquals(2, projection.getSequence());
            assertEquals(new Account(true, "ada", 3), Codec.decodeState(projection.getProjection()));

            AccountsReadModel saved = new AccountsReadModel(path);
            assertEquals(new AccountView(true, "ada", 3, 2), saved.get(ADA).orElseThrow());
            assertEquals(new AccountView(true, "bob", 0, 0), saved.get(BOB).orElseThrow());

            stub.reset(Empty.getDefaultInstance());
            assertTrue(new AccountsReadModel(path).get(ADA).isEmpty());
          });
    } finally {
      Files.deleteIfExists(path);
      Files.deleteIfExists(dir);
    }
  }

  @Test
  void theSagaAnswersWithTheCommandsItIssues() throws Exception {
    serving(
        new TransfersSaga(),
        channel -> {
          SynchronousProcessingResponse response =
              SagaGrpc.newBlockingStub(channel)
                  .handleSync(book(ADA, 4, new AccountEvent.MoneyTransferredOut(BOB, 20, 30)));
          assertEquals(0, response.getBooksCount());
          assertEquals(1, response.getCommandsCount());
          assertEquals(BOB, Codec.uuidFromBytes(response.getCommands(0).getCover().getRoot().getValue()));
          assertEquals(
              new AccountCommand.ReceiveTransfer(ADA, 20),
              Codec.decodeCommand(response.getCommands(0).getPages(0).getCommand()).orElseThrow());
        });
  }
}
