import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { ConfigError, UnavailableError, messageOf } from '../errors/index.js';
import { configSchema, type BusConfig } from '../config/schema.js';
import { shownUrl } from '../config/from-env.js';
import { DEFAULT_CONSUL_URL } from '../config/sources/consul-defaults.js';
import { freePort } from '../support/net.js';
import { BUS_FLAG } from '../up/flags.js';
import { findContainerEngine, onPath, runContainer } from './container.js';
import { consulAnswers, startLocalConsulAgent } from './consul-agent/local-agent.js';
import { startLocalRabbitNode } from './rabbitmq/local-node.js';
import { findProgram } from './rabbitmq/node-files.js';
import type { StopRecord } from './stop-record.js';

/**
 * The local infrastructure ladder of `evented up`, per concern: an explicit flag or evented.yaml > a reachable
 * URL > a container engine (docker, podman) > a local binary > a clear error naming everything it tried. Each
 * answer says what was chosen, why, and how to choose another; what the ladder started, it stops.
 */

export interface Choice {
  concern: 'store' | 'bus' | 'config';
  /** What was chosen: "in-process memory bus", "RabbitMQ at amqp://…", … */
  chosen: string;
  why: string;
  /** How to choose another. */
  instead: string;
}

/** Something the ladder started (a broker, an agent): shown by `evented up`, stopped by it. */
export interface StartedInfra {
  name: string;
  kind: string;
  address: string;
  pid?: number;
  log?: string;
  /** How another process can stop it (`evented down` after `up` died). */
  record: StopRecord;
  stop(): Promise<void>;
}

/** Something the ladder has just started and is waiting for: to be recorded at once, before it is ready. */
export interface StartingInfra {
  name: string;
  kind: string;
  record: StopRecord;
}

export interface Resolved<T> {
  value: T;
  choice: Choice;
  started?: StartedInfra;
}

export interface LadderContext {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  /** Called when a slow rung begins (a container pull, a broker boot), for the live view. */
  progress?: (message: string) => void;
  /** Called as soon as the ladder has started something, before waiting for it (see StopRecord). */
  starting?: (infra: StartingInfra) => void;
}

const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** A name for this project's private broker or agent, the same on every `up` so that its data is found again. */
const projectTag = (projectDir: string): string =>
  `evented-${createHash('sha256').update(projectDir).digest('hex').slice(0, 8)}`;

const hidePassword = (url: string): string => url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');

/**
 * Whether an AMQP broker answers at `url`: it replies to the protocol header with its Connection.Start frame.
 * A TCP connect alone is not enough: a container engine's port proxy accepts before the broker is up.
 */
export const amqpAnswers = (url: string, timeoutMs = 1500): Promise<boolean> =>
  new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve(false);
      return;
    }
    const socket = connect({ host: parsed.hostname, port: Number(parsed.port || 5672) });
    const done = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    socket.once('data', (data: Buffer) => done(data[0] === 1));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });

const amqpBus = (url: string, configured: BusConfig): BusConfig =>
  configured.kind === 'amqp'
    ? { ...configured, url }
    : configSchema.parse({ bus: { kind: 'amqp', url } }).bus;

/**
 * `--bus` (undefined, "memory", "rabbitmq" or an amqp:// URL) and evented.yaml's `bus` → the bus to run with.
 */
export const resolveBus = async (
  request: string | undefined,
  configured: BusConfig,
  context: LadderContext,
): Promise<Resolved<BusConfig>> => {
  const toRabbit = '--bus rabbitmq (a broker found or started for you) or --bus amqp://HOST:5672';
  if (request === undefined) {
    if (configured.kind === 'amqp') {
      return {
        value: configured,
        choice: {
          concern: 'bus',
          chosen: `RabbitMQ at ${shownUrl(configured.url)}`,
          why: 'evented.yaml sets bus.url',
          instead: '--bus memory for the in-process bus',
        },
      };
    }
    return {
      value: configured,
      choice: {
        concern: 'bus',
        chosen: 'in-process memory bus',
        why: 'the embedded default',
        instead: toRabbit,
      },
    };
  }
  if (request === 'memory') {
    return {
      value: { kind: 'memory' },
      choice: { concern: 'bus', chosen: 'in-process memory bus', why: '--bus memory', instead: toRabbit },
    };
  }
  if (/^amqps?:\/\//.test(request)) {
    return {
      value: amqpBus(request, configured),
      choice: {
        concern: 'bus',
        chosen: `RabbitMQ at ${hidePassword(request)}`,
        why: '--bus gives its URL',
        instead: '--bus memory, or --bus rabbitmq',
      },
    };
  }
  if (request !== 'rabbitmq') throw new ConfigError(`--bus ${request}: expected ${BUS_FLAG}`);
  return rabbitLadder(configured, context);
};

const rabbitLadder = async (configured: BusConfig, context: LadderContext): Promise<Resolved<BusConfig>> => {
  const { env, projectDir } = context;
  const tried: string[] = [];
  const instead = '--bus amqp://HOST:5672 for another broker, or --bus memory';
  const choice = (chosen: string, why: string): Choice => ({ concern: 'bus', chosen, why, instead });

  // 1. A broker that answers.
  const url = env.EVENTED_AMQP_URL || DEFAULT_AMQP_URL;
  const where = env.EVENTED_AMQP_URL ? `$EVENTED_AMQP_URL (${hidePassword(url)})` : hidePassword(url);
  if (await amqpAnswers(url)) {
    return {
      value: amqpBus(url, configured),
      choice: choice(`RabbitMQ at ${hidePassword(url)}`, `a broker answers at ${where}`),
    };
  }
  tried.push(`a broker at ${where}: no answer`);

  // 2. A container engine.
  const engine = await findContainerEngine(env, tried);
  if (engine) {
    context.progress?.(`starting RabbitMQ in a ${engine.name} container (the first run pulls rabbitmq:3)`);
    const port = await freePort();
    try {
      const container = await runContainer(engine, {
        name: `${projectTag(projectDir)}-rabbitmq`,
        image: 'rabbitmq:3',
        publish: [{ host: port, container: 5672 }],
        env,
      });
      context.starting?.({ name: 'rabbitmq', kind: engine.name, record: container.record });
      const containerUrl = `amqp://guest:guest@127.0.0.1:${port}`;
      const deadline = Date.now() + 120_000;
      while (!(await amqpAnswers(containerUrl))) {
        if (Date.now() > deadline) {
          await container.stop();
          throw new Error(`the broker in container ${container.id.slice(0, 12)} did not answer within 120 s`);
        }
        await pause(500);
      }
      return {
        value: amqpBus(containerUrl, configured),
        choice: choice(
          `RabbitMQ in a ${engine.name} container on 127.0.0.1:${port}`,
          `no broker answered at ${where}; ${engine.name} works`,
        ),
        started: {
          name: 'rabbitmq',
          kind: engine.name,
          address: `127.0.0.1:${port}`,
          record: container.record,
          stop: () => container.stop(),
        },
      };
    } catch (err) {
      tried.push(`a ${engine.name} container: ${messageOf(err)}`);
    }
  }

  // 3. A private node from the installed rabbitmq-server.
  const explicit = env.EVENTED_RABBITMQ_SERVER;
  const server = explicit
    ? existsSync(explicit)
      ? explicit
      : undefined
    : findProgram('rabbitmq-server').path;
  if (server === undefined) {
    tried.push(
      explicit
        ? `rabbitmq-server: not found at ${explicit} ($EVENTED_RABBITMQ_SERVER)`
        : 'rabbitmq-server: not on PATH (nor in /usr/sbin, /usr/local/sbin, /opt/homebrew/sbin)',
    );
  } else {
    context.progress?.(`starting a private RabbitMQ node from ${server} (about 5 s)`);
    let recorded: StopRecord | undefined;
    try {
      const node = await startLocalRabbitNode({
        dataDir: join(projectDir, '.evented', 'rabbitmq'),
        nodeName: `${projectTag(projectDir)}@localhost`,
        serverPath: server,
        onSpawned: (record) => {
          recorded = record;
          context.starting?.({ name: 'rabbitmq', kind: 'rabbitmq-server', record });
        },
      });
      return {
        value: amqpBus(node.url, configured),
        choice: choice(
          `RabbitMQ: a private rabbitmq-server node on 127.0.0.1:${node.port}`,
          `no broker answered at ${where}, no container engine works; data in .evented/rabbitmq`,
        ),
        started: {
          name: 'rabbitmq',
          kind: 'rabbitmq-server',
          address: `127.0.0.1:${node.port}`,
          log: node.logFile,
          record: recorded!,
          stop: () => node.stop(),
        },
      };
    } catch (err) {
      tried.push(`rabbitmq-server (${server}): ${messageOf(err)}`);
    }
  }
  throw new UnavailableError(`no RabbitMQ for --bus rabbitmq; tried: ${tried.join('; ')}`, {
    hint: 'start a broker and set EVENTED_AMQP_URL (or pass --bus amqp://HOST:5672), install docker, podman or rabbitmq-server, or use --bus memory',
  });
};

/** Where the configuration comes from: evented.yaml (a file) or a Consul agent's URL. */
export type ConfigSource = { kind: 'file'; path: string } | { kind: 'consul'; url: string; private: boolean };

const withScheme = (address: string): string =>
  /^https?:\/\//.test(address) ? address : `http://${address}`;

/** `--config` (undefined, a file, "consul" or an http(s):// URL) → where to read the configuration. */
export const resolveConfigSource = async (
  request: string | undefined,
  context: LadderContext,
): Promise<Resolved<ConfigSource>> => {
  const yaml = join(context.projectDir, 'evented.yaml');
  const toConsul = '--config consul (an agent found or started for you) or --config http://HOST:8500';
  if (request === undefined || request === 'file') {
    return {
      value: { kind: 'file', path: yaml },
      choice: { concern: 'config', chosen: yaml, why: 'the embedded default', instead: toConsul },
    };
  }
  if (/^https?:\/\//.test(request)) {
    return {
      value: { kind: 'consul', url: request, private: false },
      choice: {
        concern: 'config',
        chosen: `Consul KV at ${request}`,
        why: '--config gives its URL',
        instead: 'leave out --config for evented.yaml',
      },
    };
  }
  if (request !== 'consul') {
    const path = join(context.projectDir, request);
    const file = existsSync(request) ? request : path;
    return {
      value: { kind: 'file', path: file },
      choice: { concern: 'config', chosen: file, why: '--config names the file', instead: toConsul },
    };
  }
  return consulLadder(context);
};

const consulLadder = async (context: LadderContext): Promise<Resolved<ConfigSource>> => {
  const { env, projectDir } = context;
  const tried: string[] = [];
  const instead = '--config http://HOST:8500 for another agent, or leave out --config for evented.yaml';
  const choice = (chosen: string, why: string): Choice => ({ concern: 'config', chosen, why, instead });

  // 1. An agent that answers.
  const url = withScheme(env.CONSUL_HTTP_ADDR || DEFAULT_CONSUL_URL);
  const where = env.CONSUL_HTTP_ADDR ? `$CONSUL_HTTP_ADDR (${url})` : url;
  if (await consulAnswers(url)) {
    return {
      value: { kind: 'consul', url, private: false },
      choice: choice(`Consul KV at ${url}`, `an agent answers at ${where}`),
    };
  }
  tried.push(`an agent at ${where}: no answer`);

  // 2. A container engine.
  const engine = await findContainerEngine(env, tried);
  if (engine) {
    context.progress?.(
      `starting Consul in a ${engine.name} container (the first run pulls hashicorp/consul)`,
    );
    const port = await freePort();
    try {
      const container = await runContainer(engine, {
        name: `${projectTag(projectDir)}-consul`,
        image: 'hashicorp/consul',
        publish: [{ host: port, container: 8500 }],
        args: ['agent', '-dev', '-client=0.0.0.0'],
        env,
      });
      context.starting?.({ name: 'consul', kind: engine.name, record: container.record });
      const agent = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      while (!(await consulAnswers(agent))) {
        if (Date.now() > deadline) {
          await container.stop();
          throw new Error(`the agent in container ${container.id.slice(0, 12)} did not answer within 60 s`);
        }
        await pause(300);
      }
      return {
        value: { kind: 'consul', url: agent, private: true },
        choice: choice(
          `Consul KV in a ${engine.name} container at ${agent}`,
          `no agent answered at ${where}; ${engine.name} works`,
        ),
        started: {
          name: 'consul',
          kind: engine.name,
          address: `127.0.0.1:${port}`,
          record: container.record,
          stop: () => container.stop(),
        },
      };
    } catch (err) {
      tried.push(`a ${engine.name} container: ${messageOf(err)}`);
    }
  }

  // 3. A local dev agent.
  const binary = onPath('consul', env);
  if (binary === undefined) tried.push('consul: not on PATH');
  else {
    let recorded: StopRecord | undefined;
    try {
      const agent = await startLocalConsulAgent({
        binary,
        dataDir: join(projectDir, '.evented', 'consul'),
        log: join(projectDir, '.evented', 'logs', 'consul.log'),
        env,
        onSpawned: (record) => {
          recorded = record;
          context.starting?.({ name: 'consul', kind: 'consul agent -dev', record });
        },
      });
      return {
        value: { kind: 'consul', url: agent.url, private: true },
        choice: choice(
          `Consul KV: a local dev agent at ${agent.url}`,
          `no agent answered at ${where}, no container engine works`,
        ),
        started: {
          name: 'consul',
          kind: 'consul agent -dev',
          address: agent.url.slice('http://'.length),
          pid: agent.pid,
          log: agent.log,
          record: recorded!,
          stop: () => agent.stop(),
        },
      };
    } catch (err) {
      tried.push(`consul (${binary}): ${messageOf(err)}`);
    }
  }
  throw new UnavailableError(`no Consul for --config consul; tried: ${tried.join('; ')}`, {
    hint: 'start an agent and set CONSUL_HTTP_ADDR (or pass --config http://HOST:8500), install docker, podman or consul, or leave out --config',
  });
};
