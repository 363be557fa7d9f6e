// Package server runs one gRPC service until SIGINT or SIGTERM, then stops it gracefully.
package server

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Grace is how long in-flight calls may take to finish once the service is told to stop.
const Grace = 5 * time.Second

// PortFlag defines the -port flag: the port to listen on, $PORT by default, else defaultPort.
func PortFlag(defaultPort int) *int {
	return flag.Int("port", EnvInt("PORT", defaultPort), "the port to listen on ($PORT)")
}

// EnvInt is the integer in the environment variable name, or fallback when it is unset or not a number.
func EnvInt(name string, fallback int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return fallback
}

// Address is where to listen: $HOST (127.0.0.1 by default) and port.
func Address(port int) string {
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Run serves what register adds to a new gRPC server on address until the process is told to stop.
func Run(name, address string, register func(*grpc.Server)) error {
	lis, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("%s cannot listen on %s: %w", name, address, err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(keepTraceParent))
	register(srv)
	log.Printf("%s listening on %s", name, lis.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return err
	case <-stop:
	}
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(Grace):
		srv.Stop()
	}
	return nil
}

type traceParentKey struct{}

// TraceParent is the W3C trace context evented sent with the call (its `traceparent` metadata: the span of
// evented that made the call), or "" when tracing is off. Hand it to your OpenTelemetry SDK's propagator to
// continue evented's trace in your service; this template exports no spans itself (no OTLP exporter for Go is
// packaged where it is built).
func TraceParent(ctx context.Context) string {
	value, _ := ctx.Value(traceParentKey{}).(string)
	return value
}

// keepTraceParent puts the call's traceparent where TraceParent finds it.
func keepTraceParent(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if values := md.Get("traceparent"); len(values) > 0 {
			ctx = context.WithValue(ctx, traceParentKey{}, values[0])
		}
	}
	return handler(ctx, req)
}
