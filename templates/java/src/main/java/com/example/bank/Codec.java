package com.example.bank;

import com.example.bank.account.v1.AccountOpened;
import com.example.bank.account.v1.AccountState;
import com.example.bank.account.v1.Deposit;
import com.example.bank.account.v1.MoneyDeposited;
import com.example.bank.account.v1.MoneyTransferredOut;
import com.example.bank.account.v1.MoneyWithdrawn;
import com.example.bank.account.v1.OpenAccount;
import com.example.bank.account.v1.ReceiveTransfer;
import com.example.bank.account.v1.TransferMoney;
import com.example.bank.account.v1.TransferReceived;
import com.example.bank.account.v1.Withdraw;
import com.example.bank.domain.Account;
import com.example.bank.domain.AccountCommand;
import com.example.bank.domain.AccountEvent;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.UUID;

/**
 * Between the domain's records (AccountCommand.*, AccountEvent.*, Account) and the protobuf messages of
 * proto/account/v1/account.proto (com.example.bank.account.v1), packed in google.protobuf.Any.
 */
public final class Codec {

  private Codec() {}

  public static Any encodeCommand(AccountCommand command) {
    Message message;
    if (command instanceof AccountCommand.OpenAccount c) {
      message = OpenAccount.newBuilder().setOwner(c.owner()).build();
    } else if (command instanceof AccountCommand.Deposit c) {
      message = Deposit.newBuilder().setAmount(c.amount()).build();
    } else if (command instanceof AccountCommand.Withdraw c) {
      message = Withdraw.newBuilder().setAmount(c.amount()).build();
    } else if (command instanceof AccountCommand.TransferMoney c) {
      message = TransferMoney.newBuilder().setToAccount(c.toAccount()).setAmount(c.amount()).build();
    } else if (command instanceof AccountCommand.ReceiveTransfer c) {
      message = ReceiveTransfer.newBuilder().setFromAccount(c.fromAccount()).setAmount(c.amount()).build();
    } else {
      throw new IllegalArgumentException("unknown command " + command);
    }
    return Any.pack(message);
  }

  /** Empty for a type this domain does not know. */
  public static Optional<AccountCommand> decodeCommand(Any any) {
    try {
      return Optional.ofNullable(
          switch (typeName(any)) {
            case "account.v1.OpenAccount" -> {
              var m = any.unpack(OpenAccount.class);
              yield new AccountCommand.OpenAccount(m.getOwner());
            }
            case "account.v1.Deposit" -> new AccountCommand.Deposit(any.unpack(Deposit.class).getAmount());
            case "account.v1.Withdraw" -> new AccountCommand.Withdraw(any.unpack(Withdraw.class).getAmount());
            case "account.v1.TransferMoney" -> {
              var m = any.unpack(TransferMoney.class);
              yield new AccountCommand.TransferMoney(m.getToAccount(), m.getAmount());
            }
            case "account.v1.ReceiveTransfer" -> {
              var m = any.unpack(ReceiveTransfer.class);
              yield new AccountCommand.ReceiveTransfer(m.getFromAccount(), m.getAmount());
            }
            default -> null;
          });
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("cannot decode " + any.getTypeUrl() + ": " + e.getMessage(), e);
    }
  }

  public static Any encodeEvent(AccountEvent event) {
    Message message;
    if (event instanceof AccountEvent.AccountOpened e) {
      message = AccountOpened.newBuilder().setOwner(e.owner()).build();
    } else if (event instanceof AccountEvent.MoneyDeposited e) {
      message = MoneyDeposited.newBuilder().setAmount(e.amount()).setBalance(e.balance()).build();
    } else if (event instanceof AccountEvent.MoneyWithdrawn e) {
      message = MoneyWithdrawn.newBuilder().setAmount(e.amount()).setBalance(e.balance()).build();
    } else if (event instanceof AccountEvent.MoneyTransferredOut e) {
      message =
          MoneyTransferredOut.newBuilder()
              .setToAccount(e.toAccount())
              .setAmount(e.amount())
              .setBalance(e.balance())
              .build();
    } else if (event instanceof AccountEvent.TransferReceived e) {
      message =
          TransferReceived.newBuilder()
              .setFromAccount(e.fromAccount())
              .setAmount(e.amount())
              .setBalance(e.balance())
              .build();
    } else {
      throw new IllegalArgumentException("unknown event " + event);
    }
    return Any.pack(message);
  }

  /** Empty for a type this domain does not know. */
  public static Optional<AccountEvent> decodeEvent(Any any) {
    try {
      return Optional.ofNullable(
          switch (typeName(any)) {
            case "account.v1.AccountOpened" ->
                new AccountEvent.AccountOpened(any.unpack(AccountOpened.class).getOwner());
            case "account.v1.MoneyDeposited" -> {
              var m = any.unpack(MoneyDeposited.class);
              yield new AccountEvent.MoneyDeposited(m.getAmount(), m.getBalance());
            }
            case "account.v1.MoneyWithdrawn" -> {
              var m = any.unpack(MoneyWithdrawn.class);
              yield new AccountEvent.MoneyWithdrawn(m.getAmount(), m.getBalance());
            }
            case "account.v1.MoneyTransferredOut" -> {
              var m = any.unpack(MoneyTransferredOut.class);
              yield new AccountEvent.MoneyTransferredOut(m.getToAccount(), m.getAmount(), m.getBalance());
            }
            case "account.v1.TransferReceived" -> {
              var m = any.unpack(TransferReceived.class);
              yield new AccountEvent.TransferReceived(m.getFromAccount(), m.getAmount(), m.getBalance());
            }
            default -> null;
          });
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("cannot decode " + any.getTypeUrl() + ": " + e.getMessage(), e);
    }
  }

  public static Any encodeState(Account state) {
    return Any.pack(
        AccountState.newBuilder()
            .setOpen(state.open())
            .setOwner(state.owner())
            .setBalance(state.balance())
            .build());
  }

  public static Account decodeState(Any any) {
    try {
      AccountState state = any.unpack(AccountState.class);
      return new Account(state.getOpen(), state.getOwner(), state.getBalance());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("cannot decode the snapshot state: " + e.getMessage(), e);
    }
  }

  /** Account ids are UUIDs: text in commands and events, 16 bytes (RFC 4122 order) in evented's Cover. */
  public static ByteString uuidToBytes(String text) {
    UUID uuid = UUID.fromString(text);
    ByteBuffer bytes = ByteBuffer.allocate(16);
    bytes.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
    return ByteString.copyFrom(bytes.array());
  }

  public static String uuidFromBytes(ByteString bytes) {
    if (bytes.size() != 16) return new UUID(0, 0).toString();
    ByteBuffer buffer = bytes.asReadOnlyByteBuffer();
    return new UUID(buffer.getLong(), buffer.getLong()).toString();
  }

  private static String typeName(Any any) {
    String url = any.getTypeUrl();
    return url.substring(url.lastIndexOf('/') + 1);
  }
}
