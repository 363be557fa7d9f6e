import type { Span } from '@opentelemetry/api';
import type { CommandHandler } from '../command/handler.js';
import type { Cover } from '../protocol/gen/evented/evented.js';
import { uuidFromBytes } from '../protocol/uuid.js';
import { inSpan, SpanKind } from './spans.js';

/**
 * The command path's spans (command/handler.ts): `evented.command DOMAIN` (or `evented.record DOMAIN`) for the
 * whole call, a child of the caller's span (service.ts takes it from the call's metadata; a saga's command in
 * this process is a child of its delivery), and within it `evented.load`, `evented.business_logic` (business-
 * logic.ts), `evented.append` and `evented.synchronous`, each named with the domain.
 */

export interface CommandSpanInfo {
  domain: string;
  root: Uint8Array | undefined;
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
const spanInfo = (cover: Cover | undefined): CommandSpanInfo => ({
  domain: cover?.domain ?? '',
  root: cover?.root?.value,
});

/** The command handler with each call in its `evented.command` / `evented.record` span. */
export const tracedCommandHandler = (handler: CommandHandler): CommandHandler => ({
  handle: (command, options) =>
    inCommandSpan('command', spanInfo(command.cover), () => handler.handle(command, options)),
  record: (book, options) =>
    inCommandSpan('record', spanInfo(book.cover), () => handler.record(book, options)),
});
