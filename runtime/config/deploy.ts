import { z } from 'zod';
import { DEFAULT_CONSUL_PREFIX } from './sources/consul-defaults.js';

/**
 * The `deploy` section of evented.yaml: how `evented deploy kubernetes` renders the project (deploy/kubernetes.ts).
 * Part of the one configuration schema (schema.ts); the runtime itself never reads it.
 */

/** The roles a process can hold (`evented serve --role …`), each rendered as its own Deployment. */

/** A Kubernetes object name (an RFC 1123 label: what Services, Secrets and ConfigMaps all accept). */
const objectName = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "use lowercase letters, digits and '-', starting and ending with a letter or digit (at most 63)",
  );

/** A Kubernetes quantity: `250m` of CPU, `512Mi` of memory, or a plain number. */
const QUANTITY = 'expected a Kubernetes quantity, for example 250m (CPU) or 512Mi (memory)';
const quantity = z.union(
  [
    z.string().regex(/^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$/, QUANTITY),
    z.number().nonnegative(),
  ],
  { error: QUANTITY },
);
const amounts = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });
const resources = z.strictObject({ requests: amounts.optional(), limits: amounts.optional() });

const role = (replicas: number) =>
  z.strictObject({
    /** Pods of this role; 0 renders none. */
    replicas: z.number().int().min(0).max(1000).default(replicas),
    /** Replaces `deploy.resources` for this role. */
    resources: resources.optional(),
  });

/** A key of a Secret: `{ name: bank-store, key: url }`. */
const secretKey = (key: string) => z.strictObject({ name: objectName, key: z.string().min(1).default(key) });

export const deploy = z.strictObject({
  /** The runtime's image (built from the repository's Dockerfile). Default: `evented:<version>`. */
  image: z.string().min(1).optional(),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  /** Every object's namespace; without it, kubectl's current one. */
  namespace: objectName.optional(),
  /** The first part of every object's name (`bank-command`, …). Default: the project's name. */
  name: objectName.optional(),
  /** Each role's Deployment: replicas and resources. One relay is active at a time; a second takes over. */
  roles: z
    .strictObject({
      command: role(2).prefault({}),
      query: role(2).prefault({}),
      relay: role(2).prefault({}),
      projectors: role(2).prefault({}),
      sagas: role(2).prefault({}),
      admin: role(1).prefault({}),
    })
    .prefault({}),
  /** Requests and limits of every role's container, unless the role sets its own. */
  resources: resources.default({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } }),
  /**
   * The Secrets the manifests reference (created by you, never rendered): the store's and the broker's URLs
   * (when evented.yaml's own must not be written into a ConfigMap: one with a password), the TLS certificate
   * (a `kubernetes.io/tls` Secret holding tls.crt, tls.key and ca.crt; default `<name>-tls`) and the token
   * (default `<name>-token`, key `token`).
   */
  secrets: z
    .strictObject({
      store: secretKey('url').optional(),
      bus: secretKey('url').optional(),
      tls: objectName.optional(),
      token: secretKey('token').optional(),
    })
    .prefault({}),
  /** Mutual TLS: every server also requires a client certificate signed by the TLS Secret's ca.crt. */
  mutualTls: z.boolean().default(false),
  /**
   * The configuration from Consul KV (`evented serve --consul`) instead of a ConfigMap: the rendering writes the
   * configuration to load there (`evented load-config`).
   */
  consul: z
    .strictObject({
      url: z
        .string()
        .regex(/^https?:\/\//, 'expected the agent’s URL, for example http://consul.consul:8500'),
      prefix: z.string().default(DEFAULT_CONSUL_PREFIX),
    })
    .optional(),
});
