import { Option, type Command } from 'commander';
import type { Environment } from '../../runtime/index.js';
import { BUS_FLAG, STORE_FLAG, isBusFlag, isStoreFlag } from '../../runtime/up/flags.js';
import { shownUrl } from '../../runtime/config/from-env.js';
import type { CliContext } from '../context.js';
import { version } from '../version.js';
import { CliError, InterruptedError, UsageError } from '../errors.js';
import { startTimeOf } from '../../runtime/support/signals.js';
import { cleanUpAfter, describeEnded, runningEnvironment } from '../local/running.js';
import { recordEnvironment, runtimeFilePath } from '../local/runtime-file.js';
import { createUpReporter, type UpOutputMode } from '../output/up-reporter.js';
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
}

const examples = `
Examples:
  evented up                          # embedded defaults: SQLite store, in-process bus, evented.yaml
  evented up ./bank --bus rabbitmq    # a reachable broker, else a container, else a local rabbitmq-server
  evented up --bus amqp://guest:guest@10.0.0.5:5672 --config consul
  evented up --store mongo            # this project's own MongoDB (downloaded once, into ~/.cache/evented)
  evented up --store postgres://evented@127.0.0.1:5432/evented
  evented up --detach && evented status && evented down

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
      await up(projectDir, { ...options, readyTimeoutMs }, context);
    });
};

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

const outputMode = (options: UpOptions, context: CliContext): UpOutputMode =>
  options.json ? 'json' : (context.stdout as { isTTY?: boolean }).isTTY === true ? 'ink' : 'plain';

const up = async (
  projectDir: string,
  options: UpOptions & { readyTimeoutMs: number },
  context: CliContext,
): Promise<void> => {
  const { startEnvironment } = await import('../../runtime/index.js');
  const reporter = await createUpReporter({
    mode: outputMode(options, context),
    stdout: context.stdout,
    projectDir,
    project: projectDir,
  });
  // Written now and on every start: whatever happens to this process from here, `down` can end what it started.
  const pid = context.self?.pid ?? process.pid;
  const record = recordEnvironment(projectDir, { pid, startTime: startTimeOf(pid) ?? '' });
  let environment: Environment;
  try {
    environment = await startEnvironment({
      projectDir,
      store: options.store,
      bus: options.bus,
      config: options.config,
      env: context.env,
      readyTimeoutMs: options.readyTimeoutMs,
      signal: context.signal,
      version,
      report: (event) => {
        if (event.type === 'component') record.component(event.component);
        reporter.event(event);
      },
    });
  } catch (err) {
    record.remove();
    reporter.close();
    if (context.signal.aborted) throw new InterruptedError();
    throw err;
  }
  const { runtime, config } = environment;
  record.ready(
    {
      name: config.name,
      admin: environment.admin,
      commandHandler: runtime.commandHandler.address,
      queryHandler: runtime.queryHandler.address,
    },
    [
      { name: 'store', kind: runtime.store.kind, address: runtime.store.location },
      {
        name: 'bus',
        kind: config.bus.kind,
        address: config.bus.kind === 'amqp' ? shownUrl(config.bus.url) : undefined,
      },
    ],
  );
  reporter.ready({
    name: config.name,
    commandHandler: runtime.commandHandler.address,
    queryHandler: runtime.queryHandler.address,
    admin: environment.admin,
    runtimeFile: runtimeFilePath(projectDir),
  });

  await new Promise<void>((done) => {
    if (context.signal.aborted) done();
    else context.signal.addEventListener('abort', () => done(), { once: true });
  });
  reporter.note('stopping…');
  try {
    await environment.close();
  } finally {
    record.remove();
  }
  reporter.note('stopped; data under .evented/ is kept for the next evented up');
  reporter.close();
};
