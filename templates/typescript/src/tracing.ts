import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type TextMapGetter,
} from '@opentelemetry/api';
import type { Metadata, sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';

/**
 * OpenTelemetry traces for the services: evented sends W3C `traceparent` in the gRPC metadata of every call
 * (business logic, projector, saga), and each handler here runs in a SERVER span that continues that trace, so
 * that a command's trace shows what your code did. Configured like evented, by the standard variables: on when
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set or OTEL_TRACES_EXPORTER names an
 * exporter, off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none; OTLP over http/protobuf.
 * Off, the SDK is not even loaded, and the handlers run as they are. Spans of your own: `trace.getTracer(…)`
 * from @opentelemetry/api, inside a handler, are children of its span.
 */

const wanted = (env: NodeJS.ProcessEnv): boolean => {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER) return !env.OTEL_TRACES_EXPORTER.split(',').includes('none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
};

let shutdown: (() => Promise<void>) | undefined;

/** Starts the SDK when the environment asks for traces; `service` is the default service.name. */
export const startTracing = async (service: string): Promise<void> => {
  if (!wanted(process.env)) return;
  const [
    { NodeTracerProvider },
    { BatchSpanProcessor },
    { OTLPTraceExporter },
    resources,
    { W3CTraceContextPropagator },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const provider = new NodeTracerProvider({
    resource: resources
      .resourceFromAttributes({ 'service.name': service })
      .merge(resources.detectResources({ detectors: [resources.envDetector] })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  shutdown = () => provider.shutdown();
};

/** Exports what is still buffered (before the process exits). */
export const stopTracing = async (): Promise<void> => {
  await shutdown?.().catch(() => {});
};

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => metadata.get(key).map(String),
};

/**
 * Each unary handler of `implementation` in a SERVER span named `<service>/<method>`, a child of the caller's
 * span (its `traceparent`), ERROR with the gRPC code when it answers with one.
 */
export const traced = (
  service: string,
  implementation: UntypedServiceImplementation,
): UntypedServiceImplementation => {
  if (shutdown === undefined) return implementation;
  const tracer = trace.getTracer(service);
  return Object.fromEntries(
    Object.entries(implementation).map(([method, handler]) => [
      method,
      (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const parent = propagation.extract(ROOT_CONTEXT, call.metadata, metadataGetter);
        const span = tracer.startSpan(
          `${service}/${method}`,
          { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.method': method } },
          parent,
        );
        const done: sendUnaryData<unknown> = (error, ...rest) => {
          if (error) {
            span.setAttribute('rpc.grpc.status_code', error.code ?? 2);
            span.setStatus({ code: SpanStatusCode.ERROR, message: error.details ?? '' });
          }
          span.end();
          callback(error, ...rest);
        };
        context.with(trace.setSpan(parent, span), () =>
          (handler as (c: typeof call, cb: typeof done) => void)(call, done),
        );
      },
    ]),
  );
};
