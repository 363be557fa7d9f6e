import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import type { Metadata } from '@grpc/grpc-js';
import { toGrpcStatus } from '../errors/to-grpc-status.js';
import { isServiceError } from '../grpc/unary.js';

/**
 * The spans of the runtime, through @opentelemetry/api only. While tracing is off (setup.ts never started the
 * SDK) every helper here is one boolean test and a direct call: no span object, no context switch, no
 * metadata, so the command path costs what it cost without tracing.
 *
 * Context travels in W3C `traceparent` / `tracestate`: in gRPC metadata to business logic, projectors, sagas
 * and other runtimes' BusinessCoordinator, and stored with each event (Origin.traceparent, of the append span),
 * so that the relay's publish and each asynchronous delivery join the trace of the command that stored it.
 */

export { SpanKind };

let enabled = false;

/** Set by setup.ts once the SDK (tracer provider, propagator, context manager) is registered. */
export const setTracingEnabled = (on: boolean): void => {
  enabled = on;
};

export const tracingEnabled = (): boolean => enabled;

const tracer = () => trace.getTracer('evented');

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; by default the active context (the caller's span). */
  parent?: Context;
  links?: Link[];
}

/** The gRPC status code of a failure: the one a service answered, else the one evented answers for it. */
const grpcCodeOf = (err: unknown): number => (isServiceError(err) ? err.code : toGrpcStatus(err).code);

/** ERROR status with the gRPC code; the message is the error's own (never a payload). */
export const markFailed = (span: Span, err: unknown): void => {
  const code = grpcCodeOf(err);
  span.setAttribute('rpc.grpc.status_code', code);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: isServiceError(err) ? err.details : toGrpcStatus(err).details,
  });
};

/**
 * Runs `run` in a span named `name` (active while it runs, so that what it calls is its child), ended when it
 * settles, ERROR with the gRPC code when it throws. Off: `run()`.
 */
export const inSpan = <T>(
  name: string,
  options: SpanOptions,
  run: (span: Span | undefined) => Promise<T>,
): Promise<T> => {
  if (!enabled) return run(undefined);
  return tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
    options.parent ?? context.active(),
    async (span) => {
      try {
        return await run(span);
      } catch (err) {
        markFailed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
};

/** A CLIENT span around one gRPC call, with the rpc.* attributes; what it sends carries its context. */
export const inGrpcCall = <T>(
  name: string,
  call: { service: string; method: string; address: string; attributes?: Attributes },
  run: () => Promise<T>,
): Promise<T> =>
  inSpan(
    name,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': call.service,
        'rpc.method': call.method,
        'server.address': call.address,
        ...call.attributes,
      },
    },
    run,
  );

/** `traceparent` (and `tracestate`) of the active span, as HTTP/2 headers; undefined when off or none. */
export const traceHeaders = (): Record<string, string> | undefined => {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent === undefined ? undefined : carrier;
};

/** Adds the active span's `traceparent` (and `tracestate`) to outgoing gRPC metadata. */
export const withTraceMetadata = (metadata: Metadata): Metadata => {
  const headers = traceHeaders();
  if (headers !== undefined) for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
};

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key).map(String);
    return values.length === 0 ? undefined : values;
  },
};

/** Runs `run` as a child of the caller's span, when its gRPC metadata carries a `traceparent`. */
export const asCalledBy = <T>(metadata: Metadata, run: () => Promise<T>): Promise<T> => {
  if (!enabled) return run();
  return context.with(propagation.extract(ROOT_CONTEXT, metadata, metadataGetter), run);
};

/** The `traceparent` of the active span, to store with events; undefined when off or none is active. */
export const activeTraceparent = (): string | undefined => traceHeaders()?.traceparent;

/** A span context from a stored `traceparent`, or undefined when it is not a valid one. */
const storedContext = (traceparent: string): Context | undefined => {
  const extracted = propagation.extract(ROOT_CONTEXT, { traceparent });
  return trace.getSpanContext(extracted) === undefined ? undefined : extracted;
};

/** At most this many links on one span: a large batch links a sample of the traces it carries. */
const MAX_LINKS = 128;

/**
 * Where a span about stored events belongs: as a child of their trace when they all come from one (one
 * command's events, the usual case: the first of them is the parent, the others linked), else as the root of
 * its own trace with a link to each of theirs. Events stored without a traceparent (tracing off then) add
 * nothing; none at all: a root span.
 */
export const placeAmong = (
  traceparents: Iterable<string | undefined>,
): { parent: Context; links: Link[] } => {
  const distinct = new Map<string, Context>();
  for (const traceparent of traceparents) {
    if (traceparent === undefined || traceparent === '' || distinct.has(traceparent)) continue;
    const stored = storedContext(traceparent);
    if (stored !== undefined) distinct.set(traceparent, stored);
    if (distinct.size > MAX_LINKS) break;
  }
  const contexts = [...distinct.values()];
  const links = (from: Context[]): Link[] =>
    from.slice(0, MAX_LINKS).map((it) => ({ context: trace.getSpanContext(it)! }));
  const traces = new Set(contexts.map((it) => trace.getSpanContext(it)!.traceId));
  if (traces.size === 1) return { parent: contexts[0]!, links: links(contexts.slice(1)) };
  return { parent: ROOT_CONTEXT, links: links(contexts) };
};
