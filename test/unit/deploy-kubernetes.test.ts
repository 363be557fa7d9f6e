import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import {
  ConfigError,
  manifestsAsYaml,
  parseConfigText,
  renderKubernetes,
  type KubernetesManifests,
} from '../../runtime/index.js';

/**
 * `evented deploy kubernetes` renders from the resolved configuration alone, so it is tested here without a
 * cluster: every object, read back from the YAML written, validates against the Kubernetes schemas (the
 * kubernetes-models packages: the OpenAPI schemas of the API server, compiled); what must not be written (a
 * password) is not; what cannot be deployed is refused in one line.
 */

const STORE_PASSWORD = 'store-pass-7f3a';
const BUS_PASSWORD = 'bus-pass-91c2';

const PROJECT = `
name: bank
store: { kind: postgres, url: "postgres://evented:${STORE_PASSWORD}@127.0.0.1:5432/bank", schema: bank }
bus: { kind: amqp, url: "amqp://evented:${BUS_PASSWORD}@127.0.0.1:5672" }
tls: { cert: tls/local.crt, key: tls/local.key }
token: { file: tls/token }
domains:
  account: { businessLogic: "account-logic:1737" }
projectors:
  accounts: { address: "accounts:1738", domains: [account], tls: true }
sagas:
  transfers: { address: "transfers:1749", domains: [account] }
processes:
  business-logic: { command: node src/business-logic.ts, readyOn: 127.0.0.1:1737 }
deploy:
  image: registry.example.com/bank/evented:0.1.0
  namespace: bank
  roles:
    command: { replicas: 3, resources: { requests: { cpu: 500m, memory: 512Mi }, limits: { memory: 1Gi } } }
    admin: { replicas: 1 }
  secrets:
    store: { name: bank-store }
    bus: { name: bank-bus, key: amqp-url }
  mutualTls: true
`;

const render = (text: string): KubernetesManifests =>
  renderKubernetes(parseConfigText(text, 'evented.yaml'), { version: '0.1.0', out: 'deploy/kubernetes' });

const refusalOf = (text: string): ConfigError => {
  try {
    render(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the rendering to be refused');
};

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 ConfigMap': ConfigMap,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
};

/** Every object of every file, as kubectl would read it. */
const objectsOf = (manifests: KubernetesManifests): Record<string, unknown>[] =>
  manifests.files
    .filter((file) => !file.path.startsWith('consul/'))
    .flatMap((file) => parseAllDocuments(file.text).map((doc) => doc.toJS() as Record<string, unknown>));

const find = <T>(objects: Record<string, unknown>[], kind: string, name: string): T => {
  const found = objects.find((o) => o.kind === kind && (o.metadata as { name: string }).name === name);
  if (found === undefined) throw new Error(`no ${kind}/${name} among ${objects.length} objects`);
  return found as T;
};

describe('evented deploy kubernetes', () => {
  const manifests = render(PROJECT);
  const objects = objectsOf(manifests);

  it('renders objects that all validate against the Kubernetes schemas', () => {
    expect(objects.length).toBe(manifests.objects.length);
    for (const object of objects) {
      const key = `${String(object.apiVersion)} ${String(object.kind)}`;
      const Model = MODELS[key];
      expect(Model, `a schema for ${key}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), key).not.toThrow();
    }
  });

  it('has one Deployment, Service and PodDisruptionBudget per role, Services on the original ports', () => {
    const kinds = objects.map((o) => `${String(o.kind)}/${(o.metadata as { name: string }).name}`);
    expect(kinds).toEqual([
      'ConfigMap/bank-config',
      ...['command', 'query'].flatMap((r) => [
        `Deployment/bank-${r}`,
        `Service/bank-${r}`,
        `PodDisruptionBudget/bank-${r}`,
      ]),
      'Deployment/bank-relay',
      'PodDisruptionBudget/bank-relay',
      ...['projectors', 'sagas', 'admin'].flatMap((r) => [
        `Deployment/bank-${r}`,
        `Service/bank-${r}`,
        `PodDisruptionBudget/bank-${r}`,
      ]),
    ]);
    const ports = Object.fromEntries(
      ['command', 'query', 'projectors', 'sagas', 'admin'].map((role) => [
        role,
        find<IService>(objects, 'Service', `bank-${role}`).spec!.ports![0]!.port,
      ]),
    );
    expect(ports).toEqual({ command: 1313, query: 1314, projectors: 1315, sagas: 1748, admin: 1316 });
    for (const object of objects) expect((object.metadata as { namespace: string }).namespace).toBe('bank');
  });

  it('runs `evented serve --role ROLE` per Deployment, with its replicas, resources and probes through grpc.health.v1', () => {
    const command = find<IDeployment>(objects, 'Deployment', 'bank-command');
    const container = command.spec!.template.spec!.containers[0]!;
    expect(command.spec!.replicas).toBe(3);
    expect(container.image).toBe('registry.example.com/bank/evented:0.1.0');
    expect(container.args).toEqual(['serve', '/etc/evented/config', '--role', 'command']);
    expect(container.resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { memory: '1Gi' },
    });
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(probe?.grpc).toEqual({ port: 1319 });
    }
    expect(container.ports).toEqual([
      { name: 'grpc', containerPort: 1313 },
      { name: 'health', containerPort: 1319 },
    ]);
    const admin = find<IDeployment>(objects, 'Deployment', 'bank-admin');
    expect(admin.spec!.replicas).toBe(1);
    expect(admin.spec!.template.spec!.containers[0]!.resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '512Mi' },
    });
    const relay = find<IDeployment>(objects, 'Deployment', 'bank-relay').spec!.template.spec!.containers[0]!;
    expect(relay.args).toEqual(['serve', '/etc/evented/config', '--role', 'relay']);
    expect(relay.ports).toEqual([{ name: 'health', containerPort: 1319 }]);
    const pod = command.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('gives every pod a configuration with TLS, the token and the health port, from mounted Secrets', () => {
    const configMap = find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'bank-config');
    const config = parseConfigText(configMap.data['evented.yaml']!, 'evented.yaml');
    expect(config.tls).toEqual({
      cert: '/etc/evented/tls/tls.crt',
      key: '/etc/evented/tls/tls.key',
      ca: '/etc/evented/tls/ca.crt',
      clientCa: '/etc/evented/tls/ca.crt',
    });
    expect(config.token).toEqual({ file: '/etc/evented/token/token' });
    expect(config.health).toEqual({ host: '0.0.0.0', port: 1319 });
    for (const server of [
      'commandHandler',
      'queryHandler',
      'projectorCoordinator',
      'sagaCoordinator',
      'admin',
    ] as const) {
      expect(config[server].host, server).toBe('0.0.0.0');
    }
    expect(config.processes).toEqual({});
    expect(config.deploy).toBeUndefined();
    expect(config.projectors.accounts?.tls).toBe(true);
    expect(config.store).toMatchObject({
      kind: 'postgres',
      url: { env: 'EVENTED_STORE_URL' },
      schema: 'bank',
    });
    expect(config.bus).toMatchObject({ kind: 'amqp', url: { env: 'EVENTED_BUS_URL' } });

    const pod = find<IDeployment>(objects, 'Deployment', 'bank-query').spec!.template.spec!;
    expect(pod.containers[0]!.env).toEqual([
      { name: 'EVENTED_STORE_URL', valueFrom: { secretKeyRef: { name: 'bank-store', key: 'url' } } },
      { name: 'EVENTED_BUS_URL', valueFrom: { secretKeyRef: { name: 'bank-bus', key: 'amqp-url' } } },
    ]);
    expect(pod.volumes).toEqual(
      expect.arrayContaining([
        { name: 'config', configMap: { name: 'bank-config' } },
        { name: 'tls', secret: { secretName: 'bank-tls', defaultMode: 0o440 } },
        expect.objectContaining({
          name: 'token',
          secret: expect.objectContaining({ secretName: 'bank-token' }),
        }),
      ]),
    );
  });

  it('writes no secret: no password, and no Secret object', () => {
    const everything = [
      ...manifests.files.map((f) => f.text),
      manifestsAsYaml(manifests),
      manifests.notes.join('\n'),
    ].join('\n');
    expect(everything).not.toContain(STORE_PASSWORD);
    expect(everything).not.toContain(BUS_PASSWORD);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    // The local TLS files and token of evented.yaml are not what the pods use.
    expect(everything).not.toContain('tls/local');
  });

  it('refuses, in one line, a URL with a password that would be written out, pointing to the Secret', () => {
    const refused = refusalOf(PROJECT.replace('    store: { name: bank-store }\n', ''));
    expect(refused.message).toBe(
      'store.url in evented.yaml holds a password, which the manifests would carry in clear: put the URL in a Secret and name it in deploy.secrets.store',
    );
    expect(refused.hint).toContain('deploy.secrets.store: { name: bank-store, key: url }');
    const bus = refusalOf(PROJECT.replace('    bus: { name: bank-bus, key: amqp-url }\n', ''));
    expect(bus.message).toMatch(/^bus\.url in evented\.yaml holds a password/);
  });

  it('writes a URL without a password as it is, and refuses one read from the environment without its Secret', () => {
    const plain = PROJECT.replace(`evented:${BUS_PASSWORD}@`, 'evented@').replace(
      '    bus: { name: bank-bus, key: amqp-url }\n',
      '',
    );
    const configMap = render(plain).objects.find((o) => o.kind === 'ConfigMap') as {
      data: Record<string, string>;
    };
    expect(parseConfigText(configMap.data['evented.yaml']!, 'x').bus).toMatchObject({
      url: 'amqp://evented@127.0.0.1:5672',
    });
    const fromEnv = PROJECT.replace(
      `"amqp://evented:${BUS_PASSWORD}@127.0.0.1:5672"`,
      '{ env: AMQP_URL }',
    ).replace('    bus: { name: bank-bus, key: amqp-url }\n', '');
    expect(refusalOf(fromEnv).message).toBe(
      'bus.url is read from $AMQP_URL: name the Kubernetes Secret that holds it in deploy.secrets.bus',
    );
  });

  it('refuses what cannot be spread over pods: SQLite, the in-process bus', () => {
    expect(refusalOf('name: bank\nbus: { kind: amqp, url: "amqp://rabbit:5672" }\n').message).toMatch(
      /^the store is SQLite, a file on one machine/,
    );
    expect(
      refusalOf('name: bank\nstore: { kind: postgres, url: "postgres://pg:5432/bank" }\n').message,
    ).toMatch(/^the bus is the in-process one/);
  });

  it('refuses a per-target CA file, which the pods do not have', () => {
    const refused = refusalOf(PROJECT.replace('tls: true }', 'tls: { ca: certs/accounts-ca.pem } }'));
    expect(refused.message).toBe(
      'projectors.accounts.tls.ca names a file of this machine, which the pods do not have',
    );
  });

  it('renders no Deployment for a role with nothing to do or no replicas, and defaults when deploy is absent', () => {
    const minimal = render(
      'name: shop\nstore: { kind: postgres, url: "postgres://pg:5432/shop" }\nbus: { kind: amqp, url: "amqp://rabbit:5672" }\n',
    );
    const deployments = minimal.objects.filter((o): o is IDeployment => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata!.name)).toEqual([
      'shop-command',
      'shop-query',
      'shop-relay',
      'shop-admin',
    ]);
    expect(deployments.map((d) => d.spec!.replicas)).toEqual([2, 2, 2, 1]);
    expect(deployments[0]!.spec!.template.spec!.containers[0]!.image).toBe('evented:0.1.0');
    expect(deployments[0]!.metadata!.namespace).toBeUndefined();

    const noQuery = render(PROJECT.replace('    admin: { replicas: 1 }', '    query: { replicas: 0 }'));
    expect(noQuery.objects.some((o) => o.metadata?.name === 'bank-query')).toBe(false);
  });

  it('with deploy.consul, runs every pod on Consul KV and writes the configuration to load there instead of a ConfigMap', () => {
    const consul = render(`${PROJECT}  consul: { url: "http://consul.consul:8500" }\n`);
    expect(consul.objects.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
    const command = consul.objects.find(
      (o) => o.metadata?.name === 'bank-command' && o.kind === 'Deployment',
    ) as IDeployment;
    const container = command.spec!.template.spec!.containers[0]!;
    expect(container.args).toEqual([
      'serve',
      '--consul',
      'http://consul.consul:8500',
      '--prefix',
      'evented/',
      '--name',
      'bank',
      '--role',
      'command',
    ]);
    expect(container.volumeMounts!.map((m) => m.name)).not.toContain('config');
    const file = consul.files.find((f) => f.path === 'consul/evented.yaml')!;
    expect(parseConfigText(file.text, 'evented.yaml').token).toEqual({ file: '/etc/evented/token/token' });
    expect(consul.notes.join('\n')).toContain(
      'evented load-config deploy/kubernetes/consul --consul http://consul.consul:8500',
    );
    for (const object of objectsOf(consul)) {
      const Model = MODELS[`${String(object.apiVersion)} ${String(object.kind)}`]!;
      expect(() => new Model(object as never).validate()).not.toThrow();
    }
  });
});

describe('evented deploy kubernetes with metrics', () => {
  it('serves them on the pod network, names the port, and marks each pod for Prometheus to scrape', () => {
    const manifests = render(`${PROJECT}metrics: { port: 9464 }\n`);
    const objects = objectsOf(manifests);
    const configMap = find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'bank-config');
    const config = parseConfigText(configMap.data['evented.yaml']!, 'evented.yaml');
    expect(config.metrics).toEqual({ enabled: true, host: '0.0.0.0', port: 9464, allowRemote: true });
    const relay = find<IDeployment>(objects, 'Deployment', 'bank-relay').spec!.template;
    expect(relay.spec!.containers[0]!.ports).toContainEqual({ name: 'metrics', containerPort: 9464 });
    expect(relay.metadata!.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9464',
      'prometheus.io/path': '/metrics',
    });
  });

  it('leaves them out without the metrics section', () => {
    const objects = objectsOf(render(PROJECT));
    const relay = find<IDeployment>(objects, 'Deployment', 'bank-relay').spec!.template;
    expect(relay.metadata!.annotations).not.toHaveProperty('prometheus.io/scrape');
  });
});
