package com.example.bank;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * The W3C trace context evented sends with each call (its {@code traceparent} metadata: the span of evented that
 * made the call), kept in the call's {@link Context}: {@code TraceParent.current()} in a handler, {@code null} when
 * tracing is off. Hand it to your OpenTelemetry SDK's propagator to continue evented's trace in your service; this
 * template exports no spans itself (no OpenTelemetry jars are packaged where it is built offline).
 */
public final class TraceParent implements ServerInterceptor {

  private static final Metadata.Key<String> HEADER =
      Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> KEY = Context.key("traceparent");

  /** The traceparent of the call being handled, or null. */
  public static String current() {
    return KEY.get();
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String traceparent = headers.get(HEADER);
    if (traceparent == null) return next.startCall(call, headers);
    return Contexts.interceptCall(Context.current().withValue(KEY, traceparent), call, headers, next);
  }
}
