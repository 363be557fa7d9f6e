import { Option, type Command } from 'commander';
import type { ComponentState, Environment } from '../../runtime/index.js';
import { BUS_FLAG, STORE_FLAG, isBusFlag, isStoreFlag } from '../../runtime/up/flags.js';
import { shownUrl } from '../../runtime/config/from-env.js';
import type { CliContext } from '../context.js';
import { version } from '../version.js';
import { CliError, InterruptedError, UsageError } from '../errors.js';
import { startTimeOf } from '../../runtime/support/signals.js';
import { cleanUpAfter, describeEnded, runningEnvironment } from '../local/running.js';
import { recordEnvironment, runtimeFilePath } from '../local/runtime-file.js';
import {
  createUpReporter,
  type UpOutputMode,
  type UpReporter,
  type UpSummary,
} from '../output/up-reporter.js';
import { findProjectDir } from '../local/project.js';

/**
 * `evented up [dir]`: the whole local environment in one command — the store, bus and configuration each
 * resolved down the ladder (flag or evented.yaml > reachable URL > container > local binary > embedded), the
 * user's processes from evented.yaml, and the runtime; a live view until Ctrl-C or `evented down`, which stop
 * everything in reverse order. The work is runtime's startEnvironment; this module chooses the output.
 */

export interface UpOptions {
  store?: string;
  bus?: string;
  config?: string;
  detach?: boolean;
  json?: boolean;
  readyTimeout: string;
  instances: string;
}

const examples = `
Examples:
  evented up                          # embedded defaults: SQLite store, in-process bus, evented.yaml
  evented up ./bank --bus rabbitmq    # a reachable broker, else a container, else a local rabbitmq-server
  evented up --bus amqp://guest:guest@10.0.0.5:5672 --config consul
  evented up --store mongo            # this project's own MongoDB (downloaded once, into ~/.cache/evented)
  evented up --store postgres://evented@127.0.0.1:5432/evented
  evented up --detach && evented status && evented down
  evented up --instances 3 --bus rabbitmq   # 3 runtime processes; instance k's ports are 10·(k−1) higher

Writes .evented/runtime.json (addresses, pids) for the other commands; logs go to .evented/logs/.`;

export const registerUp = (program: Command, context: CliContext): void => {
  program
    .command('up')
    .description('start the local environment: infrastructure, your processes (evented.yaml), the runtime')
    .argument('[dir]', 'the project folder, holding evented.yaml', '.')
    .addOption(
      new Option(
        '--store <store>',
        'sqlite (default), mongo (an embedded MongoDB), or a postgres:// or mongodb:// URL',
      ).env('EVENTED_STORE'),
    )
    .addOption(
      new Option('--bus <bus>', 'memory (default), rabbitmq (found or started), or an amqp:// URL').env(
        'EVENTED_BUS',
      ),
    )
    .addOption(
      new Option(
        '--config <source>',
        'evented.yaml (default), another file, consul (found or started), or an http:// Consul URL',
      ).env('EVENTED_CONFIG'),
    )
    .addOption(
      new Option('--detach', 'run in the background; return once everything is ready').env('EVENTED_DETACH'),
    )
    .addOption(new Option('--json', 'one JSON object per line, per change').env('EVENTED_JSON'))
    .addOption(
      new Option(
        '--instances <n>',
        'how many runtime processes (evented serve, every role each); more than 1 needs a shared bus',
      )
        .env('EVENTED_INSTANCES')
        .default('1'),
    )
    .addOption(
      new Option('--ready-timeout <ms>', 'how long each of your processes may take to accept connections')
        .env('EVENTED_READY_TIMEOUT')
        .default('60000'),
    )
    .addHelpText('after', examples)
    .action(async (dir: string, options: UpOptions) => {
      const projectDir = findProjectDir(context.cwd, dir);
      const readyTimeoutMs = Number(options.readyTimeout);
      if (!Number.isInteger(readyTimeoutMs) || readyTimeoutMs <= 0) {
        throw new UsageError(`--ready-timeout ${options.readyTimeout}: expected a number of milliseconds`);
      }
      const instances = Number(options.instances);
      if (!Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCES) {
        throw new UsageError(
          `--instances ${options.instances}: expected a whole number from 1 to ${MAX_INSTANCES}`,
        );
      }
      if (options.store !== undefined && !isStoreFlag(options.store)) {
        throw new UsageError(`--store ${options.store}: expected ${STORE_FLAG}`);
      }
      if (options.bus !== undefined && !isBusFlag(options.bus)) {
        throw new UsageError(`--bus ${options.bus}: expected ${BUS_FLAG}`);
      }
      await refuseIfRunning(projectDir, context);
      if (options.detach) {
        const { runDetached } = await import('../local/detach.js');
        return runDetached(projectDir, options, context);
      }
      await up(projectDir, { ...options, readyTimeoutMs, instanceCount: instances }, context);
    });
};

/** Instances listen 10 ports apart: beyond this many, they would take over a wide range of ports. */
const MAX_INSTANCES = 16;

const refuseIfRunning = async (projectDir: string, context: CliContext): Promise<void> => {
  const running = runningEnvironment(projectDir);
  if (running === undefined) return;
  if (running.upAlive) {
    throw new CliError(
      `an evented up is already running for ${projectDir} (pid ${running.file.pid})`,
      'evented down stops it; evented status shows it',
    );
  }
  const ended = await cleanUpAfter(projectDir, running.file);
  context.stderr.write(
    `an earlier evented up (pid ${running.file.pid}) ended without stopping; ${describeEnded(ended) || 'nothing of it was left running'}\n`,
  );
};

/**
 * Set to anything but `0` or `false`, CI or CONTINUOUS_INTEGRATION make ink draw only its last frame, when the
 * view closes (the rule of ink's is-in-ci): the ready line would never show. There `up` prints plain lines.
 */
const inCi = (env: NodeJS.ProcessEnv): boolean =>
  ['CI', 'CONTINUOUS_INTEGRATION'].some(
    (key) => env[key] !== undefined && env[key] !== '0' && env[key] !== 'false',
  );

const outputMode = (options: UpOptions, context: CliContext): UpOutputMode => {
  if (options.json) return 'json';
  const terminal = (context.stdout as { isTTY?: boolean }).isTTY === true;
  return terminal && !inCi(context.env) ? 'ink' : 'plain';
};

const up = async (
  projectDir: string,
  options: UpOptions & { readyTimeoutMs: number; instanceCount: number },
  context: CliContext,
): Promise<void> => {
  const { startEnvironment } = await import('../../runtime/index.js');
  const mode = outputMode(options, context);
  const reporter = await createUpReporter({
    mode,
    stdout: context.stdout,
    projectDir,
    project: projectDir,
  });
  // Written now and on every start: whatever happens to this process from here, `down` can end what it started.
  const pid = context.self?.pid ?? process.pid;
  const record = recordEnvironment(projectDir, { pid, startTime: startTimeOf(pid) ?? '' });
  let environment: Environment;
  /** Set once everything is ready: what to do when an instance dies. */
  const after: { instanceFailed?: (name: string) => void } = {};
  try {
    environment = await startEnvironment({
      projectDir,
      store: options.store,
      bus: options.bus,
      config: options.config,
      env: context.env,
      readyTimeoutMs: options.readyTimeoutMs,
      instances: options.instanceCount,
      serve: serveCommandOf(context),
      signal: context.signal,
      version,
      report: (event) => {
        if (event.type === 'component') record.component(event.component);
        reporter.event(event);
        if (
          event.type === 'component' &&
          event.component.kind === 'instance' &&
          event.component.state === 'failed'
        )
          after.instanceFailed?.(event.component.name);
      },
    });
  } catch (err) {
    record.remove();
    reporter.close();
    if (context.signal.aborted) throw new InterruptedError();
    throw err;
  }
  const { config } = environment;
  const ready = environment;
  const addresses = {
    admin: ready.admin,
    commandHandler: ready.commandHandler,
    queryHandler: ready.queryHandler,
  };
  const leading = [
    { name: 'store', kind: environment.store.kind, address: environment.store.location },
    {
      name: 'bus',
      kind: config.bus.kind,
      address: config.bus.kind === 'amqp' ? shownUrl(config.bus.url) : undefined,
    },
  ];
  record.ready({ name: config.name, ...addresses }, leading);
  // An instance killed: the other commands are pointed at one still running (the first), if the dead one was theirs.
  after.instanceFailed = (name) => {
    const dead = ready.components().find((c) => c.name === name);
    const live = ready.components().find((c) => c.kind === 'instance' && c.state === 'ready');
    if (dead?.servers?.admin !== addresses.admin || live?.servers === undefined) return;
    addresses.admin = live.servers.admin ?? addresses.admin;
    addresses.commandHandler = live.servers.commands ?? addresses.commandHandler;
    addresses.queryHandler = live.servers.queries ?? addresses.queryHandler;
    record.ready({ name: config.name, ...addresses }, leading);
  };
  reporter.ready({
    name: config.name,
    commandHandler: environment.commandHandler,
    queryHandler: environment.queryHandler,
    admin: environment.admin,
    metrics: environment.metrics,
    console: environment.console,
    runtimeFile: runtimeFilePath(projectDir),
    instances: instancesOf(environment.components()),
  });
  const stopWatching =
    mode === 'ink' ? await watchActivityOf(environment, projectDir, context, reporter) : undefined;

  await new Promise<void>((done) => {
    if (context.signal.aborted) done();
    else context.signal.addEventListener('abort', () => done(), { once: true });
  });
  stopWatching?.();
  reporter.note('stopping…');
  try {
    await environment.close();
  } finally {
    record.remove();
  }
  reporter.note('stopped; data under .evented/ is kept for the next evented up');
  reporter.close();
};

/**
 * The live view's activity: the status of the runtime, or of each instance still running, every second, asked
 * as `evented status` would (with the project's TLS and token).
 */
const watchActivityOf = async (
  environment: Environment,
  projectDir: string,
  context: CliContext,
  reporter: UpReporter,
): Promise<() => void> => {
  const { watchActivity } = await import('../output/up-activity.js');
  const { loadSecurity } = await import('../../runtime/config/security.js');
  const security = loadSecurity(environment.config, projectDir, context.env);
  return watchActivity({
    admins: () => {
      const instances = environment.components().filter((c) => c.kind === 'instance');
      if (instances.length === 0) return [environment.admin];
      return instances.flatMap((c) => (c.state === 'ready' && c.servers?.admin ? [c.servers.admin] : []));
    },
    security: { tls: security.client, token: security.token },
    onReading: (reading) => reporter.activity(reading),
  });
};

/** How the instances run `evented serve`: this very CLI (its node and script). */
const serveCommandOf = (context: CliContext): { execPath: string; script: string } | undefined =>
  context.self?.script === undefined
    ? undefined
    : { execPath: context.self.execPath, script: context.self.script };

/** The instances of `--instances N` (none with one): their names and servers, for the ready line. */
const instancesOf = (components: readonly ComponentState[]): UpSummary['instances'] =>
  components
    .filter((c) => c.kind === 'instance')
    .map((c) => ({ name: c.name, pid: c.pid ?? 0, servers: c.servers ?? {} }));
