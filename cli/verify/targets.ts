import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientTls } from '../../runtime/grpc/client-credentials.js';
import { CliError, UsageError } from '../errors.js';

/**
 * Which business logic decides a domain's commands again: the one `--business-logic HOST:PORT` names (a candidate
 * version running beside the live one), or the one evented.yaml `domains.D.businessLogic` names (the version now
 * running), reached as evented.yaml's `domains.D.tls` says (the candidate: plaintext). Settled before anything
 * is read, so that a wrong domain or a missing address fails at once.
 */

export interface Target {
  address: string;
  /** Undefined: plaintext. */
  tls: ClientTls | undefined;
}

export interface Targets {
  /** Where each domain's business logic listens; `*`: every domain the log holds. */
  addresses: ReadonlyMap<string, Target>;
  /** The domain whose commands are read from the log; undefined: every domain's. */
  domain: string | undefined;
  /** How long one decision may take (evented.yaml commandHandler.businessLogicTimeoutMs). */
  timeoutMs: number;
}

export const ANY_DOMAIN = '*';
const DEFAULT_TIMEOUT_MS = 5000;
const ADDRESS = /^[^\s:]+:\d{1,5}$/;

interface ProjectDomains {
  domains: Record<string, Target>;
  timeoutMs: number;
}

const readProject = async (
  projectDir: string,
  env: NodeJS.ProcessEnv,
): Promise<ProjectDomains | undefined> => {
  const path = join(projectDir, 'evented.yaml');
  if (!existsSync(path)) return undefined;
  const { readConfigFile } = await import('../../runtime/config/sources/file.js');
  const { loadSecurity } = await import('../../runtime/config/security.js');
  const config = await readConfigFile(path);
  // The runtime's token is not needed to reach business logic: its TLS only.
  const security = loadSecurity({ tls: config.tls, token: undefined }, projectDir, env);
  const domains = Object.entries(config.domains).map(([domain, { businessLogic, tls }]) => [
    domain,
    { address: businessLogic, tls: security.target(tls, `domains.${domain}`) },
  ]);
  return { domains: Object.fromEntries(domains), timeoutMs: config.commandHandler.businessLogicTimeoutMs };
};

const unknownDomain = (domain: string, known: string[]): CliError =>
  new CliError(
    `unknown domain ${domain}: evented.yaml names ${known.length === 0 ? 'no domain' : known.join(', ')}`,
    known.length === 0
      ? 'add it under `domains:` in evented.yaml'
      : `pass --domain ${known[0]}, or leave it out`,
  );

export const resolveTargets = async (
  projectDir: string,
  options: { domain?: string; businessLogic?: string },
  env: NodeJS.ProcessEnv,
): Promise<Targets> => {
  const project = await readProject(projectDir, env);
  const known = Object.keys(project?.domains ?? {});
  const timeoutMs = project?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (options.domain !== undefined && project !== undefined && !known.includes(options.domain)) {
    throw unknownDomain(options.domain, known);
  }
  if (options.businessLogic !== undefined) {
    if (!ADDRESS.test(options.businessLogic)) {
      throw new UsageError(
        `--business-logic ${options.businessLogic}: expected host:port, such as 127.0.0.1:1738`,
      );
    }
    if (options.domain === undefined && known.length > 1) {
      throw new UsageError(
        `--business-logic is one domain's, and evented.yaml names ${known.join(', ')}: add --domain`,
      );
    }
    const domain = options.domain ?? known[0];
    const candidate = { address: options.businessLogic, tls: undefined };
    return { addresses: new Map([[domain ?? ANY_DOMAIN, candidate]]), domain, timeoutMs };
  }
  if (project === undefined) {
    throw new UsageError(
      `no evented.yaml in ${projectDir} to say where business logic listens`,
      'pass --business-logic HOST:PORT (and --dir for the project, whose .proto files show payloads)',
    );
  }
  const domains = options.domain === undefined ? known : [options.domain];
  if (domains.length === 0) throw unknownDomain('(any)', known);
  return {
    addresses: new Map(domains.map((domain) => [domain, project.domains[domain]!])),
    domain: options.domain,
    timeoutMs,
  };
};

/** The error for a recorded command of a domain no business logic was given for. */
export const noTargetFor = (domain: string, targets: Targets): CliError =>
  new CliError(
    `unknown domain ${domain}: the log holds commands of it, but no business logic is given for it (only for ${[...targets.addresses.keys()].join(', ')})`,
    'add it under `domains:` in evented.yaml, or verify one domain at a time: --domain D --business-logic HOST:PORT',
  );
