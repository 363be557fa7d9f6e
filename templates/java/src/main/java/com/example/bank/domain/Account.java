package com.example.bank.domain;

import com.example.bank.domain.AccountCommand.Deposit;
import com.example.bank.domain.AccountCommand.OpenAccount;
import com.example.bank.domain.AccountCommand.ReceiveTransfer;
import com.example.bank.domain.AccountCommand.TransferMoney;
import com.example.bank.domain.AccountCommand.Withdraw;
import com.example.bank.domain.AccountEvent.AccountOpened;
import com.example.bank.domain.AccountEvent.MoneyDeposited;
import com.example.bank.domain.AccountEvent.MoneyTransferredOut;
import com.example.bank.domain.AccountEvent.MoneyWithdrawn;
import com.example.bank.domain.AccountEvent.TransferReceived;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The bank account aggregate: {@link #decide} turns a command into events (or refuses it with a {@link
 * DomainException}), {@link #evolve} folds an event into the state. Plain Java, no gRPC: AccountBusinessLogic puts
 * it on the wire.
 *
 * @param balance in cents
 */
public record Account(boolean open, String owner, long balance) {

  public static final Account INITIAL = new Account(false, "", 0);

  private static final Pattern UUID =
      Pattern.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", Pattern.CASE_INSENSITIVE);

  /** Replays events from the initial state. */
  public static Account of(List<? extends AccountEvent> events) {
    Account state = INITIAL;
    for (AccountEvent event : events) state = state.evolve(event);
    return state;
  }

  public Account evolve(AccountEvent event) {
    if (event instanceof AccountOpened opened) return new Account(true, opened.owner(), 0);
    if (event instanceof MoneyDeposited deposited) return withBalance(deposited.balance());
    if (event instanceof MoneyWithdrawn withdrawn) return withBalance(withdrawn.balance());
    if (event instanceof MoneyTransferredOut out) return withBalance(out.balance());
    if (event instanceof TransferReceived received) return withBalance(received.balance());
    throw new IllegalArgumentException("unknown event " + event);
  }

  public List<AccountEvent> decide(AccountCommand command) {
    if (command instanceof OpenAccount c) {
      if (c.owner().isBlank()) throw DomainException.invalid("owner must not be empty");
      if (open) throw DomainException.rejected("the account is already open (owner " + owner + ")");
      return List.of(new AccountOpened(c.owner()));
    }
    if (command instanceof Deposit c) {
      positive(c.amount());
      mustBeOpen();
      return List.of(new MoneyDeposited(c.amount(), balance + c.amount()));
    }
    if (command instanceof Withdraw c) {
      positive(c.amount());
      mustBeOpen();
      mustCover(c.amount(), "withdrawal");
      return List.of(new MoneyWithdrawn(c.amount(), balance - c.amount()));
    }
    if (command instanceof TransferMoney c) {
      positive(c.amount());
      if (!UUID.matcher(c.toAccount()).matches()) {
        throw DomainException.invalid(
            "toAccount must be an account id (a UUID), got \"" + c.toAccount() + "\"");
      }
      mustBeOpen();
      mustCover(c.amount(), "transfer");
      return List.of(new MoneyTransferredOut(c.toAccount(), c.amount(), balance - c.amount()));
    }
    if (command instanceof ReceiveTransfer c) {
      positive(c.amount());
      mustBeOpen();
      return List.of(new TransferReceived(c.fromAccount(), c.amount(), balance + c.amount()));
    }
    throw new IllegalArgumentException("unknown command " + command);
  }

  private Account withBalance(long newBalance) {
    return new Account(open, owner, newBalance);
  }

  private static void positive(long amount) {
    if (amount <= 0) {
      throw DomainException.invalid("amount must be a positive number of cents, got " + amount);
    }
  }

  private void mustBeOpen() {
    if (!open) throw DomainException.rejected("the account is not open");
  }

  private void mustCover(long amount, String what) {
    if (amount > balance) {
      throw DomainException.rejected(
          "insufficient funds: the balance is " + balance + ", the " + what + " is " + amount);
    }
  }
}
