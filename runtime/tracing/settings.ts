import { ConfigError } from '../errors/index.js';

/**
 * Whether, and where, this process exports traces: read from the standard OpenTelemetry variables, so that a
 * collector is pointed at the way every other service in a deployment is. The rule:
 *
 * - `OTEL_SDK_DISABLED=true` wins: no traces, whatever else is set.
 * - `OTEL_TRACES_EXPORTER` set: `none` turns traces off; otherwise its comma-separated exporters (`otlp`,
 *   `console`) are used.
 * - Else traces are on when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 *   `OTEL_EXPORTER_OTLP_ENDPOINT`), exported over OTLP.
 *
 * Nothing set: off, and the SDK is never loaded (see setup.ts). OTLP goes over `http/protobuf` (the spec's
 * default) or `grpc`, per `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`.
 */

export type TraceExporterKind = 'otlp' | 'console';
export type OtlpProtocol = 'http/protobuf' | 'grpc';

export interface TraceSettings {
  exporters: readonly TraceExporterKind[];
  protocol: OtlpProtocol;
  /** Where OTLP spans go: the full URL of the traces endpoint (http) or the collector's address (grpc). */
  url: string;
}

const EXPORTERS = new Set<string>(['otlp', 'console']);

const set = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/** `…/v1/traces` under a base endpoint, as the spec builds it from OTEL_EXPORTER_OTLP_ENDPOINT. */
const tracesPath = (base: string): string => `${base.replace(/\/+$/, '')}/v1/traces`;

/** The settings of `env`, or undefined when traces are off. Throws ConfigError for a value evented cannot use. */
export const traceSettingsOf = (env: NodeJS.ProcessEnv): TraceSettings | undefined => {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const signalEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const baseEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  let exporters: TraceExporterKind[];
  if (set(env.OTEL_TRACES_EXPORTER)) {
    const named = env.OTEL_TRACES_EXPORTER.split(',')
      .map((it) => it.trim().toLowerCase())
      .filter((it) => it !== '');
    if (named.includes('none')) return undefined;
    const unknown = named.filter((it) => !EXPORTERS.has(it));
    if (unknown.length > 0) {
      throw new ConfigError(
        `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: evented exports traces with otlp or console, not ${unknown.join(', ')}`,
      );
    }
    exporters = [...new Set(named as TraceExporterKind[])];
  } else if (set(signalEndpoint) || set(baseEndpoint)) {
    exporters = ['otlp'];
  } else {
    return undefined;
  }
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  if (protocol !== 'http/protobuf' && protocol !== 'grpc') {
    throw new ConfigError(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: evented exports traces over http/protobuf or grpc`,
    );
  }
  const url =
    protocol === 'grpc'
      ? set(signalEndpoint)
        ? signalEndpoint.trim()
        : set(baseEndpoint)
          ? baseEndpoint.trim()
          : 'http://localhost:4317'
      : set(signalEndpoint)
        ? signalEndpoint.trim()
        : tracesPath(set(baseEndpoint) ? baseEndpoint.trim() : 'http://localhost:4318');
  return { exporters, protocol, url };
};
