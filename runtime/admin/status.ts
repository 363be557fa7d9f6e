import type {
  ComponentStatus,
  PartitionHolder,
  RuntimeStatus,
  SubscriberStatus,
} from '../protocol/gen/evented/evented.js';
import type { RelayStatus } from '../relay/relay.js';
import type { EventStore, PartitionClaim } from '../store/port.js';
import type { SubscriberStatus as CoordinatorStatus } from '../subscriber/activity.js';
import { messageOf } from '../errors/index.js';
import { probeHealth } from '../grpc/health-probe.js';
import { describeProcessId } from '../support/process-id.js';
import type { ClientTls } from '../grpc/client-credentials.js';
import type { CommandCounts } from '../metrics/command.js';

/**
 * What `evented status` shows: every component, its address and its health as checked now (grpc.health.v1 for
 * every gRPC server, ours and the user's); each subscriber's position and lag, and its open dead letters, counted
 * in the store (so they are right after a restart, and whichever process set them aside).
 */

export interface SubscriberView extends CoordinatorStatus {
  name: string;
  address: string;
  domains: readonly string[];
}

export interface StatusSources {
  name: string;
  /** How this process is known to the others (`host:pid:random`, support/process-id.ts): the owner of its partition claims. */
  processId?: string;
  /** The project folder, absolute with links resolved: the CLI checks that a runtime is its project's. */
  projectDir: string;
  version: string;
  /** What this process runs: the components and subscribers listed are those of its roles. */
  roles: readonly string[];
  store: EventStore;
  /** The bus, when this process uses one (roles relay, projectors, sagas). */
  bus: { kind: string; location: string } | undefined;
  /** The relay's status, when this process runs it (role relay). */
  relay(): RelayStatus | undefined;
  /** The runtime's own servers: "command handler" → address, … (each serves grpc.health.v1). */
  servers: Readonly<Record<string, string>>;
  /** Each domain's business logic address (role command). */
  businessLogic: Readonly<Record<string, string>>;
  projectors: ReadonlyMap<string, { status(): SubscriberView }>;
  sagas: ReadonlyMap<string, { status(): SubscriberView }>;
  /** How each component is reached, by the name it is listed under ("command handler", "projector accounts"). */
  probeTls?: (component: string) => ClientTls | undefined;
  /** The URL Prometheus scrapes, when metrics are on. */
  metricsUrl?: string | undefined;
  /**
   * The web console's URL, when this process serves it. Read when asked: the console starts after the admin
   * service, whose address it calls.
   */
  consoleUrl?: (() => string | undefined) | undefined;
  /** What the command handler of this process did since it started (role command). */
  activity?: (() => CommandCounts) | undefined;
}

const storeComponent = async (
  store: EventStore,
): Promise<{
  head: number;
  deadLetters: Map<string, number>;
  claims: PartitionClaim[];
  component: ComponentStatus;
}> => {
  const component = { name: 'store', kind: store.kind, address: store.location, state: 'ok', detail: '' };
  try {
    const head = await store.headPosition();
    const deadLetters = await store.countOpenDeadLetters();
    const claims = await store.listClaims();
    return { head, deadLetters, claims, component: { ...component, detail: `head at position ${head}` } };
  } catch (err) {
    return {
      head: 0,
      deadLetters: new Map(),
      claims: [],
      component: { ...component, state: 'failing', detail: messageOf(err) },
    };
  }
};

/** A gRPC server as its health service answers now (see grpc/health-probe.ts); `service` if "" is unknown. */
const grpcComponent = async (
  name: string,
  address: string,
  service: string,
  tls: ClientTls | undefined,
): Promise<ComponentStatus> => {
  const { state, detail } = await probeHealth(address, service, undefined, tls);
  return { name, kind: tls === undefined ? 'grpc' : 'grpc+tls', address, state, detail };
};

/**
 * Which process holds which of a subscriber's partitions: the live claims in the store (every process's), or,
 * where there are none (the in-process bus: one process holds them all), this process's own.
 */
const holdersOf = (
  subscriber: string,
  view: SubscriberView,
  claims: readonly PartitionClaim[],
  processId: string,
): PartitionHolder[] => {
  const now = Date.now();
  const byOwner = new Map<string, number[]>();
  for (const claim of claims) {
    if (claim.group !== subscriber || claim.expiresAt <= now) continue;
    byOwner.set(claim.owner, [...(byOwner.get(claim.owner) ?? []), claim.partition]);
  }
  if (byOwner.size === 0 && view.held.length > 0) byOwner.set(processId, [...view.held]);
  return [...byOwner]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([process, partitions]) => ({ process, partitions: partitions.sort((a, b) => a - b) }));
};

const subscriberStatus = (
  kind: string,
  view: SubscriberView,
  head: number,
  deadLetters: Map<string, number>,
  holders: PartitionHolder[],
): SubscriberStatus => {
  const openLetters = deadLetters.get(`${kind}:${view.name}`) ?? 0;
  return {
    name: view.name,
    kind,
    address: view.address,
    domains: [...view.domains],
    state: view.state,
    checkpoint: view.checkpoint,
    deliveredPastCheckpoint: view.deliveredPastCheckpoint,
    // What is not delivered yet: the batch in progress moves the checkpoint only once it is all done.
    lag: Math.max(head - view.checkpoint - view.deliveredPastCheckpoint, 0),
    delivered: view.delivered,
    deadLettered: openLetters,
    // While it matters: the service is not answering, or letters it set aside are still open.
    lastError: view.state === 'waiting' || openLetters > 0 ? (view.lastError ?? '') : '',
    partitionCount: view.partitionCount,
    holders,
  };
};

/** The bus as the relay of this process finds it (a process without the relay only consumes from it). */
const busComponent = (
  bus: { kind: string; location: string },
  relay: RelayStatus | undefined,
): ComponentStatus => ({
  name: 'bus',
  kind: bus.kind,
  address: bus.location,
  state: relay?.state === 'retrying' ? 'retrying' : 'ok',
  detail: relay?.state === 'retrying' ? (relay.lastError ?? '') : '',
});

/**
 * Whose the relay lease is, as the detail of the relay's line starts: `active (this process)`, or
 * `standby (held by PID@HOST, since TIME)` (`evented status` prints it as its `relay:` line).
 */
const leaseDetail = (lease: NonNullable<RelayStatus['lease']>): string => {
  if (lease.active) return 'active (this process)';
  if (lease.lease === undefined) return 'standby (the lease is free: taking it)';
  const since = new Date(lease.lease.since).toISOString();
  return `standby (held by ${describeProcessId(lease.lease.holder)}, since ${since})`;
};

const relayComponent = (relay: RelayStatus): ComponentStatus => {
  const position = `published up to position ${relay.checkpoint}`;
  const lease = relay.lease && leaseDetail(relay.lease);
  const detail = relay.state === 'standby' && lease ? lease : lease ? `${lease}; ${position}` : position;
  return {
    name: 'relay',
    kind: relay.lease ? 'lease' : '',
    address: '',
    state: relay.state === 'running' ? 'ok' : relay.state,
    detail: relay.lastError && relay.state === 'retrying' ? `${detail}; ${relay.lastError}` : detail,
  };
};

export const runtimeStatus = async (sources: StatusSources): Promise<RuntimeStatus> => {
  const { head, deadLetters, claims, component: store } = await storeComponent(sources.store);
  const processId = sources.processId ?? '';
  const subscriber = (kind: string, view: SubscriberView): SubscriberStatus =>
    subscriberStatus(
      kind,
      view,
      head,
      deadLetters,
      holdersOf(`${kind}:${view.name}`, view, claims, processId),
    );
  const relay = sources.relay();
  const consoleUrl = sources.consoleUrl?.();
  const probe = (name: string, address: string, service: string): Promise<ComponentStatus> =>
    grpcComponent(name, address, service, sources.probeTls?.(name));
  const components: ComponentStatus[] = [
    store,
    ...(sources.bus ? [busComponent(sources.bus, relay)] : []),
    ...(relay ? [relayComponent(relay)] : []),
    // Served by this very process, which is answering: up.
    ...(sources.metricsUrl
      ? [{ name: 'metrics', kind: 'prometheus', address: sources.metricsUrl, state: 'ok', detail: '' }]
      : []),
    ...(consoleUrl ? [{ name: 'console', kind: 'http', address: consoleUrl, state: 'ok', detail: '' }] : []),
    ...(await Promise.all([
      ...Object.entries(sources.servers).map(([name, address]) => probe(name, address, '')),
      ...Object.entries(sources.businessLogic).map(([domain, address]) =>
        probe(`business logic ${domain}`, address, 'evented.BusinessLogic'),
      ),
      ...[...sources.projectors.values()].map((it) => {
        const { name, address } = it.status();
        return probe(`projector ${name}`, address, 'evented.Projector');
      }),
      ...[...sources.sagas.values()].map((it) => {
        const { name, address } = it.status();
        return probe(`saga ${name}`, address, 'evented.Saga');
      }),
    ])),
  ];
  return {
    name: sources.name,
    projectDir: sources.projectDir,
    version: sources.version,
    roles: [...sources.roles],
    processId,
    head,
    activity: sources.activity && { ...sources.activity() },
    consoleUrl: consoleUrl ?? '',
    components,
    subscribers: [
      ...[...sources.projectors.values()].map((it) => subscriber('projector', it.status())),
      ...[...sources.sagas.values()].map((it) => subscriber('saga', it.status())),
    ],
  };
};
