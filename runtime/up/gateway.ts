import { Metadata } from '@grpc/grpc-js';
import type { ResolvedConfig, TargetTlsConfig } from '../config/schema.js';
import { BusinessCoordinatorClient } from '../protocol/gen/evented/evented.js';
import { channelCredentials, type ClientTls } from '../grpc/client-credentials.js';
import { createRedialingClient, type ReconnectPolicy } from '../grpc/redialing-client.js';
import type { CommandGateway, GatewayOptions } from '../saga/gateway.js';
import { setOriginMetadata } from '../command/origin.js';
import { reconnectPolicy } from './delivery.js';
import { inSpan, withTraceMetadata } from '../tracing/spans.js';

/**
 * Where sagas' output goes: this deployment's command handler for the domains it serves — the one in this
 * process, or, in a process without the role command, the BusinessCoordinator at `commandHandler.address` — and
 * another runtime's BusinessCoordinator for the domains listed under `otherCommandHandlers` (the original's
 * routing, here by domain). The idempotency key travels as the metadata `evented-idempotency-key`, the origin as
 * `evented-correlation-id`, `evented-causation-id` and `evented-saga` (command/origin.ts). A saga's
 * output waits for a command handler that is down, like a saga for its projector: `reconnect` (see
 * redialing-client.ts).
 */

export type ClosableGateway = CommandGateway & { close(): void };

/** The BusinessCoordinator at `address`, as a gateway. */
export const remoteCommandHandler = (
  address: string,
  timeoutMs: number,
  reconnect: ReconnectPolicy,
  tls: ClientTls | undefined,
): ClosableGateway => {
  const secure = channelCredentials(tls, address);
  const client = createRedialingClient(
    (options) =>
      new BusinessCoordinatorClient(address, secure.credentials, { ...options, ...secure.options }),
    reconnect,
  );
  const metadata = ({ idempotencyKey, origin }: GatewayOptions): Metadata => {
    const m = withTraceMetadata(new Metadata());
    m.set('evented-idempotency-key', idempotencyKey);
    setOriginMetadata(m, origin);
    return m;
  };
  return {
    handle: (command, options) =>
      client.call((c) => c.handle.bind(c), command, { timeoutMs, metadata: metadata(options) }),
    record: (book, options) =>
      client.call((c) => c.record.bind(c), book, { timeoutMs, metadata: metadata(options) }),
    close: () => client.close(),
  };
};

export const createCommandGateway = (
  /** The command handler of this deployment's domains. */
  own: CommandGateway,
  others: readonly { domain: string; address: string; tls?: ClientTls | undefined }[],
  timeoutMs: number,
  reconnect: ReconnectPolicy,
): ClosableGateway => {
  const remote = new Map(
    others.map(({ domain, address, tls }) => [
      domain,
      remoteCommandHandler(address, timeoutMs, reconnect, tls),
    ]),
  );
  const route = (domain: string | undefined): CommandGateway => remote.get(domain ?? '') ?? own;
  /** A saga's output in a span `evented.saga.command DOMAIN` (`.record`), a child of the event's delivery. */
  const traced = <T>(what: 'command' | 'record', domain: string | undefined, run: () => Promise<T>) =>
    inSpan(`evented.saga.${what} ${domain ?? ''}`, { attributes: { 'evented.domain': domain ?? '' } }, run);
  return {
    handle: (command, options) =>
      traced('command', command.cover?.domain, () => route(command.cover?.domain).handle(command, options)),
    record: (book, options) =>
      traced('record', book.cover?.domain, () => route(book.cover?.domain).record(book, options)),
    close() {
      for (const client of remote.values()) client.close();
    },
  };
};

/**
 * Where the sagas of a process send their output: to its own command handler, else to the command handlers at
 * `commandHandler.address` (over TLS when the runtime's servers speak it: the other processes of a deployment
 * serve with the same `tls`). Undefined when there is neither, which roles.ts allows only to a process without
 * sagas. `tlsOf` gives how to reach a target from its `tls` setting (config/security.ts).
 */
export const sagaGateway = (
  own: CommandGateway | undefined,
  config: ResolvedConfig,
  tlsOf: (tls: TargetTlsConfig | undefined, key: string) => ClientTls | undefined,
): ClosableGateway | undefined => {
  const timeoutMs = config.commandHandler.businessLogicTimeoutMs * 2;
  const reconnect = reconnectPolicy(config.delivery);
  const address = config.commandHandler.address;
  const remote =
    own || address === undefined
      ? undefined
      : remoteCommandHandler(
          address,
          timeoutMs,
          reconnect,
          config.tls ? tlsOf(true, 'commandHandler.address') : undefined,
        );
  const commands = own ?? remote;
  if (!commands) return undefined;
  const others = config.otherCommandHandlers.map((other, i) => ({
    ...other,
    tls: tlsOf(other.tls, `otherCommandHandlers[${i}]`),
  }));
  const gateway = createCommandGateway(commands, others, timeoutMs, reconnect);
  return {
    ...gateway,
    close() {
      gateway.close();
      remote?.close();
    },
  };
};
