/** Traces (OpenTelemetry): the SDK's start and the spans the runtime records. See README "Observability → Traces". */
export { startTracing, serviceNameOf, type Tracing, type TracingOptions } from './setup.js';
export { traceSettingsOf, type TraceSettings } from './settings.js';
export {
  activeTraceparent,
  asCalledBy,
  inGrpcCall,
  inSpan,
  SpanKind,
  traceHeaders,
  tracingEnabled,
  withTraceMetadata,
} from './spans.js';
export { inDelivery, inRelayPublish } from './events.js';
