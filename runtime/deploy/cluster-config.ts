import { ConfigError } from '../errors/index.js';
import { deploy as deploySchema } from '../config/deploy.js';
import { ROLES, type Role } from '../config/roles.js';
import { passwordOf, type FromEnv } from '../config/from-env.js';
import {
  configSchema,
  DEFAULT_HEALTH_PORT,
  type DeployConfig,
  type ResolvedConfig,
  type UserConfig,
} from '../config/schema.js';

/**
 * What a project becomes in a cluster: its configuration as every pod reads it (servers on all interfaces, TLS
 * files and the token where their Secrets are mounted, a plaintext health port for the kubelet's probes, the store's
 * and broker's URLs from Secrets when evented.yaml's cannot be written out), and the Secrets that go with it.
 * Refused, with one line each: what cannot run spread over pods (SQLite, the in-process bus), and a secret that
 * would be written in clear (a URL with a password, no Secret named for it).
 */

/** Where the pods find things (mount paths). */
export const CLUSTER_PATHS = {
  config: '/etc/evented/config',
  tls: '/etc/evented/tls',
  token: '/etc/evented/token',
} as const;

/** The port of the plaintext health server in every pod: the kubelet's grpc probes speak no TLS. */
export const HEALTH_PORT = DEFAULT_HEALTH_PORT;

/** The variables the store's and broker's URLs are read from when they come from Secrets. */
export const URL_VARIABLES = { store: 'EVENTED_STORE_URL', bus: 'EVENTED_BUS_URL' } as const;

/** A key of a Secret the manifests reference. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface ClusterPlan {
  /** The first part of every object's name. */
  name: string;
  deploy: DeployConfig;
  /** The configuration each pod runs with (evented.yaml in the ConfigMap, or Consul KV). */
  config: UserConfig;
  /** Environment variables from Secrets (the store's and broker's URLs). */
  env: { name: string; secret: SecretKeyRef }[];
  tlsSecret: string;
  tokenSecret: SecretKeyRef;
  /** The roles rendered, each with its replicas (the others have nothing to do, or 0 replicas). */
  roles: { role: Role; replicas: number }[];
}

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const refuse = (message: string, hint?: string): never => {
  throw new ConfigError(message, hint === undefined ? {} : { hint });
};

/** Where a store's or broker's URL comes from in the cluster: evented.yaml's as written, or a Secret. */
const urlSource = (
  key: 'store' | 'bus',
  url: string | FromEnv,
  secret: SecretKeyRef | undefined,
  name: string,
): { url: string | FromEnv; env?: { name: string; secret: SecretKeyRef } } => {
  const variable = URL_VARIABLES[key];
  if (secret !== undefined) return { url: { env: variable }, env: { name: variable, secret } };
  const example = `deploy.secrets.${key}: { name: ${name}-${key}, key: url }`;
  if (typeof url !== 'string') {
    return refuse(
      `${key}.url is read from $${url.env}: name the Kubernetes Secret that holds it in deploy.secrets.${key}`,
      `for example ${example}`,
    );
  }
  if (passwordOf(url) !== undefined) {
    return refuse(
      `${key}.url in evented.yaml holds a password, which the manifests would carry in clear: put the URL in a Secret and name it in deploy.secrets.${key}`,
      `kubectl create secret generic ${name}-${key} --from-literal=url='…', and ${example}`,
    );
  }
  return { url };
};

/** The roles that have something to do in this project, with their replicas. */
const rolesOf = (config: ResolvedConfig, deploy: DeployConfig): ClusterPlan['roles'] =>
  ROLES.filter((role) => {
    if (role === 'projectors') return Object.keys(config.projectors).length > 0;
    if (role === 'sagas') return Object.keys(config.sagas).length > 0;
    return true;
  })
    .map((role) => ({ role, replicas: deploy.roles[role].replicas }))
    .filter(({ replicas }) => replicas > 0);

/** A per-target CA file cannot follow the configuration into the cluster: refused before anything is rendered. */
const checkTargets = (config: ResolvedConfig): void => {
  const targets: [string, ResolvedConfig['domains'][string]['tls']][] = [
    ...Object.entries(config.domains).map(
      ([name, it]) => [`domains.${name}`, it.tls] as [string, typeof it.tls],
    ),
    ...Object.entries(config.projectors).map(
      ([name, it]) => [`projectors.${name}`, it.tls] as [string, typeof it.tls],
    ),
    ...Object.entries(config.sagas).map(([name, it]) => [`sagas.${name}`, it.tls] as [string, typeof it.tls]),
    ...config.otherCommandHandlers.map(
      (it, i) => [`otherCommandHandlers[${i}]`, it.tls] as [string, typeof it.tls],
    ),
  ];
  for (const [key, tls] of targets) {
    if (typeof tls === 'object' && tls.ca !== undefined) {
      refuse(
        `${key}.tls.ca names a file of this machine, which the pods do not have`,
        "use tls: true (verified with the TLS Secret's ca.crt), with serverName if need be",
      );
    }
  }
};

export const planCluster = (config: ResolvedConfig): ClusterPlan => {
  const deploy = config.deploy ?? deploySchema.parse({});
  const name = deploy.name ?? config.name;
  if (!LABEL.test(name)) {
    refuse(
      `the project's name "${config.name}" cannot name Kubernetes objects`,
      "set deploy.name: lowercase letters, digits and '-' (at most 63)",
    );
  }
  // 1. What cannot be spread over pods.
  if (config.store.kind === 'sqlite') {
    refuse(
      'the store is SQLite, a file on one machine: pods on several machines need PostgreSQL or MongoDB',
      'set store: { kind: postgres, … } in evented.yaml',
    );
  }
  if (config.bus.kind === 'memory') {
    refuse(
      'the bus is the in-process one: pods need RabbitMQ between them',
      'set bus: { kind: amqp, … } in evented.yaml',
    );
  }
  checkTargets(config);
  // 2. Secrets: URLs with a password never written out.
  const store = config.store as Extract<ResolvedConfig['store'], { url: unknown }>;
  const bus = config.bus as Extract<ResolvedConfig['bus'], { kind: 'amqp' }>;
  const storeUrl = urlSource('store', store.url, deploy.secrets.store, name);
  const busUrl = urlSource('bus', bus.url, deploy.secrets.bus, name);
  const tlsSecret = deploy.secrets.tls ?? `${name}-tls`;
  const tokenSecret = deploy.secrets.token ?? { name: `${name}-token`, key: 'token' };

  // 3. The configuration every pod runs with.
  const listen = <T extends { host: string; port: number }>(server: T): T => ({ ...server, host: '0.0.0.0' });
  const { deploy: _deploy, processes: _processes, ...runtime } = config;
  const cluster: UserConfig = {
    ...runtime,
    store: { ...store, url: storeUrl.url },
    bus: { ...bus, url: busUrl.url },
    commandHandler: listen(config.commandHandler),
    queryHandler: listen(config.queryHandler),
    projectorCoordinator: listen(config.projectorCoordinator),
    sagaCoordinator: listen(config.sagaCoordinator),
    admin: listen(config.admin),
    health: { host: '0.0.0.0', port: HEALTH_PORT },
    // In a pod, loopback is unreachable to Prometheus: the pod's network is the boundary (deploying is the explicit
    // choice that allowRemote asks for).
    ...(config.metrics?.enabled && { metrics: { ...config.metrics, host: '0.0.0.0', allowRemote: true } }),
    tls: {
      cert: `${CLUSTER_PATHS.tls}/tls.crt`,
      key: `${CLUSTER_PATHS.tls}/tls.key`,
      ca: `${CLUSTER_PATHS.tls}/ca.crt`,
      ...(deploy.mutualTls && { clientCa: `${CLUSTER_PATHS.tls}/ca.crt` }),
    },
    token: { file: `${CLUSTER_PATHS.token}/${tokenSecret.key}` },
  };
  // What the pods read must be a configuration the runtime takes: checked here, not at their start.
  configSchema.parse(cluster);
  return {
    name,
    deploy,
    config: cluster,
    env: [storeUrl.env, busUrl.env].filter((it) => it !== undefined),
    tlsSecret,
    tokenSecret,
    roles: rolesOf(config, deploy),
  };
};
