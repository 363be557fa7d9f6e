import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { ResolvedConfig, TargetTlsConfig, TokenConfig } from './schema.js';
import { ConfigError, messageOf } from '../errors/index.js';
import type { ClientTls } from '../grpc/client-credentials.js';
import type { ServerTls } from '../grpc/server.js';

/**
 * What the configuration says of TLS and the token, read from their files (or the environment) once, at start:
 * every file is checked now — a certificate that does not parse, a key that is not the certificate's, a token too
 * short — and named in one line with its key, rather than found at the first connection. A rotated certificate or
 * token takes effect at the next start (Kubernetes: a rolling restart). The CLI reads evented.yaml's the same way
 * (`client`, `token`): keep this module light.
 */
export interface RuntimeSecurity {
  /** The servers' TLS (evented.yaml `tls`); undefined: plaintext. */
  readonly server: ServerTls | undefined;
  /** How the runtime checks its own servers (`evented status`): their certificate, pinned. */
  readonly self: ClientTls | undefined;
  /** A client of this runtime (the CLI in the project folder): verified with `tls.ca`, presenting `tls.cert`. */
  readonly client: ClientTls | undefined;
  /** Required by the admin service and the projector and saga coordinators (`token`). */
  readonly token: string | undefined;
  /** How to reach a target whose `tls` is `tls`, named by `key` in errors; undefined: plaintext. */
  target(tls: TargetTlsConfig | undefined, key: string): ClientTls | undefined;
}

/** Tokens shorter than this are refused: a shared secret that short can be guessed. */
export const MIN_TOKEN_LENGTH = 16;

const MAKE_TOKEN = 'make one with `openssl rand -hex 32`';

export const loadSecurity = (
  config: Pick<ResolvedConfig, 'tls' | 'token'>,
  projectDir: string,
  env: NodeJS.ProcessEnv,
): RuntimeSecurity => {
  const files = new Map<string, Buffer>();
  /** A file of the configuration (relative to the project folder), read once however many keys name it. */
  const read = (path: string, key: string): Buffer => {
    const full = isAbsolute(path) ? path : join(projectDir, path);
    let content = files.get(full);
    if (content === undefined) {
      try {
        content = readFileSync(full);
      } catch (err) {
        throw new ConfigError(`${key}: cannot read ${full}: ${messageOf(err)}`, {
          hint: 'a path relative to the project folder, or absolute (Kubernetes: where the Secret is mounted)',
        });
      }
      files.set(full, content);
    }
    return content;
  };
  const certificates = (path: string, key: string): { pem: Buffer; leaf: X509Certificate } => {
    const pem = read(path, key);
    try {
      return { pem, leaf: new X509Certificate(pem) };
    } catch (err) {
      throw new ConfigError(`${key}: ${path} is not a PEM certificate: ${messageOf(err)}`);
    }
  };

  let server: ServerTls | undefined;
  let self: ClientTls | undefined;
  /** For targets called with `tls: true`: the CAs of `tls.ca` (else the system's), and the runtime's certificate. */
  let defaults: ClientTls = {};
  if (config.tls !== undefined) {
    const { cert, key, clientCa, ca } = config.tls;
    const own = certificates(cert, 'tls.cert');
    const keyPem = read(key, 'tls.key');
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(keyPem);
    } catch (err) {
      throw new ConfigError(`tls.key: ${key} is not a PEM private key: ${messageOf(err)}`);
    }
    if (!own.leaf.checkPrivateKey(privateKey)) {
      throw new ConfigError(
        `tls.key: ${key} is not the private key of the certificate in ${cert} (tls.cert)`,
      );
    }
    const clientCaPem = clientCa === undefined ? undefined : certificates(clientCa, 'tls.clientCa').pem;
    const caPem = ca === undefined ? undefined : certificates(ca, 'tls.ca').pem;
    server = { cert: own.pem, key: keyPem, ...(clientCaPem && { clientCa: clientCaPem }) };
    defaults = { ...(caPem && { ca: caPem }), cert: own.pem, key: keyPem };
    self = {
      // Trusted: its own chain (a self-signed certificate is its own root), the configured CAs, the system's.
      ca: Buffer.concat(
        [own.pem, caPem, clientCaPem, Buffer.from(rootCertificates.join('\n'))].flatMap((pem) =>
          pem ? [pem, Buffer.from('\n')] : [],
        ),
      ),
      cert: own.pem,
      key: keyPem,
      pinnedFingerprint: own.leaf.fingerprint256,
    };
  }

  return {
    server,
    self,
    client: config.tls === undefined ? undefined : defaults,
    token: config.token === undefined ? undefined : readToken(config.token, read, env),
    target(tls, key) {
      if (tls === undefined || tls === false) return undefined;
      if (tls === true) return defaults;
      return {
        ...defaults,
        ...(tls.ca !== undefined && { ca: certificates(tls.ca, `${key}.tls.ca`).pem }),
        ...(tls.serverName !== undefined && { serverName: tls.serverName }),
      };
    },
  };
};

/**
 * A token of the configuration other than the runtime's own (`console.token`), read and checked as that one is:
 * `key` names it in errors.
 */
export const loadToken = (
  config: TokenConfig,
  projectDir: string,
  env: NodeJS.ProcessEnv,
  key: string,
): string =>
  readToken(
    config,
    (path, fileKey) => {
      const full = isAbsolute(path) ? path : join(projectDir, path);
      try {
        return readFileSync(full);
      } catch (err) {
        throw new ConfigError(`${fileKey}: cannot read ${full}: ${messageOf(err)}`, {
          hint: 'a path relative to the project folder, or absolute (Kubernetes: where the Secret is mounted)',
        });
      }
    },
    env,
    key,
  );

const readToken = (
  config: TokenConfig,
  read: (path: string, key: string) => Buffer,
  env: NodeJS.ProcessEnv,
  name = 'token',
): string => {
  if (config.env !== undefined && env[config.env] === undefined) {
    throw new ConfigError(`${name}.env: the environment variable ${config.env} is not set`, {
      hint: `set it to the token (Kubernetes: from a Secret, with secretKeyRef); ${MAKE_TOKEN}`,
    });
  }
  const [key, token] =
    config.file !== undefined
      ? [`${name}.file (${config.file})`, read(config.file, `${name}.file`).toString('utf8').trim()]
      : [`${name}.env (${config.env})`, (env[config.env!] ?? '').trim()];
  if (token === '') {
    throw new ConfigError(`${key}: the token is empty`, { hint: MAKE_TOKEN });
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(
      `${key}: the token is ${token.length} characters long; it must have at least ${MIN_TOKEN_LENGTH}`,
      { hint: MAKE_TOKEN },
    );
  }
  return token;
};
