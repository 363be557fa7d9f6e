import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
// Types only (a development dependency): the objects below are checked field by field at compile time, and
// test/unit/deploy-kubernetes.test.ts validates them against the Kubernetes schemas.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { Role } from '../config/roles.js';
import { DEFAULT_METRICS_PORT, type ResolvedConfig } from '../config/schema.js';
import { CLUSTER_PATHS, HEALTH_PORT, planCluster, type ClusterPlan } from './cluster-config.js';

/**
 * `evented deploy kubernetes`: the manifests of a project, from its resolved configuration — pure, no cluster
 * needed. One Deployment per role (`evented serve --role ROLE`) with a PodDisruptionBudget, a Service on the
 * original port of each role that serves one, the configuration as a ConfigMap (or in Consul), probes through
 * grpc.health.v1 on the plaintext health port, TLS and the token from Secrets mounted as files, the store's and
 * broker's URLs from Secrets when they hold a password. Secrets are referenced, never rendered.
 */

export type KubernetesObject = IDeployment | IService | IConfigMap | IPodDisruptionBudget;

export interface RenderedFile {
  /** Relative to the output folder. */
  path: string;
  text: string;
}

export interface KubernetesManifests {
  /** The objects, in the order they are best applied. */
  objects: KubernetesObject[];
  /** The files for --out: a ConfigMap, one per role; `consul/evented.yaml` when the configuration lives in Consul. */
  files: RenderedFile[];
  /** What the user still has to do: the Secrets to create, the names the certificate must carry, how to apply. */
  notes: string[];
}

/** Every file this renders starts with it: `deploy` replaces what it wrote before, and nothing else. */
export const RENDERED_HEADER =
  '# Rendered by `evented deploy kubernetes` from evented.yaml: render again rather than edit.';

/** Each role's server: its evented.yaml section and the port its Service listens on (the original's). */
const SERVERS: Partial<Record<Role, { section: keyof ResolvedConfig; servicePort: number }>> = {
  command: { section: 'commandHandler', servicePort: 1313 },
  query: { section: 'queryHandler', servicePort: 1314 },
  projectors: { section: 'projectorCoordinator', servicePort: 1315 },
  sagas: { section: 'sagaCoordinator', servicePort: 1748 },
  admin: { section: 'admin', servicePort: 1316 },
};

/** `component`: the role, or `config` for the ConfigMap. */
const labelsOf = (plan: ClusterPlan, version: string, component: string): Record<string, string> => ({
  'app.kubernetes.io/name': 'evented',
  'app.kubernetes.io/instance': plan.name,
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/version': version,
  'app.kubernetes.io/managed-by': 'evented',
});

const selectorOf = (plan: ClusterPlan, role: Role): Record<string, string> => ({
  'app.kubernetes.io/instance': plan.name,
  'app.kubernetes.io/component': role,
});

const metadata = (plan: ClusterPlan, name: string, labels: Record<string, string>) => ({
  name,
  ...(plan.deploy.namespace !== undefined && { namespace: plan.deploy.namespace }),
  labels,
});

/** The kubelet asks grpc.health.v1 on the plaintext health port: at start (up to 2 minutes), then all along. */
const probes = (): Pick<IContainer, 'startupProbe' | 'readinessProbe' | 'livenessProbe'> => {
  const grpc: IProbe['grpc'] = { port: HEALTH_PORT };
  return {
    startupProbe: { grpc, periodSeconds: 2, failureThreshold: 60, timeoutSeconds: 2 },
    readinessProbe: { grpc, periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 },
    livenessProbe: { grpc, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
  };
};

const volumes = (plan: ClusterPlan, configMap: string | undefined): IVolume[] => [
  ...(configMap === undefined ? [] : [{ name: 'config', configMap: { name: configMap } }]),
  { name: 'tls', secret: { secretName: plan.tlsSecret, defaultMode: 0o440 } },
  {
    name: 'token',
    secret: {
      secretName: plan.tokenSecret.name,
      items: [{ key: plan.tokenSecret.key, path: plan.tokenSecret.key }],
      defaultMode: 0o440,
    },
  },
  // A read-only root: what node or a library writes goes here.
  { name: 'tmp', emptyDir: {} },
];

const container = (
  plan: ClusterPlan,
  role: Role,
  image: string,
  configMap: string | undefined,
): IContainer => {
  const server = SERVERS[role];
  const consul = plan.deploy.consul;
  const source =
    consul === undefined
      ? [CLUSTER_PATHS.config]
      : ['--consul', consul.url, '--prefix', consul.prefix, '--name', plan.config.name ?? 'evented'];
  const resources = plan.deploy.roles[role].resources ?? plan.deploy.resources;
  return {
    name: 'evented',
    image,
    ...(plan.deploy.imagePullPolicy !== undefined && { imagePullPolicy: plan.deploy.imagePullPolicy }),
    args: ['serve', ...source, '--role', role],
    ports: [
      ...(server === undefined
        ? []
        : [{ name: 'grpc', containerPort: (plan.config[server.section] as { port: number }).port }]),
      { name: 'health', containerPort: HEALTH_PORT },
      ...(plan.config.metrics?.enabled
        ? [{ name: 'metrics', containerPort: plan.config.metrics.port ?? DEFAULT_METRICS_PORT }]
        : []),
    ],
    env: plan.env.map(({ name, secret }) => ({
      name,
      valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } },
    })),
    resources,
    ...probes(),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      ...(configMap === undefined
        ? []
        : [{ name: 'config', mountPath: CLUSTER_PATHS.config, readOnly: true }]),
      { name: 'tls', mountPath: CLUSTER_PATHS.tls, readOnly: true },
      { name: 'token', mountPath: CLUSTER_PATHS.token, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
};

const deployment = (
  plan: ClusterPlan,
  version: string,
  role: Role,
  replicas: number,
  image: string,
  configMap: string | undefined,
  configHash: string,
): IDeployment => {
  const labels = labelsOf(plan, version, role);
  const selector = selectorOf(plan, role);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(plan, `${plan.name}-${role}`, labels),
    spec: {
      replicas,
      selector: { matchLabels: selector },
      // One pod at a time, a new one ready before an old one goes.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels,
          annotations: {
            // A changed configuration rolls the pods (they read it only at start).
            'evented.dev/config-sha256': configHash,
            // Where a Prometheus that discovers pods by these (the common convention) scrapes each one.
            ...(plan.config.metrics?.enabled && {
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(plan.config.metrics.port ?? DEFAULT_METRICS_PORT),
              'prometheus.io/path': '/metrics',
            }),
          },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          // SIGTERM drains in-flight calls (5 s) before the runtime closes the store.
          terminationGracePeriodSeconds: 30,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            },
          ],
          containers: [container(plan, role, image, configMap)],
          volumes: volumes(plan, configMap),
        },
      },
    },
  };
};

const service = (plan: ClusterPlan, version: string, role: Role, port: number): IService => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: metadata(plan, `${plan.name}-${role}`, labelsOf(plan, version, role)),
  spec: {
    type: 'ClusterIP',
    selector: selectorOf(plan, role),
    ports: [{ name: 'grpc', port, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' }],
  },
});

const disruptionBudget = (plan: ClusterPlan, version: string, role: Role): IPodDisruptionBudget => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: metadata(plan, `${plan.name}-${role}`, labelsOf(plan, version, role)),
  // One pod of a role at a time: a drain never takes a role away (with one replica, it may: say 2 or more).
  spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(plan, role) } },
});

const yamlOf = (objects: readonly object[]): string =>
  `${RENDERED_HEADER}\n${objects.map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n')}`;

/** The notes printed after rendering: what to create, what the certificate must carry, how to apply. */
const notesOf = (plan: ClusterPlan, servedRoles: Role[], out: string): string[] => {
  const ns = plan.deploy.namespace;
  const inNs = ns === undefined ? '' : ` -n ${ns}`;
  const names = servedRoles.flatMap((role) => {
    const service = `${plan.name}-${role}`;
    return ns === undefined ? [service] : [service, `${service}.${ns}`, `${service}.${ns}.svc`];
  });
  return [
    'Create the Secrets the manifests reference (never rendered):',
    `  kubectl${inNs} create secret generic ${plan.tlsSecret} --type=kubernetes.io/tls --from-file=tls.crt=… --from-file=tls.key=… --from-file=ca.crt=…`,
    `  kubectl${inNs} create secret generic ${plan.tokenSecret.name} --from-literal=${plan.tokenSecret.key}="$(openssl rand -hex 32)"`,
    ...plan.env.map(
      ({ secret }) =>
        `  kubectl${inNs} create secret generic ${secret.name} --from-literal=${secret.key}='…'`,
    ),
    `The certificate (${plan.tlsSecret}) is the pods' server and client certificate (extended key usages serverAuth and clientAuth), for the names: ${names.join(', ')}.`,
    ...(plan.deploy.consul === undefined
      ? []
      : [
          `The pods read their configuration from Consul: load it with evented load-config ${out}/consul --consul ${plan.deploy.consul.url}${plan.deploy.consul.prefix === 'evented/' ? '' : ` --prefix ${plan.deploy.consul.prefix}`}.`,
        ]),
    `Then: kubectl apply -f ${out}/ — and from outside, through a port-forward: evented status --address 127.0.0.1:1316 --tls-ca ca.crt --tls-server-name ${plan.name}-admin --token-file token${plan.deploy.mutualTls ? ' --tls-cert client.crt --tls-key client.key' : ''}`,
  ];
};

/** The manifests of a project; `out` is only named in the notes (where the files go). */
export const renderKubernetes = (
  config: ResolvedConfig,
  options: { version: string; out: string },
): KubernetesManifests => {
  const plan = planCluster(config);
  const image = plan.deploy.image ?? `evented:${options.version}`;
  const configText = `${RENDERED_HEADER}\n${stringify(plan.config, { lineWidth: 0, aliasDuplicateObjects: false })}`;
  const configHash = createHash('sha256').update(configText).digest('hex');
  const consul = plan.deploy.consul !== undefined;
  const configMapName = consul ? undefined : `${plan.name}-config`;

  const files: RenderedFile[] = [];
  const objects: KubernetesObject[] = [];
  if (configMapName !== undefined) {
    const configMap: IConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: metadata(plan, configMapName, labelsOf(plan, options.version, 'config')),
      data: { 'evented.yaml': configText },
    };
    objects.push(configMap);
    files.push({ path: 'config.yaml', text: yamlOf([configMap]) });
  } else {
    files.push({ path: 'consul/evented.yaml', text: configText });
  }
  const served: Role[] = [];
  for (const { role, replicas } of plan.roles) {
    const server = SERVERS[role];
    const ofRole: KubernetesObject[] = [
      deployment(plan, options.version, role, replicas, image, configMapName, configHash),
      ...(server === undefined ? [] : [service(plan, options.version, role, server.servicePort)]),
      disruptionBudget(plan, options.version, role),
    ];
    if (server !== undefined) served.push(role);
    objects.push(...ofRole);
    files.push({ path: `${role}.yaml`, text: yamlOf(ofRole) });
  }
  return { objects, files, notes: notesOf(plan, served, options.out) };
};

/** All the objects as one YAML stream (for --stdout). */
export const manifestsAsYaml = (manifests: KubernetesManifests): string => yamlOf(manifests.objects);
