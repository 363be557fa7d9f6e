package org.junit.jupiter.api.function;

/** Stand-in for JUnit 5's Executable, for build-offline.sh only. */
@FunctionalInterface
public interface Executable {
  void execute() throws Throwable;
}
