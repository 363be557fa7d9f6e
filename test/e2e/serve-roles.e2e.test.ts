import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  errorLines,
  evented,
  expectStoppedByDown,
  newProject,
  readRuntimeFile,
  SERVING,
  type ProjectConfig,
} from '../helpers/cli.js';
import { healthCheck } from '../helpers/health.js';

/**
 * `evented serve --role …` refuses, before anything starts, a process that could not do its part: a role split
 * over what reaches one machine only (the in-process bus, SQLite), a command process without the roles of the
 * synchronous subscribers its commands run through, sagas with nowhere to send their commands, a role that does
 * not exist. Each is one line and an exit code, never a stack. (The splits that work are in
 * test/integration/roles.int.test.ts, on PostgreSQL and RabbitMQ.)
 */

const STACK_FRAME = /^\s+at /m;

/** Stores and buses that are never reached: a refusal comes before anything is opened. */
const POSTGRES = { kind: 'postgres', url: 'postgres://nobody@127.0.0.1:1/evented' } as const;
const AMQP = { kind: 'amqp', url: 'amqp://guest:guest@127.0.0.1:1' } as const;

const SERVICES: ProjectConfig = {
  domains: { account: { businessLogic: '127.0.0.1:1' } },
  projectors: { accounts: { address: '127.0.0.1:1', domains: ['account'] } },
  sagas: { transfers: { address: '127.0.0.1:1', domains: ['account'] } },
};

/** `evented serve` on a new project of `config`, with `args`, to its end: exit code, `error:` lines, all output. */
const serve = async (config: ProjectConfig, args: string[]) => {
  const { dir } = await newProject(config);
  const process = evented(['serve', dir, ...args]);
  const { exitCode } = await process.exited();
  return { exitCode, errors: errorLines(process.output()), output: process.output() };
};

/** Refused: the exit code and exactly one line, matching `line`; nothing served, no stack. */
const expectRefused = (result: Awaited<ReturnType<typeof serve>>, exitCode: number, line: RegExp): void => {
  expect(result.errors, result.output).toEqual([expect.stringMatching(line)]);
  expect(result.output.trimEnd().split('\n'), 'nothing but the error line').toHaveLength(1);
  expect(result.exitCode).toBe(exitCode);
  expect(result.output).not.toMatch(STACK_FRAME);
  expect(result.output).not.toContain('evented serving');
};

beforeAll(() => assertBuilt());

describe('evented serve --role: what is refused', () => {
  it('a split over the in-process bus: RabbitMQ is needed', async () => {
    expectRefused(
      await serve({ store: POSTGRES, bus: { kind: 'memory' } }, ['--role', 'command,query']),
      1,
      /^error: roles command,query: .* but the in-process bus \(bus\.kind: memory\) reaches only its own process: use RabbitMQ \(bus\.kind: amqp\), or run every role in one process$/,
    );
  });

  it('a split over SQLite: PostgreSQL is needed (even with RabbitMQ)', async () => {
    expectRefused(
      await serve({ bus: AMQP }, ['--role', 'relay']),
      1,
      /^error: roles relay: .* but SQLite \(store\.kind: sqlite\) is a file on one machine: use PostgreSQL \(store\.kind: postgres\), or run every role in one process$/,
    );
  });

  it('a split over both names both', async () => {
    expectRefused(
      await serve({}, ['--role', 'admin']),
      1,
      /^error: roles admin: .*SQLite .* and the in-process bus .*: use PostgreSQL \(store\.kind: postgres\) and RabbitMQ \(bus\.kind: amqp\), or run every role in one process$/,
    );
  });

  it('a command process without the role of a synchronous projector or saga', async () => {
    const synchronous = (kind: 'projectors' | 'sagas'): ProjectConfig => ({
      ...SERVICES,
      store: POSTGRES,
      bus: AMQP,
      projectors: {
        accounts: { address: '127.0.0.1:1', domains: ['account'], synchronous: kind === 'projectors' },
      },
      sagas: { transfers: { address: '127.0.0.1:1', domains: ['account'], synchronous: kind === 'sagas' } },
    });
    expectRefused(
      await serve(synchronous('projectors'), ['--role', 'command,sagas']),
      1,
      /^error: roles command,sagas: the synchronous projector "accounts" runs inside command calls, so a process holding the role command must hold the role projectors too: add it \(--role command,projectors,sagas\), or set projectors\.accounts\.synchronous: false$/,
    );
    expectRefused(
      await serve(synchronous('sagas'), ['--role', 'command,query']),
      1,
      /^error: roles command,query: the synchronous saga "transfers" runs inside command calls, .* \(--role command,query,sagas\), or set sagas\.transfers\.synchronous: false$/,
    );
  });

  it('sagas without the role command and without commandHandler.address', async () => {
    expectRefused(
      await serve({ ...SERVICES, store: POSTGRES, bus: AMQP }, ['--role', 'sagas']),
      1,
      /^error: roles sagas: the sagas' commands need a command handler, and this process does not hold the role command: set commandHandler\.address to where the processes holding it are reachable \(host:port\)$/,
    );
  });

  it('a role that does not exist, in --role (a usage mistake) or in evented.yaml', async () => {
    expectRefused(
      await serve({}, ['--role', 'command,queries']),
      2,
      /^error: --role command,queries: unknown role "queries"; the roles are command, query, relay, projectors, sagas, admin$/,
    );
    expectRefused(
      await serve({}, ['--role', ',']),
      2,
      /^error: --role ,: name at least one role; the roles are command, query, relay, projectors, sagas, admin$/,
    );
    const inFile = await serve({ roles: ['command', 'relays' as 'relay'] }, []);
    expect(inFile.errors).toEqual([
      expect.stringMatching(
        /^error: .*evented\.yaml:\d+: roles\.1: expected one of command, query, relay, projectors, sagas, admin$/,
      ),
    ]);
    expect(inFile.exitCode).toBe(1);
  });
});

describe('evented serve: where the roles come from', () => {
  it('roles in evented.yaml apply, and --role wins over them', async () => {
    // roles: [query] in the file: a split, refused here on SQLite, which shows the file's roles were taken
    expectRefused(await serve({ roles: ['query'] }, []), 1, /^error: roles query: /);

    // and --role with every role serves on the same file (and answers health checks).
    const { dir, ports } = await newProject({ roles: ['query'] });
    const process = evented(['serve', dir, '--role', 'command,query,relay,projectors,sagas,admin']);
    const [, , commands] = await process.waitFor(SERVING);
    expect(commands).toBe(`127.0.0.1:${ports.commands}`);
    expect(await healthCheck(`127.0.0.1:${ports.admin}`, '')).toBe('SERVING');
    expect(await process.stop('SIGTERM')).toEqual({ exitCode: 0, signal: undefined });
  });

  it('evented up runs every role in its one process, whatever roles evented.yaml gives serve', async () => {
    const { dir, ports } = await newProject({ roles: ['relay'] });
    const up = evented(['up', dir]);
    await up.waitFor(/is ready: commands on/, 60_000);
    expect(readRuntimeFile(dir)).toMatchObject({
      commandHandler: `127.0.0.1:${ports.commands}`,
      queryHandler: `127.0.0.1:${ports.queries}`,
    });
    await expectStoppedByDown(dir, up);
  });
});
