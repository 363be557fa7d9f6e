package com.example.bank;

import com.example.bank.domain.Account;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import name.benjaminabbitt.evented.Evented.EventBook;
import name.benjaminabbitt.evented.Evented.EventPage;

/**
 * The accounts read model: every account's owner and balance, in a JSON file of its own. Each account also
 * remembers the last event sequence applied to it, saved in the same write, so that an event delivered twice
 * (evented delivers at least once) is applied once. Not thread-safe: the projector serialises calls.
 */
public final class AccountsReadModel {

  /** An account as the read model shows it; {@code sequence} is the sequence of the last event applied. */
  public record AccountView(boolean open, String owner, long balance, long sequence) {

    Account account() {
      return new Account(open, owner, balance);
    }

    static AccountView of(Account account, long sequence) {
      return new AccountView(account.open(), account.owner(), account.balance(), sequence);
    }
  }

  private final Path path;
  private final Map<String, AccountView> accounts = new LinkedHashMap<>();

  public AccountsReadModel(Path path) {
    this.path = path;
    load();
  }

  public Optional<AccountView> get(String id) {
    return Optional.ofNullable(accounts.get(id));
  }

  /** Applies the pages not applied yet; returns how many were new. */
  public int apply(EventBook book) {
    String id = Codec.uuidFromBytes(book.getCover().getRoot().getValue());
    AccountView view = accounts.getOrDefault(id, AccountView.of(Account.INITIAL, -1));
    int applied = 0;
    for (EventPage page : book.getPagesList()) {
      if (page.getSequenceCase() != EventPage.SequenceCase.NUM) continue;
      long sequence = Integer.toUnsignedLong(page.getNum());
      if (sequence <= view.sequence()) continue;
      Account before = view.account();
      Account after = Codec.decodeEvent(page.getEvent()).map(before::evolve).orElse(before);
      view = AccountView.of(after, sequence);
      applied++;
    }
    accounts.put(id, view);
    return applied;
  }

  /** Forgets every account (before a rebuild replays every event). */
  public void reset() {
    accounts.clear();
  }

  /** Writes the file atomically (a crash leaves the old or the new version, never half of one). */
  public void save() {
    Map<String, Object> document = new LinkedHashMap<>();
    accounts.forEach(
        (id, view) -> {
          Map<String, Object> fields = new LinkedHashMap<>();
          fields.put("open", view.open());
          fields.put("owner", view.owner());
          fields.put("balance", view.balance());
          fields.put("sequence", view.sequence());
          document.put(id, fields);
        });
    try {
      Path parent = path.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path temporary = parent.resolve(path.getFileName() + ".tmp");
      Files.writeString(temporary, Json.write(document), StandardCharsets.UTF_8);
      Files.move(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + path, e);
    }
  }

  private void load() {
    String text;
    try {
      text = Files.readString(path, StandardCharsets.UTF_8);
    } catch (NoSuchFileException missing) {
      return;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
    if (!(Json.parse(text) instanceof Map<?, ?> document)) {
      throw new IllegalStateException(path + " does not hold a JSON object");
    }
    document.forEach(
        (id, value) -> {
          Map<?, ?> fields = (Map<?, ?>) value;
          accounts.put(
              (String) id,
              new AccountView(
                  (Boolean) fields.get("open"),
                  (String) fields.get("owner"),
                  ((Number) fields.get("balance")).longValue(),
                  ((Number) fields.get("sequence")).longValue()));
        });
  }
}
