import type { Logger } from 'pino';
import { setTracingEnabled } from './spans.js';
import { traceSettingsOf } from './settings.js';

/**
 * Starts OpenTelemetry tracing for this process when the environment asks for it (settings.ts says when),
 * and only then: the SDK and its exporters are imported here, dynamically, so that a process without traces
 * never loads them and every span helper stays a no-op (spans.ts).
 */

export interface Tracing {
  /** Whether spans are recorded and exported. */
  readonly on: boolean;
  /** Ends and exports the spans still buffered (at shutdown: a SIGTERM'd serve flushes before it exits). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  env: NodeJS.ProcessEnv;
  /** The project (evented.yaml `name`), this process's roles, and whether it holds every one. */
  project: string;
  roles: readonly string[];
  everyRole: boolean;
  version?: string | undefined;
  logger: Logger;
}

const OFF: Tracing = { on: false, shutdown: async () => {} };

/**
 * service.name: OTEL_SERVICE_NAME, else `evented` for a process holding every role and `evented-<roles>` for
 * one holding some (`evented-command-relay`), so that a split deployment's processes tell apart in a trace.
 */
export const serviceNameOf = (
  env: NodeJS.ProcessEnv,
  roles: readonly string[],
  everyRole: boolean,
): string => {
  const named = env.OTEL_SERVICE_NAME?.trim();
  if (named) return named;
  return everyRole ? 'evented' : ['evented', ...roles].join('-');
};

/**
 * The SDK of this process, shared by every runtime started in it (an embedding may start two): the OpenTelemetry
 * API has one global tracer provider, so the first runtime's settings stand, and the SDK stops with the last.
 */
let shared: { sdk: Promise<{ shutdown(): Promise<void> }>; users: number } | undefined;

export const startTracing = async (options: TracingOptions): Promise<Tracing> => {
  const settings = traceSettingsOf(options.env);
  if (settings === undefined) return OFF;
  if (shared === undefined) {
    const attributes = {
      'service.name': serviceNameOf(options.env, options.roles, options.everyRole),
      'service.version': options.version ?? '',
      'evented.project': options.project,
      'evented.roles': options.roles.join(','),
      'process.pid': process.pid,
    };
    shared = { sdk: import('./sdk.js').then(({ startSdk }) => startSdk(settings, { attributes })), users: 0 };
    shared.sdk.catch(() => (shared = undefined));
  }
  const current = shared;
  current.users += 1;
  const sdk = await current.sdk;
  setTracingEnabled(true);
  options.logger.info(
    { exporters: settings.exporters, protocol: settings.protocol, url: settings.url },
    'tracing on',
  );
  let stopped: Promise<void> | undefined;
  return {
    on: true,
    shutdown: () =>
      (stopped ??= (async () => {
        current.users -= 1;
        if (current.users > 0) return;
        if (shared === current) shared = undefined;
        setTracingEnabled(false);
        try {
          await sdk.shutdown();
        } catch (err) {
          options.logger.warn({ reason: (err as Error).message }, 'tracing: spans could not be exported');
        }
      })()),
  };
};
