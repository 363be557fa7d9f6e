import { credentials, Metadata } from '@grpc/grpc-js';
import type { CommandHandler } from '../command/handler.js';
import { BusinessCoordinatorClient } from '../protocol/gen/evented/evented.js';
import { grpcChannelOptions } from '../grpc/server.js';
import { callUnary } from '../grpc/unary.js';
import type { CommandGateway } from '../saga/gateway.js';

/**
 * Where sagas' output goes: this runtime's command handler for the domains it serves, another runtime's
 * BusinessCoordinator for the domains listed under `otherCommandHandlers` (the original's routing, here by
 * domain). The idempotency key travels as the metadata `evented-idempotency-key`.
 */
export const createCommandGateway = (
  local: CommandHandler,
  others: readonly { domain: string; address: string }[],
  timeoutMs: number,
): CommandGateway & { close(): void } => {
  const remote = new Map(
    others.map(({ domain, address }) => [
      domain,
      new BusinessCoordinatorClient(address, credentials.createInsecure(), grpcChannelOptions),
    ]),
  );
  const metadata = (idempotencyKey: string): Metadata => {
    const m = new Metadata();
    m.set('evented-idempotency-key', idempotencyKey);
    return m;
  };
  return {
    handle(command, { idempotencyKey }) {
      const client = remote.get(command.cover?.domain ?? '');
      if (!client) return local.handle(command, { idempotencyKey });
      return callUnary(client.handle.bind(client), command, {
        timeoutMs,
        metadata: metadata(idempotencyKey),
      });
    },
    record(book, { idempotencyKey }) {
      const client = remote.get(book.cover?.domain ?? '');
      if (!client) return local.record(book, { idempotencyKey });
      return callUnary(client.record.bind(client), book, { timeoutMs, metadata: metadata(idempotencyKey) });
    },
    close() {
      for (const client of remote.values()) client.close();
    },
  };
};
