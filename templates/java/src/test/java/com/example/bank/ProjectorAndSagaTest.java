package com.example.bank;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.example.bank.AccountsReadModel.AccountView;
import com.example.bank.domain.AccountCommand;
import com.example.bank.domain.AccountEvent;
import com.google.protobuf.ByteString;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import name.benjaminabbitt.evented.Evented.CommandBook;
import name.benjaminabbitt.evented.Evented.Cover;
import name.benjaminabbitt.evented.Evented.EventBook;
import name.benjaminabbitt.evented.Evented.EventPage;
import name.benjaminabbitt.evented.Evented.UUID;
import org.junit.jupiter.api.Test;

class ProjectorAndSagaTest {

  private static final ByteString ADA = ByteString.copyFrom(filled((byte) 1));
  private static final String BOB = "02020202-0202-0202-0202-020202020202";

  private static byte[] filled(byte value) {
    byte[] bytes = new byte[16];
    Arrays.fill(bytes, value);
    return bytes;
  }

  private record Numbered(int num, AccountEvent event) {}

  private static EventBook book(ByteString root, Numbered... events) {
    EventBook.Builder book =
        EventBook.newBuilder()
            .setCover(Cover.newBuilder().setDomain("account").setRoot(UUID.newBuilder().setValue(root)));
    for (Numbered e : events) {
      book.addPages(EventPage.newBuilder().setNum(e.num()).setEvent(Codec.encodeEvent(e.event())));
    }
    return book.build();
  }

  @Test
  void theReadModelAppliesEachEventOnceEvenWhenDeliveredAgainAndSurvivesARestart() throws Exception {
    Path dir = Files.createTempDirectory("read-model-");
    Path path = dir.resolve("accounts.json");
    try {
      AccountsReadModel model = new AccountsReadModel(path);
      EventBook opened =
          book(
              ADA,
              new Numbered(0, new AccountEvent.AccountOpened("ada")),
              new Numbered(1, new AccountEvent.MoneyDeposited(5, 5)));
      assertEquals(2, model.apply(opened));
      assertEquals(0, model.apply(opened));
      model.save();

      AccountsReadModel reloaded = new AccountsReadModel(path);
      String ada = Codec.uuidFromBytes(ADA);
      assertEquals(new AccountView(true, "ada", 5, 1), reloaded.get(ada).orElseThrow());
      int applied =
          reloaded.apply(
              book(
                  ADA,
                  new Numbered(1, new AccountEvent.MoneyDeposited(5, 5)),
                  new Numbered(2, new AccountEvent.MoneyWithdrawn(1, 4))));
      assertEquals(1, applied);
      assertEquals(4, reloaded.get(ada).orElseThrow().balance());
    } finally {
      Files.deleteIfExists(path);
      Files.deleteIfExists(dir);
    }
  }

  @Test
  void theSagaIssuesReceiveTransferForEachTransferOutAndNothingForOtherEvents() {
    List<CommandBook> commands =
        TransfersSaga.transferCommands(
            book(
                ADA,
                new Numbered(3, new AccountEvent.MoneyDeposited(5, 50)),
                new Numbered(4, new AccountEvent.MoneyTransferredOut(BOB, 20, 30))));
    assertEquals(1, commands.size());
    assertEquals(BOB, Codec.uuidFromBytes(commands.get(0).getCover().getRoot().getValue()));
    assertEquals("account", commands.get(0).getCover().getDomain());
    assertEquals(
        new AccountCommand.ReceiveTransfer(Codec.uuidFromBytes(ADA), 20),
        Codec.decodeCommand(commands.get(0).getPages(0).getCommand()).orElseThrow());
  }
}
