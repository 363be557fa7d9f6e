import { Metadata } from '@grpc/grpc-js';
import type { CommandHandler } from '../command/handler.js';
import { BusinessCoordinatorClient } from '../protocol/gen/evented/evented.js';
import { createRedialingClient, type ReconnectPolicy } from '../grpc/redialing-client.js';
import type { CommandGateway } from '../saga/gateway.js';
import { channelCredentials, type ClientTls } from '../grpc/client-credentials.js';

/**
 * Where sagas' output goes: this runtime's command handler for the domains it serves, another runtime's
 * BusinessCoordinator for the domains listed under `otherCommandHandlers` (the original's routing, here by
 * domain). The idempotency key travels as the metadata `evented-idempotency-key`. A saga's output waits for
 * a command handler that is down, like a saga for its projector: `reconnect` (see redialing-client.ts).
 */
export const createCommandGateway = (
  local: CommandHandler,
  others: readonly { domain: string; address: string; tls?: ClientTls | undefined }[],
  timeoutMs: number,
  reconnect: ReconnectPolicy,
): CommandGateway & { close(): void } => {
  const remote = new Map(
    others.map(({ domain, address, tls }) => {
      const secure = channelCredentials(tls, address);
      const client = createRedialingClient(
        (options) =>
          new BusinessCoordinatorClient(address, secure.credentials, { ...options, ...secure.options }),
        reconnect,
      );
      return [domain, client] as const;
    }),
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
      return client.call((c) => c.handle.bind(c), command, { timeoutMs, metadata: metadata(idempotencyKey) });
    },
    record(book, { idempotencyKey }) {
      const client = remote.get(book.cover?.domain ?? '');
      if (!client) return local.record(book, { idempotencyKey });
      return client.call((c) => c.record.bind(c), book, { timeoutMs, metadata: metadata(idempotencyKey) });
    },
    close() {
      for (const client of remote.values()) client.close();
    },
  };
};
