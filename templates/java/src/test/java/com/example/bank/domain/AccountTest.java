package com.example.bank.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.Test;

/** given(events).when(command): the events decided, or the refusal. */
class AccountTest {

  private static final String OTHER = "6f1c2d3e-4b5a-4c6d-8e7f-901234567890";
  private static final AccountOpened OPENED = new AccountOpened("ada");

  private static Account given(AccountEvent... events) {
    return Account.of(List.of(events));
  }

  private static DomainException refusal(Account state, AccountCommand command) {
    return assertThrows(DomainException.class, () -> state.decide(command));
  }

  @Test
  void opensAnAccount() {
    assertEquals(List.of(new AccountOpened("ada")), given().decide(new OpenAccount("ada")));
  }

  @Test
  void refusesToOpenAnAccountTwice() {
    DomainException refused = refusal(given(OPENED), new OpenAccount("bob"));
    assertEquals(DomainException.Kind.REJECTED, refused.kind());
    assertTrue(refused.getMessage().contains("already open"), refused.getMessage());
  }

  @Test
  void refusesAnEmptyOwner() {
    assertEquals(DomainException.Kind.INVALID, refusal(given(), new OpenAccount(" ")).kind());
  }

  @Test
  void depositsAndWithdrawsRecordingTheBalance() {
    MoneyDeposited deposited = new MoneyDeposited(100, 100);
    assertEquals(List.of(deposited), given(OPENED).decide(new Deposit(100)));
    assertEquals(List.of(new MoneyWithdrawn(30, 70)), given(OPENED, deposited).decide(new Withdraw(30)));
  }

  @Test
  void refusesAWithdrawalOverTheBalance() {
    DomainException refused = refusal(given(OPENED, new MoneyDeposited(10, 10)), new Withdraw(11));
    assertEquals(DomainException.Kind.REJECTED, refused.kind());
    assertEquals("insufficient funds: the balance is 10, the withdrawal is 11", refused.getMessage());
  }

  @Test
  void refusesMoneyMovementsOnAnAccountThatIsNotOpenAndAmountsThatAreNotPositive() {
    assertTrue(refusal(given(), new Deposit(5)).getMessage().contains("not open"));
    assertEquals(DomainException.Kind.INVALID, refusal(given(OPENED), new Deposit(0)).kind());
  }

  @Test
  void transfersOutOnlyWhatTheBalanceCoversToAValidAccountId() {
    Account funded = given(OPENED, new MoneyDeposited(50, 50));
    assertEquals(
        List.of(new MoneyTransferredOut(OTHER, 20, 30)), funded.decide(new TransferMoney(OTHER, 20)));
    assertEquals(DomainException.Kind.REJECTED, refusal(funded, new TransferMoney(OTHER, 60)).kind());
    assertEquals(DomainException.Kind.INVALID, refusal(funded, new TransferMoney("bob", 5)).kind());
  }

  @Test
  void receivesATransfer() {
    assertEquals(
        List.of(new TransferReceived(OTHER, 20, 20)),
        given(new AccountOpened("bob")).decide(new ReceiveTransfer(OTHER, 20)));
  }
}
