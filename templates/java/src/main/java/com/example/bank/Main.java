package com.example.bank;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Starts one of the three services: {@code java -jar target/bank.jar business-logic|projector|saga [--port N]}.
 * Each listens on 127.0.0.1 (or $HOST) at --port, or $PORT, or its default port (1737, 1738, 1749), prints one
 * line "NAME listening on HOST:PORT" when it accepts calls, and on SIGTERM or Ctrl-C finishes the calls in flight and
 * exits 0.
 */
public final class Main {

  private Main() {}

  public static void main(String[] args) throws Exception {
    String service = args.length > 0 ? args[0] : "";
    switch (service) {
      case "business-logic" -> {
        int snapshotEvery = Integer.parseInt(env("SNAPSHOT_EVERY", "10"));
        serve("account business logic", new AccountBusinessLogic(snapshotEvery), port(args, 1737));
      }
      case "projector" -> {
        AccountsReadModel model = new AccountsReadModel(Path.of(env("READ_MODEL", "read-model/accounts.json")));
        serve("accounts projector", new AccountsProjector(model), port(args, 1738));
      }
      case "saga" -> serve("transfers saga", new TransfersSaga(), port(args, 1749));
      default -> {
        System.err.println("usage: java -jar target/bank.jar business-logic|projector|saga [--port N]");
        System.exit(2);
      }
    }
  }

  private static void serve(String name, BindableService service, int port) throws Exception {
    String host = env("HOST", "127.0.0.1");
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .addService(ServerInterceptors.intercept(service, new TraceParent()))
            .build();
    try {
      server.start();
    } catch (IOException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      System.err.println(name + " cannot listen on " + host + ":" + port + ": " + cause.getMessage());
      System.exit(1);
    }
    // On SIGTERM or Ctrl-C: refuse new calls, let the calls in flight finish (5 seconds at most), then exit 0. A
    // JVM stopped by a signal otherwise exits 128 + the signal (143 for SIGTERM), which process managers count as
    // a failure. Halting skips the shutdown hooks still running: here only java.util.logging's, whose console
    // handler has already written every record.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(server), "shutdown"));
    System.out.println(name + " listening on " + host + ":" + server.getPort());
    server.awaitTermination();
  }

  private static void stop(Server server) {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) server.shutdownNow();
    } catch (InterruptedException e) {
      server.shutdownNow();
    }
    System.out.flush();
    System.err.flush();
    Runtime.getRuntime().halt(0);
  }

  private static int port(String[] args, int defaultPort) {
    for (int i = 1; i + 1 < args.length; i++) {
      if (args[i].equals("--port")) return Integer.parseInt(args[i + 1]);
    }
    return Integer.parseInt(env("PORT", String.valueOf(defaultPort)));
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }
}
