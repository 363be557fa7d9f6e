package com.example.bank.domain;

/** What a client asks of an account. Amounts are in cents. */
public sealed interface AccountCommand {

  record OpenAccount(String owner) implements AccountCommand {}

  record Deposit(long amount) implements AccountCommand {}

  record Withdraw(long amount) implements AccountCommand {}

  /** Moves money to another account (its id, a UUID): this one is debited now, the transfers saga credits the other. */
  record TransferMoney(String toAccount, long amount) implements AccountCommand {}

  /** Issued by the transfers saga on the receiving account. */
  record ReceiveTransfer(String fromAccount, long amount) implements AccountCommand {}
}
