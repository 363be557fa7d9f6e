import type { Span } from '@opentelemetry/api';
import type { CommandHandler } from '../command/handler.js';
import type { Cover, Origin } from '../protocol/gen/evented/evented.js';
import { uuidFromBytes } from '../protocol/uuid.js';
import { activeTraceparent, inSpan, SpanKind, tracingEnabled } from './spans.js';

/**
 * The command path's spans (command/handler.ts): `evented.command DOMAIN` (or `evented.record DOMAIN`) for the
 * whole call, a child of the caller's span (service.ts takes it from the call's metadata; a saga's command in
 * this process is a child of its delivery), and within it `evented.load`, `evented.business_logic` (business-
 * logic.ts), `evented.append` and `evented.synchronous`, each named with the domain.
 */

export interface CommandSpanInfo {
  domain: string;
  root: Uint8Array | undefined;
  /** The caller's correlation id, when it gave one (the gRPC service always does: its own or a new one). */
  correlationId: string | undefined;
}

export const inCommandSpan = <T>(
  what: 'command' | 'record',
  aggregate: CommandSpanInfo,
  run: (span: Span | undefined) => Promise<T>,
): Promise<T> =>
  inSpan(
    `evented.${what} ${aggregate.domain}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': 'evented.BusinessCoordinator',
        'rpc.method': what === 'command' ? 'Handle' : 'Record',
        'evented.domain': aggregate.domain,
        'evented.aggregate_id': aggregate.root === undefined ? '' : uuidFromBytes(aggregate.root),
        ...(aggregate.correlationId ? { 'evented.correlation_id': aggregate.correlationId } : {}),
      },
    },
    run,
  );

/** One step of the command path: `evented.load`, `evented.append`, `evented.synchronous`. */
export const inCommandStep = <T>(
  step: 'load' | 'append' | 'synchronous',
  domain: string,
  run: (span: Span | undefined) => Promise<T>,
): Promise<T> => inSpan(`evented.${step} ${domain}`, { attributes: { 'evented.domain': domain } }, run);

/** What the command span says of the aggregate, read before validation (an invalid command is traced too). */
const spanInfo = (cover: Cover | undefined, origin: Origin | undefined): CommandSpanInfo => ({
  domain: cover?.domain ?? '',
  root: cover?.root?.value,
  correlationId: origin?.correlationId,
});

/** The command handler with each call in its `evented.command` / `evented.record` span. */
export const tracedCommandHandler = (handler: CommandHandler): CommandHandler => ({
  handle: (command, options) =>
    inCommandSpan('command', spanInfo(command.cover, options?.origin), () =>
      handler.handle(command, options),
    ),
  record: (book, options) =>
    inCommandSpan('record', spanInfo(book.cover, options?.origin), () => handler.record(book, options)),
});

/**
 * The origin stored with an append, with the `traceparent` of the active span (the append's): what the relay's
 * publish and each delivery of these events continue (events.ts). Off: the origin as it is.
 */
export const stampedOrigin = (origin: Origin): Origin => {
  if (!tracingEnabled()) return origin;
  const traceparent = activeTraceparent();
  return traceparent === undefined ? origin : { ...origin, traceparent };
};
