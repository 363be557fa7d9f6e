package com.example.bank.domain;

/**
 * A command the domain refuses: {@link Kind#INVALID} for a malformed command, {@link Kind#REJECTED} for a broken
 * business rule.
 */
public final class DomainException extends RuntimeException {

  public enum Kind {
    INVALID,
    REJECTED
  }

  private final Kind kind;

  public DomainException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  static DomainException invalid(String message) {
    return new DomainException(Kind.INVALID, message);
  }

  static DomainException rejected(String message) {
    return new DomainException(Kind.REJECTED, message);
  }
}
