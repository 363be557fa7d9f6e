package org.junit.jupiter.api;

import java.util.Objects;
import org.junit.jupiter.api.function.Executable;

/**
 * Stand-in for the JUnit 5 assertions the tests use, for build-offline.sh only (Maven uses the real JUnit). Same
 * names, arguments and meaning; add a method here when a test needs another one.
 */
public final class Assertions {

  private Assertions() {}

  public static void assertEquals(Object expected, Object actual) {
    if (!Objects.equals(expected, actual)) {
      throw new AssertionError("expected: <" + expected + "> but was: <" + actual + ">");
    }
  }

  public static void assertEquals(long expected, long actual) {
    assertEquals((Object) expected, (Object) actual);
  }

  public static void assertTrue(boolean condition) {
    assertTrue(condition, "expected: <true> but was: <false>");
  }

  public static void assertTrue(boolean condition, String message) {
    if (!condition) throw new AssertionError(message);
  }

  public static void assertFalse(boolean condition) {
    if (condition) throw new AssertionError("expected: <false> but was: <true>");
  }

  public static <T extends Throwable> T assertThrows(Class<T> expectedType, Executable executable) {
    try {
      executable.execute();
    } catch (Throwable thrown) {
      if (expectedType.isInstance(thrown)) return expectedType.cast(thrown);
      throw new AssertionError(
          "expected " + expectedType.getName() + " to be thrown, but " + thrown + " was thrown", thrown);
    }
    throw new AssertionError("expected " + expectedType.getName() + " to be thrown, but nothing was thrown");
  }
}
