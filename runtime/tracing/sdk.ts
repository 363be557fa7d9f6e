import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Attributes } from '@opentelemetry/api';
import type { TraceSettings } from './settings.js';

/**
 * The OpenTelemetry Node SDK, set up from TraceSettings. Imported only by setup.ts, and only when traces are
 * on: nothing else may import this module (test/unit/tracing-off.test.ts checks that the runtime does not).
 *
 * What the SDK reads from the environment itself still applies: OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_* (the
 * batch processor), OTEL_EXPORTER_OTLP(_TRACES)_HEADERS / _TIMEOUT / _COMPRESSION / _CERTIFICATE, and
 * OTEL_RESOURCE_ATTRIBUTES (merged under evented's own attributes).
 */

const otlpExporter = async (settings: TraceSettings): Promise<SpanExporter> => {
  if (settings.protocol === 'grpc') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
    return new OTLPTraceExporter({ url: settings.url });
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter({ url: settings.url });
};

export const startSdk = async (
  settings: TraceSettings,
  options: { attributes: Attributes },
): Promise<{ shutdown(): Promise<void> }> => {
  const spanProcessors: SpanProcessor[] = [];
  if (settings.exporters.includes('otlp')) {
    spanProcessors.push(new BatchSpanProcessor(await otlpExporter(settings)));
  }
  if (settings.exporters.includes('console')) {
    spanProcessors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  }
  const fromEnv = detectResources({ detectors: [envDetector] });
  const provider = new NodeTracerProvider({
    resource: fromEnv.merge(resourceFromAttributes(options.attributes)),
    spanProcessors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return { shutdown: () => provider.shutdown() };
};
