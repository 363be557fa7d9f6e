package com.example.bank;

import com.example.bank.domain.AccountCommand;
import com.example.bank.domain.AccountEvent;
import com.google.protobuf.Empty;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Optional;
import name.benjaminabbitt.evented.Evented.CommandBook;
import name.benjaminabbitt.evented.Evented.CommandPage;
import name.benjaminabbitt.evented.Evented.Cover;
import name.benjaminabbitt.evented.Evented.EventBook;
import name.benjaminabbitt.evented.Evented.SynchronousProcessingResponse;
import name.benjaminabbitt.evented.Evented.UUID;
import name.benjaminabbitt.evented.SagaGrpc;

/**
 * The transfers saga, served as evented.Saga: when money leaves an account (MoneyTransferredOut), it issues
 * ReceiveTransfer to the receiving account. evented sends the command through the account domain's business logic,
 * and makes sure a redelivered event does not credit the money twice.
 */
public final class TransfersSaga extends SagaGrpc.SagaImplBase {

  public static List<CommandBook> transferCommands(EventBook book) {
    String from = Codec.uuidFromBytes(book.getCover().getRoot().getValue());
    String domain = book.getCover().getDomain().isEmpty() ? "account" : book.getCover().getDomain();
    return book.getPagesList().stream()
        .map(page -> Codec.decodeEvent(page.getEvent()))
        .flatMap(Optional::stream)
        .filter(AccountEvent.MoneyTransferredOut.class::isInstance)
        .map(AccountEvent.MoneyTransferredOut.class::cast)
        .map(
            out ->
                CommandBook.newBuilder()
                    .setCover(
                        Cover.newBuilder()
                            .setDomain(domain)
                            .setRoot(UUID.newBuilder().setValue(Codec.uuidToBytes(out.toAccount()))))
                    .addPages(
                        CommandPage.newBuilder()
                            .setSequence(0)
                            .setCommand(
                                Codec.encodeCommand(
                                    new AccountCommand.ReceiveTransfer(from, out.amount()))))
                    .build())
        .toList();
  }

  @Override
  public void handle(EventBook book, StreamObserver<Empty> responseObserver) {
    responseObserver.onNext(Empty.getDefaultInstance());
    responseObserver.onCompleted();
  }

  @Override
  public void handleSync(EventBook book, StreamObserver<SynchronousProcessingResponse> responseObserver) {
    responseObserver.onNext(
        SynchronousProcessingResponse.newBuilder().addAllCommands(transferCommands(book)).build());
    responseObserver.onCompleted();
  }
}
