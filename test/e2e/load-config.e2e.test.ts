import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { parseConfigText, readConfigFromConsul } from '../../runtime/index.js';
import { command, deposit, eventsOf, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, configYaml, evented, runEvented, writeConfig } from '../helpers/cli.js';
import { commandClient, queryClient } from '../helpers/clients.js';
import { describeWithConsul } from '../helpers/consul.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `evented load-config` and `evented serve --consul` as a user runs them: the built CLI in its own process,
 * against a real Consul agent. load-config validates evented.yaml and writes it in one transaction, one key per
 * section; --dry-run shows the difference and writes nothing; a broken file or an unreachable agent is one
 * clear line, exit 1, and nothing written; a runtime starts from what Consul holds.
 */

const STACK_FRAME = /^\s+at /m;
const READY = /evented serving (\S+): commands on (\S+), queries on (\S+), store sqlite at (\S+)/;

beforeAll(() => assertBuilt());

const bankYaml = (ports: { commands: number; queries: number }, businessLogic = '127.0.0.1:1737'): string =>
  configYaml({ ports: { ...ports, admin: 0 }, domains: { account: { businessLogic } } });

let prefixes = 0;
/** A project folder with evented.yaml, and a KV prefix of its own (so the tests of this file do not meet). */
const project = (yaml: string) => {
  const dir = tempDir();
  return { dir, file: writeConfig(dir, yaml), prefix: `e2e${++prefixes}/` };
};

describeWithConsul('evented load-config', (consul) => {
  /** `evented load-config` of the project in `dir` (with `options`) to the agent, under `prefix`. */
  const loadConfig = (dir: string, prefix: string, ...options: string[]) =>
    runEvented(['load-config', dir, ...options, '--consul', consul().url, '--prefix', prefix]);

  it('writes evented.yaml to Consul, one key per section, prints what it wrote; a second run writes nothing', async () => {
    const yaml = bankYaml({ commands: 2313, queries: 2314 });
    const { dir, prefix } = project(yaml);

    const { exitCode, stdout, stderr } = await loadConfig(dir, prefix);

    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `Wrote the configuration of bank to Consul at ${consul().url}, under ${prefix}bank/, in one transaction:`,
    );
    expect(lines).toEqual(
      expect.arrayContaining([`  + ${prefix}bank/commandHandler`, `  + ${prefix}bank/domains`]),
    );
    expect(lines.at(-1)).toBe(
      `A runtime reads it with: evented serve --consul ${consul().url} --prefix ${prefix} --name bank`,
    );
    const tree = await consul().tree(prefix);
    expect(tree[`${prefix}bank/domains`]).toBe('account:\n  businessLogic: 127.0.0.1:1737\n');
    expect(Object.keys(tree).filter((key) => !lines.includes(`  + ${key}`))).toEqual([]);
    expect(await readConfigFromConsul(consul().url, prefix, 'bank')).toEqual(
      parseConfigText(yaml, 'evented.yaml'),
    );

    const indexes = await consul().indexes(prefix);
    const again = await loadConfig(dir, prefix);

    expect(again.exitCode).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe(
      `Consul at ${consul().url} already holds this configuration under ${prefix}bank/; nothing to write.`,
    );
    expect(await consul().indexes(prefix)).toEqual(indexes);
  });

  it('with --dry-run, prints the keys and lines that differ from what Consul holds, and writes nothing', async () => {
    const { dir, prefix } = project(bankYaml({ commands: 2313, queries: 2314 }));
    expect((await loadConfig(dir, prefix)).exitCode).toBe(0);
    await consul().put(`${prefix}bank/obsolete`, 'old: 1\n');
    writeConfig(dir, bankYaml({ commands: 2999, queries: 2314 }, '127.0.0.1:1800'));
    const tree = await consul().tree(prefix);
    const indexes = await consul().indexes(prefix);

    const { exitCode, stdout, stderr } = await loadConfig(dir, prefix, '--dry-run');

    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(stdout.trimEnd().split('\n')).toEqual([
      `Dry run: evented.yaml against Consul at ${consul().url}, under ${prefix}bank/ (nothing written):`,
      `~ ${prefix}bank/commandHandler`,
      '      host: 127.0.0.1',
      '    - port: 2313',
      '    + port: 2999',
      '      businessLogicTimeoutMs: 5000',
      '      conflictRetries: 5',
      '      maxPayloadBytes: 1048576',
      '      maxBookBytes: 16777216',
      '      maxPagesPerBook: 10000',
      '      cachedAggregates: 10000',
      '      cachedBytes: 67108864',
      `~ ${prefix}bank/domains`,
      '      account:',
      '    -   businessLogic: 127.0.0.1:1737',
      '    +   businessLogic: 127.0.0.1:1800',
      `- ${prefix}bank/obsolete`,
      '    - old: 1',
      expect.stringMatching(/^\(0 added, 2 changed, 1 removed, \d+ unchanged\)$/),
    ]);
    expect(await consul().tree(prefix)).toEqual(tree);
    expect(await consul().indexes(prefix)).toEqual(indexes);
  });

  it.each([
    {
      problem: 'a port that is not a number',
      yaml: 'name: bank\ncommandHandler:\n  port: "abc"\n',
      line: /^error: \S+evented\.yaml:3: commandHandler\.port: Invalid input: expected number, received string$/,
    },
    {
      problem: 'an unknown key',
      yaml: 'name: bank\nqueryHandler:\n  port: 1314\n  bookbytes: 100\n',
      line: /^error: \S+evented\.yaml:4: queryHandler: unknown key "bookbytes"$/,
    },
  ])(
    'refuses a broken evented.yaml ($problem): exit 1, one line with the line and key, nothing written',
    async ({ yaml, line }) => {
      const { dir, file, prefix } = project(yaml);

      const { exitCode, stdout, stderr } = await loadConfig(dir, prefix);

      expect(exitCode).toBe(1);
      expect(stdout).toBe('');
      const lines = stderr.trimEnd().split('\n');
      expect(lines[0]).toMatch(line);
      expect(lines[0]).toContain(file);
      expect(lines.slice(1).every((l) => /^\s+hint: /.test(l))).toBe(true);
      expect(stderr).not.toMatch(STACK_FRAME);
      expect(await consul().tree(prefix)).toEqual({});
    },
  );

  it.each([
    { command: 'load-config', args: (dir: string, url: string) => ['load-config', dir, '--consul', url] },
    { command: 'serve --consul', args: (dir: string, url: string) => ['serve', dir, '--consul', url] },
  ])(
    '$command with Consul unreachable: one line naming the URL and how to fix it, exit 1, no stack trace',
    async ({ args }) => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const { dir } = project(bankYaml({ commands: 2313, queries: 2314 }));

      const { exitCode, stdout, stderr } = await runEvented(args(dir, url));

      expect(exitCode).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toEqual([
        `error: cannot reach Consul at ${url}: connection refused`,
        '  hint: start an agent (consul agent -dev), or point at a running one with --consul URL',
      ]);
    },
  );

  it('evented serve --consul runs the configuration Consul holds, with a section an operator changed', async () => {
    const sample = await startSampleBusinessLogic();
    const ports = { commands: await freePort(), queries: await freePort() };
    const { dir, prefix } = project(bankYaml({ commands: ports.commands, queries: 1 }, sample.address));
    expect((await loadConfig(dir, prefix)).exitCode).toBe(0);
    // The operator moves the query handler by changing that one key.
    await consul().put(`${prefix}bank/queryHandler`, `port: ${ports.queries}\n`);
    const elsewhere = tempDir(); // no evented.yaml: the configuration comes from Consul only

    const serve = evented(['serve', elsewhere, '--consul', consul().url, '--prefix', prefix]);
    const [, name, commandsAt, queriesAt, storeAt] = await serve.waitFor(READY);

    expect([name, commandsAt, queriesAt, storeAt]).toEqual([
      'bank',
      `127.0.0.1:${ports.commands}`,
      `127.0.0.1:${ports.queries}`,
      join(elsewhere, '.evented/events.db'),
    ]);
    const account = newRoot();
    await commandClient(commandsAt!).handle(command(account, open('ada'), deposit(100)));
    const stored = eventsOf(
      await queryClient(queriesAt!).getEvents({ domain: 'account', root: { value: account } }),
    );
    expect(stored.map((e) => e.type)).toEqual(['AccountOpened', 'MoneyDeposited']);
    expect(await serve.stop('SIGTERM')).toEqual({ exitCode: 0, signal: undefined });
  });

  it('shows the options and an example in --help', async () => {
    const { exitCode, stdout } = await runEvented(['load-config', '--help']);

    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^Usage: evented load-config \[options\] \[dir\]/);
    expect(stdout).toMatch(
      /--consul <url>\s+the Consul agent \(default: \$CONSUL_HTTP_ADDR, else\s+http:\/\/127\.0\.0\.1:8500\)/,
    );
    expect(stdout).toMatch(/--dry-run/);
    expect(stdout).toContain('evented load-config ./bank --dry-run');
  });
});
