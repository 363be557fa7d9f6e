import type { ComponentStatus, RuntimeStatus, SubscriberStatus } from '../protocol/gen/evented/evented.js';
import type { RelayStatus } from '../relay/relay.js';
import type { EventStore } from '../store/port.js';
import type { SubscriberStatus as CoordinatorStatus } from '../subscriber/activity.js';
import { messageOf } from '../errors/index.js';
import { probeHealth } from '../grpc/health-probe.js';
import { describeProcessId } from '../support/process-id.js';
import type { ClientTls } from '../grpc/client-credentials.js';

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
}

const storeComponent = async (
  store: EventStore,
): Promise<{ head: number; deadLetters: Map<string, number>; component: ComponentStatus }> => {
  const component = { name: 'store', kind: store.kind, address: store.location, state: 'ok', detail: '' };
  try {
    const head = await store.headPosition();
    const deadLetters = await store.countOpenDeadLetters();
    return { head, deadLetters, component: { ...component, detail: `head at position ${head}` } };
  } catch (err) {
    return {
      head: 0,
      deadLetters: new Map(),
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

const subscriberStatus = (
  kind: string,
  view: SubscriberView,
  head: number,
  deadLetters: Map<string, number>,
): SubscriberStatus => ({
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
  deadLettered: deadLetters.get(`${kind}:${view.name}`) ?? 0,
  lastError: view.lastError ?? '',
});

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
  const { head, deadLetters, component: store } = await storeComponent(sources.store);
  const relay = sources.relay();
  const probe = (name: string, address: string, service: string): Promise<ComponentStatus> =>
    grpcComponent(name, address, service, sources.probeTls?.(name));
  const components: ComponentStatus[] = [
    store,
    ...(sources.bus ? [busComponent(sources.bus, relay)] : []),
    ...(relay ? [relayComponent(relay)] : []),
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
    head,
    components,
    subscribers: [
      ...[...sources.projectors.values()].map((it) =>
        subscriberStatus('projector', it.status(), head, deadLetters),
      ),
      ...[...sources.sagas.values()].map((it) => subscriberStatus('saga', it.status(), head, deadLetters)),
    ],
  };
};
