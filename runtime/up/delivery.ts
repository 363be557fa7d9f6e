import type { Logger } from 'pino';
import {
  DEFAULT_BUS_MESSAGE_BYTES,
  type BusConfig,
  type ResolvedConfig,
  type TargetTlsConfig,
} from '../config/schema.js';
import { valueOf } from '../config/from-env.js';
import type { ClientTls } from '../grpc/client-credentials.js';
import type { EventBus } from '../bus/port.js';
import { createAmqpEventBus } from '../bus/amqp/index.js';
import { createMemoryEventBus } from '../bus/memory/index.js';
import { startRelay, type Relay, type RelayStatus } from '../relay/relay.js';
import { connectProjector, type ProjectorEndpoint } from '../projector/endpoint.js';
import {
  createProjectorCoordinator,
  type ProjectorCoordinator,
  type ProjectorStatus,
} from '../projector/coordinator.js';
import { connectSaga, type SagaEndpoint } from '../saga/endpoint.js';
import { createSagaCoordinator, type SagaCoordinator, type SagaStatus } from '../saga/coordinator.js';
import type { CommandGateway } from '../saga/gateway.js';
import type { EventStore } from '../store/port.js';
import type { EventBook, SynchronousProcessingResponse } from '../protocol/gen/evented/evented.js';
import type { ReconnectPolicy } from '../grpc/redialing-client.js';
import type { Role } from '../config/roles.js';
import { FIRST_UNAVAILABLE_WAIT_MS } from '../subscriber/retry.js';
import { processId as thisProcessId } from '../support/process-id.js';
import { deliveryLogPolicy } from '../subscriber/delivery-log.js';
import type { PartitionedConsumer } from '../subscriber/partitions.js';
import { startClaims } from '../subscriber/claims.js';

/**
 * The delivery side of the runtime: the bus, the projector and saga coordinators, and the outbox relay. Started
 * in that order (every subscriber's queue exists before the relay publishes) and stopped in reverse. A process
 * starts the parts its roles hold (projectors, sagas, relay), and opens the bus only for one of them.
 */

export interface DeliveryStatus {
  /** Absent in a process without the roles relay, projectors and sagas. */
  bus: { kind: string; location: string } | undefined;
  /** Absent in a process without the role relay. */
  relay: RelayStatus | undefined;
  projectors: ProjectorStatus[];
  sagas: SagaStatus[];
}

export interface Delivery {
  /** How this process is known to the others sharing the store (its partition claims' owner). */
  readonly processId: string;
  readonly bus: EventBus | undefined;
  readonly projectors: ReadonlyMap<string, { coordinator: ProjectorCoordinator; domains: readonly string[] }>;
  readonly sagas: ReadonlyMap<string, { coordinator: SagaCoordinator; domains: readonly string[] }>;
  /**
   * In a process with the role admin but not projectors: a coordinator per projector that is never started and
   * only replays or rebuilds it (pausing the processes that deliver it, subscriber/pause.ts). Empty otherwise.
   */
  readonly replayOnly: ReadonlyMap<string, ProjectorCoordinator>;
  /** What the synchronous projectors and sagas of the book's domain make of it (inside a command call). */
  synchronous(book: EventBook): Promise<SynchronousProcessingResponse>;
  status(): DeliveryStatus;
  /** Resolves once every coordinator has caught up with the store (tests, replay). */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

const openAmqpEventBus = (
  config: Extract<BusConfig, { kind: 'amqp' }>,
  logger: Logger,
  env: NodeJS.ProcessEnv,
) =>
  createAmqpEventBus({
    url: valueOf(config.url, 'bus.url', env),
    exchange: config.exchange,
    prefetch: config.prefetch,
    logger,
  });

/** `env`: where a `bus.url` of `{ env: NAME }` is read. */
export const openEventBus = (
  config: BusConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): EventBus => (config.kind === 'memory' ? createMemoryEventBus() : openAmqpEventBus(config, logger, env));

/**
 * How the gRPC channels to projectors, sagas and other command handlers reconnect: on the coordinators' own
 * schedule, so that one that is back is reached within `delivery.maxBackoffMs`.
 */
export const reconnectPolicy = (delivery: ResolvedConfig['delivery']): ReconnectPolicy => ({
  initialBackoffMs: FIRST_UNAVAILABLE_WAIT_MS,
  maxBackoffMs: delivery.maxBackoffMs,
});

/**
 * The bus, opened and, for RabbitMQ, connected: an unreachable broker or a refused login is an error now, not
 * retries later. `evented up` opens it before starting the user's processes.
 */
export const openCheckedEventBus = async (
  config: BusConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 5000,
): Promise<EventBus> => {
  if (config.kind !== 'amqp') return openEventBus(config, logger, env);
  const bus = openAmqpEventBus(config, logger, env);
  try {
    await bus.ready(timeoutMs);
    return bus;
  } catch (err) {
    await bus.close().catch(() => undefined);
    throw err;
  }
};

/** Every partition, in this process. */
const holdAll = async (partitions: PartitionedConsumer): Promise<void> => {
  for (let partition = 0; partition < partitions.partitions; partition += 1) await partitions.hold(partition);
};

export const startDelivery = async (options: {
  config: ResolvedConfig;
  /** The roles of this process: which of the projectors, the sagas and the relay it runs. */
  roles: readonly Role[];
  store: EventStore;
  /** Opened by the caller (closed by this delivery); by default opened here. */
  bus?: EventBus | undefined;
  /** Where sagas' output goes; needed with the role sagas. */
  gateway: CommandGateway | undefined;
  logger: Logger;
  /** How each projector and saga is reached: over TLS, or in plaintext (undefined). */
  tlsOf?: (tls: TargetTlsConfig | undefined, key: string) => ClientTls | undefined;
  /** Where a `bus.url` of `{ env: NAME }` is read. */
  env?: NodeJS.ProcessEnv;
  /**
   * How this process is known among those sharing the store (the registry, partition claims, the relay's lease);
   * default: this process's id (support/process-id.ts). Two runtimes in one process (tests) need two.
   */
  processId?: string;
}): Promise<Delivery> => {
  const { config, roles, store, logger } = options;
  const tlsOf = options.tlsOf ?? (() => undefined);
  const processId = options.processId ?? thisProcessId();
  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    // 1. The bus, for the roles that publish or consume.
    const needsBus = roles.some((role) => role === 'relay' || role === 'projectors' || role === 'sagas');
    const bus = needsBus ? (options.bus ?? openEventBus(config.bus, logger, options.env)) : undefined;
    if (bus !== options.bus) await options.bus?.close();
    if (bus) stops.push(() => bus.close());
    /** The bus, for a role this process holds. */
    const busFor = (role: Role): EventBus | undefined => (roles.includes(role) ? bus : undefined);
    const policy = config.delivery;
    const deliveryLog = deliveryLogPolicy(policy.deliveryLogRetentionHours);

    // 2. Coordinators: subscribed (queues declared) before anything is published; they catch up in the background.
    const projectors = new Map<
      string,
      { coordinator: ProjectorCoordinator; domains: readonly string[]; sync: boolean }
    >();
    const projectorBus = busFor('projectors');
    const replayOnly = new Map<string, ProjectorCoordinator>();
    const replaysHere = !projectorBus && roles.includes('admin');
    for (const [name, projector] of Object.entries(projectorBus || replaysHere ? config.projectors : {})) {
      const endpoint: ProjectorEndpoint = connectProjector(
        name,
        projector.address,
        reconnectPolicy(policy),
        tlsOf(projector.tls, `projectors.${name}`),
      );
      stops.push(() => endpoint.close());
      const coordinator = createProjectorCoordinator({
        projector: endpoint,
        domains: projector.domains,
        store,
        bus: projectorBus,
        policy,
        partitions: policy.partitions,
        concurrency: projector.concurrency,
        callTimeoutMs: policy.callTimeoutMs,
        logger: logger.child({ component: `projector:${name}` }),
        deliveryLog,
      });
      if (!projectorBus) {
        replayOnly.set(name, coordinator);
        continue;
      }
      await coordinator.start();
      stops.push(() => coordinator.stop());
      projectors.set(name, { coordinator, domains: projector.domains, sync: projector.synchronous });
    }
    const sagas = new Map<
      string,
      { coordinator: SagaCoordinator; domains: readonly string[]; sync: boolean }
    >();
    const sagaBus = busFor('sagas');
    for (const [name, saga] of Object.entries(sagaBus ? config.sagas : {})) {
      // (compose.ts makes the gateway whenever sagas run: see roles.ts)
      if (!options.gateway) throw new Error('sagas need a command gateway for their output');
      const endpoint: SagaEndpoint = connectSaga(
        name,
        saga.address,
        reconnectPolicy(policy),
        tlsOf(saga.tls, `sagas.${name}`),
      );
      stops.push(() => endpoint.close());
      const coordinator = createSagaCoordinator({
        saga: endpoint,
        domains: saga.domains,
        store,
        bus: sagaBus!,
        gateway: options.gateway,
        policy,
        partitions: policy.partitions,
        concurrency: saga.concurrency,
        callTimeoutMs: policy.callTimeoutMs,
        logger: logger.child({ component: `saga:${name}` }),
        deliveryLog,
      });
      await coordinator.start();
      stops.push(() => coordinator.stop());
      sagas.set(name, { coordinator, domains: saga.domains, sync: saga.synchronous });
    }

    // 3. Their partitions: all of them with the in-process bus (one process); otherwise a share, claimed through
    //    the store with the other processes (subscriber/claims.ts).
    const groups = [
      ...[...projectors.values()].map(({ coordinator }) => ({ coordinator, role: 'projectors' })),
      ...[...sagas.values()].map(({ coordinator }) => ({ coordinator, role: 'sagas' })),
    ].map(({ coordinator, role }) => ({
      consumer: coordinator.partitions,
      role,
      stop: () => coordinator.stop(),
    }));
    if (bus?.kind === 'memory') {
      for (const { consumer } of groups) await holdAll(consumer);
    } else if (groups.length > 0) {
      const claims = await startClaims({
        store,
        processId,
        roles,
        groups,
        ttlMs: policy.claimTtlMs,
        logger: logger.child({ component: 'claims' }),
      });
      stops.push(() => claims.stop());
    }

    // 4. The relay, woken by every commit in this process (and polling for the others' commits); it publishes
    //    while it holds the store's relay lease, and stands by while another process does.
    let relay: Relay | undefined;
    const relayBus = busFor('relay');
    if (relayBus) {
      const started = startRelay({
        store,
        bus: relayBus,
        batchSize: config.relay.batchSize,
        maxMessageBytes: config.bus.maxMessageBytes ?? DEFAULT_BUS_MESSAGE_BYTES,
        idlePollMs: config.relay.idlePollMs,
        lease: {
          owner: processId,
          ttlMs: config.relay.leaseTtlMs,
          payload: JSON.stringify({ roles }),
        },
        partitions: policy.partitions,
        logger: logger.child({ component: 'relay' }),
      });
      relay = started;
      const unsubscribe = store.onAppended(() => started.notify());
      stops.push(async () => {
        unsubscribe();
        await started.stop();
      });
    }

    return {
      processId,
      bus,
      projectors,
      sagas,
      replayOnly,
      async synchronous(book) {
        const domain = book.cover?.domain ?? '';
        const result: SynchronousProcessingResponse = { books: [], projections: [], commands: [] };
        for (const { coordinator, domains, sync } of projectors.values()) {
          if (sync && domains.includes(domain)) result.projections.push(await coordinator.handleSync(book));
        }
        for (const { coordinator, domains, sync } of sagas.values()) {
          if (!sync || !domains.includes(domain)) continue;
          const produced = await coordinator.handleSync(book);
          result.books.push(...produced.books);
          result.projections.push(...produced.projections);
        }
        return result;
      },
      status: () => ({
        bus: bus && { kind: bus.kind, location: bus.location },
        relay: relay?.status(),
        projectors: [...projectors.values()].map(({ coordinator }) => coordinator.status()),
        sagas: [...sagas.values()].map(({ coordinator }) => coordinator.status()),
      }),
      async caughtUp() {
        await Promise.all(
          [...projectors.values(), ...sagas.values()].map(({ coordinator }) => coordinator.caughtUp()),
        );
      },
      close: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
};
