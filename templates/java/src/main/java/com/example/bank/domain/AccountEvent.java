package com.example.bank.domain;

/** What happened to an account. Each money movement records the balance after it. */
public sealed interface AccountEvent {

  record AccountOpened(String owner) implements AccountEvent {}

  record MoneyDeposited(long amount, long balance) implements AccountEvent {}

  record MoneyWithdrawn(long amount, long balance) implements AccountEvent {}

  record MoneyTransferredOut(String toAccount, long amount, long balance) implements AccountEvent {}

  record TransferReceived(String fromAccount, long amount, long balance) implements AccountEvent {}
}
