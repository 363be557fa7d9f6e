import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { command, deposit, eventsOf, newRoot, open } from '../helpers/account.js';
import {
  assertBuilt,
  errorLines,
  evented,
  expectStoppedByDown,
  isRunning,
  newProject,
  readRuntimeFile,
  runEvented,
  sampleBusinessLogicProcess,
  shownUrl,
  type UserProcess,
} from '../helpers/cli.js';
import { commandClient, queryClient } from '../helpers/clients.js';
import { freePort, occupiedPort } from '../helpers/ports.js';
import { binFolder, groupAlive } from '../helpers/processes.js';
import { itWith } from '../helpers/services.js';
import { acceptsConnections } from '../../runtime/support/net.js';

/**
 * `evented up` / `evented down` as a user runs them: the built CLI in its own process, on a project whose
 * evented.yaml starts the user's own processes. Asserts what is left afterwards: no process, no port, no
 * runtime.json — and the data still there.
 */

const READY = /(\S+) is ready: commands on ([^\s,]+), queries on ([^\s,]+), admin on ([^\s,]+?)[.,] /;
const STACK_FRAME = /^\s+at /m;

beforeAll(() => assertBuilt());

/** A tiny user process: listens on `port` and says so; SIGTERM ends it. */
const listener = (port: number): UserProcess => ({
  command: `node -e "require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening on ${port}'))"`,
  readyOn: `127.0.0.1:${port}`,
});

/** Runs `evented up` with `args` to its end; returns its exit code, all it printed, and its `error: ` lines. */
const upToItsEnd = async (args: string[], env?: Record<string, string>) => {
  const up = evented(['up', ...args], { env });
  const { exitCode } = await up.exited();
  return { exitCode, output: up.output(), errors: errorLines(up.output()) };
};

describe('evented up / evented down', () => {
  it('starts the user processes and the runtime, writes runtime.json, and `down` leaves nothing running', async () => {
    // Given a project whose evented.yaml starts the sample business logic (templates/typescript) and a listener
    const logicPort = await freePort();
    const otherPort = await freePort();
    const { dir: projectDir, ports } = await newProject({
      domains: { account: { businessLogic: `127.0.0.1:${logicPort}` } },
      processes: { 'business-logic': sampleBusinessLogicProcess(logicPort), other: listener(otherPort) },
    });

    // When `evented up` runs (not on a terminal: plain lines),
    const up = evented(['up', projectDir]);
    const [, name, commandsAt, queriesAt, adminAt] = await up.waitFor(READY, 60_000);
    expect([name, commandsAt, queriesAt, adminAt]).toEqual([
      'bank',
      `127.0.0.1:${ports.commands}`,
      `127.0.0.1:${ports.queries}`,
      `127.0.0.1:${ports.admin}`,
    ]);
    expect(up.output()).toMatch(/^bus: in-process memory bus \(the embedded default; or --bus rabbitmq/m);
    expect(up.output()).toMatch(/^store: SQLite at \.evented\/events\.db \(the embedded default/m);
    expect(up.output()).toMatch(
      /^ready {4}business-logic {2}127\.0\.0\.1:\d+ {2}\(pid \d+, log \.evented\/logs\/business-logic\.log\)$/m,
    );

    // then runtime.json has the live addresses and pids,
    const file = readRuntimeFile(projectDir);
    expect(file).toMatchObject({
      version: 1,
      name: 'bank',
      pid: up.pid,
      commandHandler: commandsAt,
      queryHandler: queriesAt,
      admin: adminAt,
    });
    const processes = file.components.filter((c) => c.kind === 'process');
    expect(processes.map((c) => [c.name, c.address])).toEqual([
      ['business-logic', `127.0.0.1:${logicPort}`],
      ['other', `127.0.0.1:${otherPort}`],
    ]);
    for (const c of processes) {
      expect(isRunning(c.pid!)).toBe(true);
      expect(c.log).toBe(join(projectDir, '.evented', 'logs', `${c.name}.log`));
    }
    expect(readFileSync(processes[1]!.log!, 'utf8')).toContain(`listening on ${otherPort}`);

    // and the web console: its URL in the ready line and in `evented status`, where it answers.
    const consoleUrl = `http://127.0.0.1:${ports.console}/`;
    expect(up.output()).toContain(`, console on ${consoleUrl}. Ctrl-C`);
    const status = await runEvented(['status', '--dir', projectDir]);
    expect(status.stdout).toContain(`\nconsole: ${consoleUrl}\n`);
    const session = await fetch(`${consoleUrl}api/session`);
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ project: 'bank', url: consoleUrl });

    // and the main job works: a command goes through the runtime to the business logic and is stored.
    const account = newRoot();
    await commandClient(commandsAt!).handle(command(account, open('ada'), deposit(100)));
    const stored = eventsOf(
      await queryClient(queriesAt!).getEvents({ domain: 'account', root: { value: account } }),
    );
    expect(stored.map((e) => e.type)).toEqual(['AccountOpened', 'MoneyDeposited']);

    // When `evented down` runs,
    const down = await runEvented(['down', projectDir]);

    // then it says so, exit 0, and nothing is left: the up process, the user processes, the ports, runtime.json.
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toBe(`stopped bank (evented up, pid ${up.pid}); data under .evented/ is kept\n`);
    expect(await up.exited()).toEqual({ exitCode: 0, signal: undefined });
    for (const c of processes) expect(groupAlive(c.pid!)).toBe(false);
    for (const address of [
      commandsAt!,
      queriesAt!,
      adminAt!,
      `127.0.0.1:${logicPort}`,
      `127.0.0.1:${otherPort}`,
    ]) {
      expect(await acceptsConnections(address, 500)).toBe(false);
    }
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
    expect(existsSync(join(projectDir, '.evented', 'events.db'))).toBe(true);
    expect(up.output()).toMatch(/^stopped; data under \.evented\/ is kept for the next evented up$/m);

    // A second `down` finds nothing running, and says so (exit 0).
    const again = await runEvented(['down', projectDir]);
    expect(again).toMatchObject({
      exitCode: 0,
      stdout: `nothing is running for ${projectDir} (no .evented/runtime.json)\n`,
    });
  });

  it('--detach returns once everything is ready, and `down` stops the background environment', async () => {
    const userPort = await freePort();
    const { dir: projectDir, ports } = await newProject({ processes: { worker: listener(userPort) } });

    const started = await runEvented(['up', projectDir, '--detach']);

    expect(started.stderr).toBe('');
    expect(started.exitCode).toBe(0);
    const file = readRuntimeFile(projectDir);
    expect(started.stdout).toBe(
      [
        `bank is running in the background (pid ${file.pid}):`,
        `  commands  127.0.0.1:${ports.commands}`,
        `  queries   127.0.0.1:${ports.queries}`,
        `  admin     127.0.0.1:${ports.admin}`,
        'log: ' + join(projectDir, '.evented', 'logs', 'up.log') + '; `evented down` stops it',
        '',
      ].join('\n'),
    );
    expect(isRunning(file.pid)).toBe(true);
    expect(await acceptsConnections(`127.0.0.1:${ports.commands}`)).toBe(true);
    expect(await acceptsConnections(`127.0.0.1:${userPort}`)).toBe(true);
    const worker = file.components.find((c) => c.name === 'worker')!;

    const down = await runEvented(['down', projectDir]);

    expect(down.exitCode).toBe(0);
    expect(isRunning(file.pid)).toBe(false);
    expect(groupAlive(worker.pid!)).toBe(false);
    expect(await acceptsConnections(`127.0.0.1:${ports.commands}`, 500)).toBe(false);
    expect(await acceptsConnections(`127.0.0.1:${userPort}`, 500)).toBe(false);
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
  });

  it('`down` stops the user processes together: three that each take 3 s to stop take about 3 s, not 9', async () => {
    // A process that, told to stop, takes `STOP_MS` to finish (as a service draining its calls does).
    const STOP_MS = 3000;
    const slow = async (): Promise<UserProcess> => {
      const port = await freePort();
      return {
        command: `node -e "require('net').createServer().listen(${port}, '127.0.0.1'); process.on('SIGTERM', () => setTimeout(() => process.exit(0), ${STOP_MS}))"`,
        readyOn: `127.0.0.1:${port}`,
      };
    };
    const { dir: projectDir } = await newProject({
      processes: { first: await slow(), second: await slow(), third: await slow() },
    });
    const up = evented(['up', projectDir]);
    await up.waitFor(READY, 60_000);
    const groups = readRuntimeFile(projectDir)
      .components.filter((c) => c.kind === 'process')
      .map((c) => c.pid!);

    const started = Date.now();
    const down = await runEvented(['down', projectDir]);
    const took = Date.now() - started;

    expect(down.exitCode).toBe(0);
    expect(groups.filter(groupAlive)).toEqual([]);
    // One after another would be at least 3 × 3 s; together, one stop time and the runtime's own stop.
    expect(took).toBeGreaterThanOrEqual(STOP_MS);
    expect(took).toBeLessThan(2 * STOP_MS + 1000);
  });

  it("--detach that cannot start: the background up's error, as one line with its hint, exit 1", async () => {
    const busy = await occupiedPort();
    const { dir: projectDir } = await newProject({ ports: { commands: busy } });

    const result = await runEvented(['up', projectDir, '--detach']);

    expect(result.exitCode).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `error: port ${busy} is already in use (commandHandler.port: 127.0.0.1:${busy})`,
      `  hint: stop what listens there (evented down, if it is an earlier evented up), or set commandHandler.port to another port in evented.yaml`,
    ]);
  });

  it('refuses a port already taken with one line naming the port and the key, and starts nothing', async () => {
    const busy = await occupiedPort();
    const userPort = await freePort();
    const { dir: projectDir } = await newProject({
      ports: { commands: busy },
      processes: { worker: listener(userPort) },
    });

    const result = await runEvented(['up', projectDir]);

    expect(result.exitCode).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`error: port ${busy} is already in use (commandHandler.port: 127.0.0.1:${busy})`);
    expect(lines.slice(1)).toEqual([
      `  hint: stop what listens there (evented down, if it is an earlier evented up), or set commandHandler.port to another port in evented.yaml`,
    ]);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(await acceptsConnections(`127.0.0.1:${userPort}`, 500)).toBe(false);
    expect(existsSync(join(projectDir, '.evented', 'logs', 'worker.log'))).toBe(false);
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
  });

  it('a user process that exits at once: one line with its log, non-zero, and what had started is stopped', async () => {
    const firstPort = await freePort();
    const brokenPort = await freePort();
    const { dir: projectDir, ports } = await newProject({
      processes: {
        first: listener(firstPort),
        broken: {
          command: `node -e "console.error('cannot open the database'); process.exit(3)"`,
          readyOn: `127.0.0.1:${brokenPort}`,
        },
      },
    });

    const up = await upToItsEnd([projectDir]);
    const log = join(projectDir, '.evented', 'logs', 'broken.log');

    expect(up.exitCode).toBe(1);
    expect(up.errors).toEqual([
      `error: process "broken" exited with code 3 before accepting connections on 127.0.0.1:${brokenPort}; its log: ${log}`,
    ]);
    expect(up.output).toMatch(
      /^\s+hint: run it by hand to see why \(node -e .*\), or fix processes\.broken in evented\.yaml$/m,
    );
    expect(up.output).not.toMatch(STACK_FRAME);
    expect(readFileSync(log, 'utf8')).toContain('cannot open the database');
    // the process that had started is stopped again; the runtime never started
    expect(up.output).toMatch(/^stopped {2}first/m);
    expect(await acceptsConnections(`127.0.0.1:${firstPort}`, 500)).toBe(false);
    expect(await acceptsConnections(`127.0.0.1:${ports.commands}`, 500)).toBe(false);
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
  });
});

describe('evented up --bus rabbitmq', () => {
  itWith('rabbitmq', 'uses a broker that answers at $EVENTED_AMQP_URL', async (url) => {
    const { dir: projectDir } = await newProject();

    const up = evented(['up', projectDir, '--bus', 'rabbitmq'], { env: { EVENTED_AMQP_URL: url } });
    await up.waitFor(READY, 60_000);

    const shown = shownUrl(url);
    expect(up.output()).toContain(
      `bus: RabbitMQ at ${shown} (a broker answers at $EVENTED_AMQP_URL (${shown});`,
    );
    expect(readRuntimeFile(projectDir).components).toContainEqual({
      name: 'bus',
      kind: 'amqp',
      address: shown,
    });
    await expectStoppedByDown(projectDir, up);
  });

  it('with no broker, no working container engine and no rabbitmq-server: one line naming what it tried', async () => {
    const { dir: projectDir } = await newProject();
    const closed = await freePort();

    const up = await upToItsEnd([projectDir, '--bus', 'rabbitmq'], {
      PATH: binFolder(projectDir, { node: process.execPath }), // node alone: no docker, no podman
      EVENTED_AMQP_URL: `amqp://guest:guest@127.0.0.1:${closed}`,
      EVENTED_RABBITMQ_SERVER: join(projectDir, 'no-such', 'rabbitmq-server'),
    });

    expect(up.exitCode).toBe(1);
    expect(up.errors).toEqual([
      `error: no RabbitMQ for --bus rabbitmq; tried: a broker at $EVENTED_AMQP_URL (amqp://guest:***@127.0.0.1:${closed}): no answer; docker: not on PATH; podman: not on PATH; rabbitmq-server: not found at ${join(projectDir, 'no-such', 'rabbitmq-server')} ($EVENTED_RABBITMQ_SERVER)`,
    ]);
    expect(up.output).toMatch(/^\s+hint: start a broker and set EVENTED_AMQP_URL/m);
    expect(up.output).not.toMatch(STACK_FRAME);
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
  });

  it("with a broker URL where nothing answers: one line, before starting any of the user's processes", async () => {
    const userPort = await freePort();
    const { dir: projectDir } = await newProject({ processes: { worker: listener(userPort) } });
    const closed = await freePort();

    const up = await upToItsEnd([projectDir, '--bus', `amqp://guest:guest@127.0.0.1:${closed}`]);

    expect(up.exitCode).toBe(1);
    expect(up.errors).toEqual([
      `error: cannot reach the RabbitMQ broker at amqp://guest@127.0.0.1:${closed} (waited 5000 ms): connect ECONNREFUSED 127.0.0.1:${closed}`,
    ]);
    expect(up.output).not.toMatch(STACK_FRAME);
    expect(existsSync(join(projectDir, '.evented', 'logs', 'worker.log'))).toBe(false);
    expect(existsSync(join(projectDir, '.evented', 'runtime.json'))).toBe(false);
  });

  itWith(
    'rabbitmq-server',
    'with no broker and no container engine: a private rabbitmq-server node, data under .evented/, stopped by down',
    async () => {
      const { dir: projectDir } = await newProject();
      chmodSync(projectDir, 0o755); // the broker runs as the user "rabbitmq", which must reach .evented/rabbitmq
      const closed = await freePort();

      const up = evented(['up', projectDir, '--bus', 'rabbitmq'], {
        // the system's folders only: rabbitmq-server's wrapper needs them; no docker or podman there
        env: {
          PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
          EVENTED_AMQP_URL: `amqp://guest:guest@127.0.0.1:${closed}`,
        },
      });
      await up.waitFor(READY, 90_000);

      expect(up.output()).toMatch(
        /^bus: RabbitMQ: a private rabbitmq-server node on 127\.0\.0\.1:\d+ \(no broker answered at \$EVENTED_AMQP_URL .*, no container engine works; data in \.evented\/rabbitmq;/m,
      );
      const node = readRuntimeFile(projectDir).components.find((c) => c.name === 'rabbitmq')!;
      expect(node.kind).toBe('rabbitmq-server');
      expect(await acceptsConnections(node.address!)).toBe(true);
      expect(existsSync(join(projectDir, '.evented', 'rabbitmq', 'mnesia'))).toBe(true);

      await expectStoppedByDown(projectDir, up);
      expect(await acceptsConnections(node.address!, 500)).toBe(false);
      const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      expect(processes).not.toContain(join(projectDir, '.evented', 'rabbitmq'));
      expect(existsSync(join(projectDir, '.evented', 'rabbitmq', 'mnesia'))).toBe(true);
    },
  );
});

describe('evented up --config consul', () => {
  itWith(
    'consul',
    'with no agent reachable and no container engine: a local `consul agent -dev`, holding evented.yaml, stopped by down',
    async (consul) => {
      const { dir: projectDir, ports } = await newProject();
      const closed = await freePort();

      const up = evented(['up', projectDir, '--config', 'consul'], {
        env: {
          PATH: binFolder(projectDir, { consul, node: process.execPath }),
          CONSUL_HTTP_ADDR: `127.0.0.1:${closed}`,
        },
      });
      const [, , commandsAt] = await up.waitFor(READY, 60_000);

      expect(up.output()).toMatch(
        /^config: Consul KV: a local dev agent at http:\/\/127\.0\.0\.1:\d+ \(no agent answered at \$CONSUL_HTTP_ADDR .*, no container engine works;/m,
      );
      // the configuration came through Consul: evented.yaml's ports
      expect(commandsAt).toBe(`127.0.0.1:${ports.commands}`);
      const agent = readRuntimeFile(projectDir).components.find((c) => c.name === 'consul')!;
      expect(agent).toMatchObject({ kind: 'consul agent -dev' });
      expect(isRunning(agent.pid!)).toBe(true);

      await expectStoppedByDown(projectDir, up);
      expect(isRunning(agent.pid!)).toBe(false);
      expect(await acceptsConnections(agent.address!, 500)).toBe(false);
    },
  );

  it('with no agent, no container engine and no consul binary: one line naming what it tried', async () => {
    const { dir: projectDir } = await newProject();
    const closed = await freePort();

    const up = await upToItsEnd([projectDir, '--config', 'consul'], {
      PATH: binFolder(projectDir, { node: process.execPath }),
      CONSUL_HTTP_ADDR: `127.0.0.1:${closed}`,
    });

    expect(up.exitCode).toBe(1);
    expect(up.errors).toEqual([
      `error: no Consul for --config consul; tried: an agent at $CONSUL_HTTP_ADDR (http://127.0.0.1:${closed}): no answer; docker: not on PATH; podman: not on PATH; consul: not on PATH`,
    ]);
    expect(up.output).not.toMatch(STACK_FRAME);
  });
});
