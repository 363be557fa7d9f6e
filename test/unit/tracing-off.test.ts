import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { traceSettingsOf } from '../../runtime/tracing/settings.js';

/**
 * Traces off cost nothing: unless the OTEL_* variables ask for traces, the OpenTelemetry SDK is never imported
 * (runtime/tracing/sdk.ts is the one module that imports it, dynamically), and the span helpers do nothing.
 */

const logger = pino({ level: 'silent' });
const options = (env: NodeJS.ProcessEnv) => ({
  env,
  project: 'bank',
  roles: ['command'],
  everyRole: false,
  logger,
});

describe('tracing off', () => {
  afterEach(() => {
    vi.doUnmock('../../runtime/tracing/sdk.js');
    vi.resetModules();
  });

  it('the runtime never loads the SDK unless OTEL_* asks for traces', async () => {
    const loaded = vi.fn();
    vi.doMock('../../runtime/tracing/sdk.js', () => {
      loaded();
      return { startSdk: async () => ({ shutdown: async () => {} }) };
    });
    // The whole runtime API, and tracing started with nothing set (or disabled): no SDK.
    await import('../../runtime/index.js');
    const { startTracing } = await import('../../runtime/tracing/index.js');
    const { tracingEnabled } = await import('../../runtime/tracing/spans.js');
    for (const env of [
      {},
      { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' },
    ]) {
      const tracing = await startTracing(options(env));
      expect(tracing.on).toBe(false);
      expect(tracingEnabled()).toBe(false);
    }
    expect(loaded).not.toHaveBeenCalled();

    // Asked for, it is loaded (so the check above can fail), once for every runtime of the process, and it stops
    // with the last of them.
    const first = await startTracing(options({ OTEL_TRACES_EXPORTER: 'console' }));
    const second = await startTracing(options({ OTEL_TRACES_EXPORTER: 'console' }));
    expect(loaded).toHaveBeenCalledTimes(1);
    expect(tracingEnabled()).toBe(true);
    await first.shutdown();
    await first.shutdown();
    expect(tracingEnabled()).toBe(true);
    await second.shutdown();
    expect(tracingEnabled()).toBe(false);
  });

  it('off, a span helper runs its work directly and sends no traceparent', async () => {
    const { inSpan, traceHeaders, activeTraceparent } = await import('../../runtime/tracing/spans.js');
    expect(await inSpan('evented.command account', {}, async (span) => span)).toBeUndefined();
    expect(traceHeaders()).toBeUndefined();
    expect(activeTraceparent()).toBeUndefined();
  });
});

describe('when traces are on (traceSettingsOf)', () => {
  it('nothing set, none, or OTEL_SDK_DISABLED=true: off', () => {
    expect(traceSettingsOf({})).toBeUndefined();
    expect(
      traceSettingsOf({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toBe(undefined);
    expect(
      traceSettingsOf({ OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp,console' }),
    ).toBeUndefined();
  });

  it('an OTLP endpoint turns them on, over http/protobuf unless grpc is asked for', () => {
    expect(traceSettingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      exporters: ['otlp'],
      protocol: 'http/protobuf',
      url: 'http://collector:4318/v1/traces',
    });
    expect(
      traceSettingsOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom' }),
    ).toMatchObject({
      url: 'http://collector:4318/custom',
    });
    expect(
      traceSettingsOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      }),
    ).toEqual({ exporters: ['otlp'], protocol: 'grpc', url: 'http://collector:4317' });
    expect(traceSettingsOf({ OTEL_TRACES_EXPORTER: 'otlp' })).toMatchObject({
      url: 'http://localhost:4318/v1/traces',
    });
    expect(traceSettingsOf({ OTEL_TRACES_EXPORTER: 'console' })).toMatchObject({ exporters: ['console'] });
  });

  it('what evented cannot export with is one line, naming the variable', () => {
    expect(() => traceSettingsOf({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(
      /^OTEL_TRACES_EXPORTER=zipkin: evented exports traces with otlp or console, not zipkin$/,
    );
    expect(() =>
      traceSettingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
    ).toThrow(/^OTEL_EXPORTER_OTLP_PROTOCOL=http\/json: evented exports traces over http\/protobuf or grpc$/);
  });
});
