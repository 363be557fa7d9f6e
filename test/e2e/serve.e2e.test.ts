import { beforeAll, describe, expect, it } from 'vitest';
import { command, deposit, eventsOf, newRoot, open } from '../helpers/account.js';
import { acceptWith, commandBook, coverOf, payload, storedEvents } from '../helpers/books.js';
import { startSampleBusinessLogic, startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, configYaml, evented, isRunning, writeConfig } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { commandClient, queryClient } from '../helpers/clients.js';
import { freePort, occupiedPort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `evented serve` as a user runs it: the built CLI in its own process, reading evented.yaml, talking to the
 * sample business logic in another process. It drains in-flight commands on SIGTERM and exits 0; a broken
 * configuration or a busy port is one clear line and a non-zero exit, never a stack trace.
 */

const READY = /evented serving (\S+): commands on (\S+), queries on (\S+), store sqlite at (\S+)/;
const STACK_FRAME = /^\s+at /m;

beforeAll(() => assertBuilt());

/** Runs `evented serve` on a project whose evented.yaml is `yaml`, to its end. */
const serveExpectingFailure = async (yaml: string) => {
  const projectDir = tempDir();
  const file = writeConfig(projectDir, yaml);
  const serve = evented(['serve', projectDir]);
  const { exitCode } = await serve.exited();
  return { file, exitCode, lines: serve.output().trimEnd().split('\n') };
};

describe('evented serve', () => {
  it('serves commands and queries, and on SIGTERM finishes the command in flight, then exits 0', async () => {
    const sample = await startSampleBusinessLogic();
    const slow = await startScriptedBusinessLogic(async (context) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return acceptWith(1)(context);
    });
    const projectDir = tempDir();
    const ports = { commands: await freePort(), queries: await freePort() };
    writeConfig(
      projectDir,
      configYaml({
        ports: { ...ports, admin: 0 },
        domains: { account: { businessLogic: sample.address }, slow: { businessLogic: slow.address } },
      }),
    );

    // Given a running `evented serve`…
    const serve = evented(['serve', projectDir]);
    const [, name, commandsAt, queriesAt, storeAt] = await serve.waitFor(READY);
    expect([name, commandsAt, queriesAt]).toEqual([
      'bank',
      `127.0.0.1:${ports.commands}`,
      `127.0.0.1:${ports.queries}`,
    ]);
    expect(storeAt).toBe(`${projectDir}/.evented/events.db`);
    const commands = commandClient(commandsAt!);
    const queries = queryClient(queriesAt!);

    // …that takes commands and answers queries,
    const account = newRoot();
    await commands.handle(command(account, open('ada')));
    await commands.handle(command(account, deposit(250)));
    const stored = eventsOf(await queries.getEvents({ domain: 'account', root: { value: account } }));
    expect(stored.map((e) => e.type)).toEqual(['AccountOpened', 'MoneyDeposited']);

    // when SIGTERM arrives while a slow command is in flight,
    const root = newRoot();
    const inFlight = commands.handle(commandBook(coverOf('slow', root), payload()));
    await eventually(() => expect(slow.calls).toHaveLength(1));
    const stopped = serve.stop('SIGTERM');

    // then the command completes, and the process exits 0 and is gone.
    const response = await inFlight;
    expect(response.books[0]!.pages.map((page) => page.num)).toEqual([0]);
    expect(await stopped).toEqual({ exitCode: 0, signal: undefined });
    expect(isRunning(serve.pid)).toBe(false);

    // The drained command was committed: a new `evented serve` on the project has it.
    const again = evented(['serve', projectDir]);
    const [, , , queriesAgain] = await again.waitFor(READY);
    expect(await storedEvents(queryClient(queriesAgain!), 'slow', root)).toEqual([[0, 'test/Decided']]);
    expect(await again.stop('SIGINT')).toEqual({ exitCode: 0, signal: undefined });
    expect(isRunning(again.pid)).toBe(false);
  });

  it.each([
    {
      problem: 'a port that is not a number',
      line: 3,
      yaml: 'name: bank\ncommandHandler:\n  port: "abc"\n',
      key: /commandHandler\.port: Invalid input: expected number, received string$/,
    },
    {
      problem: 'an unknown key',
      line: 4,
      yaml: 'name: bank\nqueryHandler:\n  port: 1314\n  bookbytes: 100\n',
      key: /queryHandler: unknown key "bookbytes"$/,
    },
  ])(
    'refuses $problem: one line naming the file, line and key; no stack trace; non-zero exit',
    async ({ yaml, line, key }) => {
      const { file, exitCode, lines } = await serveExpectingFailure(yaml);

      expect(exitCode).not.toBe(0);
      expect(lines[0]).toMatch(new RegExp(`^error: ${file}:${line}: `));
      expect(lines[0]).toMatch(key);
      expect(lines.slice(1).every((l) => /^\s+hint: /.test(l))).toBe(true);
      expect(lines.join('\n')).not.toMatch(STACK_FRAME);
    },
  );

  it('refuses a port that is already in use with one clear line', async () => {
    const busy = await occupiedPort();
    const yaml = configYaml({ ports: { commands: busy, queries: await freePort(), admin: 0 }, domains: {} });

    const { exitCode, lines } = await serveExpectingFailure(yaml);

    expect(exitCode).not.toBe(0);
    expect(lines[0]).toBe(
      `error: the command handler cannot listen on 127.0.0.1:${busy}: the port is already in use`,
    );
    expect(lines.join('\n')).not.toMatch(STACK_FRAME);
  });
});
