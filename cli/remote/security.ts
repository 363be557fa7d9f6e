import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { ClientTls } from '../../runtime/grpc/client-credentials.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';

/**
 * How the CLI talks to a runtime that speaks TLS or requires its token: `--tls-ca`, `--tls-cert`, `--tls-key`,
 * `--tls-server-name` (or `--tls` alone, for a certificate the system's CAs sign) and `--token-file`, each with its
 * EVENTED_ twin, plus EVENTED_TOKEN holding the token itself. Without them, what the project's evented.yaml says
 * (`tls`: its CA, its certificate presented as the client's; `token`): so that in the project folder the CLI
 * reaches the runtime it runs, and elsewhere the flags say everything.
 */

export interface SecurityOptions {
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
  tokenFile?: string;
}

export interface ConnectionSecurity {
  /** Undefined: plaintext. */
  tls: ClientTls | undefined;
  /** Sent to the admin service, which requires it when the runtime has one. */
  token: string | undefined;
}

export const withSecurityOptions = (command: Command): Command =>
  command
    .addOption(
      new Option('--tls', "speak TLS to the runtime, trusting the system's CAs (implied by --tls-ca)").env(
        'EVENTED_TLS',
      ),
    )
    .addOption(
      new Option('--tls-ca <file>', "the CA (PEM) that signed the runtime's certificate").env(
        'EVENTED_TLS_CA',
      ),
    )
    .addOption(
      new Option('--tls-cert <file>', 'a client certificate (PEM), for a runtime that requires one').env(
        'EVENTED_TLS_CERT',
      ),
    )
    .addOption(
      new Option('--tls-key <file>', "the client certificate's private key (PEM)").env('EVENTED_TLS_KEY'),
    )
    .addOption(
      new Option(
        '--tls-server-name <name>',
        "the name the runtime's certificate carries, when the address does not (a port-forward)",
      ).env('EVENTED_TLS_SERVER_NAME'),
    )
    .addOption(
      new Option(
        '--token-file <file>',
        "a file holding the runtime's token (or EVENTED_TOKEN: the token)",
      ).env('EVENTED_TOKEN_FILE'),
    );

const readFlagFile = (cwd: string, path: string, flag: string): Buffer => {
  const full = resolve(cwd, path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new UsageError(`${flag} ${path}: cannot read ${full}: ${(err as Error).message}`);
  }
};

const tlsFromFlags = (context: CliContext, options: SecurityOptions): ClientTls | undefined => {
  const { tlsCa, tlsCert, tlsKey, tlsServerName } = options;
  if (!options.tls && [tlsCa, tlsCert, tlsKey, tlsServerName].every((it) => it === undefined))
    return undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: a client certificate and its private key');
  }
  return {
    ...(tlsCa !== undefined && { ca: readFlagFile(context.cwd, tlsCa, '--tls-ca') }),
    ...(tlsCert !== undefined && { cert: readFlagFile(context.cwd, tlsCert, '--tls-cert') }),
    ...(tlsKey !== undefined && { key: readFlagFile(context.cwd, tlsKey, '--tls-key') }),
    ...(tlsServerName !== undefined && { serverName: tlsServerName }),
  };
};

const tokenFromFlags = (context: CliContext, options: SecurityOptions): string | undefined => {
  const token =
    options.tokenFile !== undefined
      ? readFlagFile(context.cwd, options.tokenFile, '--token-file').toString('utf8').trim()
      : context.env.EVENTED_TOKEN?.trim();
  if (token === '') {
    throw new UsageError(
      options.tokenFile !== undefined
        ? `--token-file ${options.tokenFile}: the file is empty`
        : 'EVENTED_TOKEN is empty',
    );
  }
  return token;
};

/** What the CLI presents to the runtime: from the flags and EVENTED_TOKEN, else from the project's evented.yaml. */
export const connectionSecurity = async (
  context: CliContext,
  options: SecurityOptions,
  projectDir: string,
): Promise<ConnectionSecurity> => {
  const tls = tlsFromFlags(context, options);
  const token = tokenFromFlags(context, options);
  const configPath = join(projectDir, 'evented.yaml');
  if ((tls !== undefined && token !== undefined) || !existsSync(configPath)) return { tls, token };
  // The configuration (YAML, its schema) is loaded only here, when the flags leave something to it.
  const { readConfigFile } = await import('../../runtime/config/sources/file.js');
  const config = await readConfigFile(configPath);
  if (config.tls === undefined && config.token === undefined) return { tls, token };
  const { loadSecurity } = await import('../../runtime/config/security.js');
  try {
    const fromConfig = loadSecurity(
      {
        tls: tls === undefined ? config.tls : undefined,
        token: token === undefined ? config.token : undefined,
      },
      projectDir,
      context.env,
    );
    return { tls: tls ?? fromConfig.client, token: token ?? fromConfig.token };
  } catch (err) {
    throw new CliError(
      `${configPath}: ${(err as Error).message}`,
      (err as { hint?: string }).hint ??
        'or give the CLI its own: --tls-ca, --tls-cert, --tls-key, --token-file (see evented help status)',
    );
  }
};
