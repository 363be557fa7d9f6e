import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  ConfigError,
  configSchema,
  readConfigFile,
  readConfigFromConsul,
  UnavailableError,
  writeConfigToConsul,
} from '../../runtime/index.js';
import { describeWithConsul } from '../helpers/consul.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The configuration in Consul KV against a real agent: what evented.yaml says is what the runtime reads back,
 * one key per section; an operator can change one section; content that is not valid names its key and line;
 * an unreachable agent names the URL tried.
 */

const YAML = `name: bank
commandHandler:
  port: 2313
  conflictRetries: 3
domains:
  account:
    businessLogic: 127.0.0.1:1737
`;

/** The sections of a configuration that sets none of the optional ones (tls, token, …): a key each in Consul. */
const SECTIONS = Object.keys(configSchema.parse({})).filter((key) => key !== 'name');

let projects = 0;
/** A project folder with evented.yaml, under its own prefix (so the tests of this file do not meet). */
const project = (yaml: string) => {
  const dir = tempDir();
  const file = join(dir, 'evented.yaml');
  writeFileSync(file, yaml);
  return { dir, file, prefix: `test${++projects}/` };
};

describeWithConsul('configuration in Consul KV', (consul) => {
  it('writes one YAML key per section under <prefix><name>/, and reads back exactly the resolved evented.yaml', async () => {
    const { file, prefix } = project(YAML);

    const written = await writeConfigToConsul(file, { url: consul().url, prefix });

    expect(written).toMatchObject({
      url: consul().url,
      name: 'bank',
      folder: `${prefix}bank/`,
      written: true,
    });
    expect(written.changes.map((c) => c.change)).toEqual(SECTIONS.map(() => 'added'));
    const tree = await consul().tree(prefix);
    expect(Object.keys(tree).sort()).toEqual(SECTIONS.map((s) => `${prefix}bank/${s}`).sort());
    expect(tree[`${prefix}bank/domains`]).toBe('account:\n  businessLogic: 127.0.0.1:1737\n');
    expect(tree[`${prefix}bank/commandHandler`]).toMatch(/^host: 127\.0\.0\.1\nport: 2313\n/);

    expect(await readConfigFromConsul(consul().url, prefix, 'bank')).toEqual(await readConfigFile(file));
    // Without a name: the only project under the prefix.
    expect(await readConfigFromConsul(consul().url, prefix)).toEqual(await readConfigFile(file));
  });

  it('applies an operator’s change to one section, keeps the others, and load-config puts the file back in one write', async () => {
    const { file, prefix } = project(YAML);
    await writeConfigToConsul(file, { url: consul().url, prefix });

    await consul().put(`${prefix}bank/queryHandler`, '{"port": 2314}');
    await consul().put(`${prefix}bank/obsolete`, 'x: 1\n');
    const before = await consul().indexes(prefix);

    await expect(readConfigFromConsul(consul().url, prefix, 'bank')).rejects.toThrow(
      `key ${prefix}bank/obsolete: not a section of the configuration`,
    );
    const dry = await writeConfigToConsul(file, { url: consul().url, prefix }, { dryRun: true });
    expect(dry.written).toBe(false);
    expect(await consul().indexes(prefix)).toEqual(before);
    expect(dry.changes.filter((c) => c.change !== 'unchanged')).toEqual([
      {
        key: `${prefix}bank/queryHandler`,
        change: 'changed',
        before: '{"port": 2314}',
        after: 'host: 127.0.0.1\nport: 1314\nbookBytes: 65536\n',
      },
      { key: `${prefix}bank/obsolete`, change: 'removed', before: 'x: 1\n' },
    ]);

    const again = await writeConfigToConsul(file, { url: consul().url, prefix });

    expect(again.written).toBe(true);
    const after = await consul().indexes(prefix);
    expect(after[`${prefix}bank/obsolete`]).toBeUndefined();
    const rewritten = Object.keys(after).filter((key) => after[key] !== before[key]);
    expect(rewritten).toEqual([`${prefix}bank/queryHandler`]);
    expect(await readConfigFromConsul(consul().url, prefix, 'bank')).toEqual(await readConfigFile(file));
  });

  it('reads a section an operator changed by hand (JSON is YAML too)', async () => {
    const { file, prefix } = project(YAML);
    await writeConfigToConsul(file, { url: consul().url, prefix });

    await consul().put(`${prefix}bank/commandHandler`, '{"port": 4000}');

    const config = await readConfigFromConsul(consul().url, prefix, 'bank');
    expect(config.commandHandler).toEqual({
      ...(await readConfigFile(file)).commandHandler,
      port: 4000,
      conflictRetries: 5,
    });
    expect(config.domains).toEqual({ account: { businessLogic: '127.0.0.1:1737' } });
  });

  it.each([
    {
      content: 'a wrong type',
      section: 'commandHandler',
      text: 'host: 127.0.0.1\nport: abc\n',
      message:
        /^Consul at \S+, key \S+\/bank\/commandHandler, line 2: commandHandler\.port: Invalid input: expected number, received string$/,
    },
    {
      content: 'an unknown key',
      section: 'queryHandler',
      text: 'port: 1314\nbookbytes: 100\n',
      message: /^Consul at \S+, key \S+\/bank\/queryHandler, line 2: queryHandler: unknown key "bookbytes"$/,
    },
    {
      content: 'text that is not YAML',
      section: 'domains',
      text: 'account:\n  businessLogic: [127.0.0.1:1737\n',
      message: /^Consul at \S+, key \S+\/bank\/domains, line \d: not valid YAML: /,
    },
    {
      content: 'a key that is not a section',
      section: 'commandHandlr',
      text: 'port: 1\n',
      message:
        /^Consul at \S+, key \S+\/bank\/commandHandlr: not a section of the configuration \(the sections are log, store, commandHandler, /,
    },
  ])(
    'refuses $content with a ConfigError naming the key, the line and what is wrong',
    async ({ section, text, message }) => {
      const { file, prefix } = project(YAML);
      await writeConfigToConsul(file, { url: consul().url, prefix });
      await consul().put(`${prefix}bank/${section}`, text);

      const error = await readConfigFromConsul(consul().url, prefix, 'bank').catch((err: unknown) => err);

      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(message);
      expect((error as ConfigError).message).toContain(consul().url);
      expect((error as ConfigError).hint).toMatch(/evented load-config/);
    },
  );

  it('says when the prefix holds no configuration, or several projects and no name was given', async () => {
    const { prefix } = project(YAML);
    await expect(readConfigFromConsul(consul().url, prefix)).rejects.toThrow(
      `Consul at ${consul().url} holds no configuration under ${prefix}`,
    );
    await expect(readConfigFromConsul(consul().url, prefix, 'bank')).rejects.toThrow(
      `Consul at ${consul().url} holds no configuration under ${prefix}bank/`,
    );

    await writeConfigToConsul(project(YAML).file, { url: consul().url, prefix });
    await writeConfigToConsul(project(YAML.replace('name: bank', 'name: shop')).file, {
      url: consul().url,
      prefix,
    });

    const error = await readConfigFromConsul(consul().url, prefix).catch((err: unknown) => err);
    expect((error as ConfigError).message).toBe(
      `Consul at ${consul().url} holds several projects under ${prefix}: bank, shop`,
    );
    expect((error as ConfigError).hint).toBe('say which one with --name');
  });

  it('never mixes two racing writes: Consul ends with all of one file, and a loser is told nothing was written', async () => {
    const { prefix } = project(YAML);
    const files = [2001, 2002, 2003, 2004].map(
      (port) =>
        project(YAML.replace('port: 2313', `port: ${port}`).replace('retries: 3', `retries: ${port % 10}`))
          .file,
    );

    const results = await Promise.allSettled(
      files.map((file) => writeConfigToConsul(file, { url: consul().url, prefix })),
    );

    for (const result of results) {
      if (result.status === 'rejected') {
        expect(result.reason).toBeInstanceOf(ConfigError);
        expect((result.reason as ConfigError).message).toMatch(
          /changed in Consul at \S+ while they were being written$/,
        );
        expect((result.reason as ConfigError).hint).toBe(
          'nothing was written; run evented load-config again',
        );
      }
    }
    const held = await readConfigFromConsul(consul().url, prefix, 'bank');
    const candidates = await Promise.all(files.map((file) => readConfigFile(file)));
    expect(candidates).toContainEqual(held);
  });

  it('refuses an unreachable agent with an UnavailableError naming the URL and how to fix it', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const { file } = project(YAML);

    for (const attempt of [readConfigFromConsul(url), writeConfigToConsul(file, { url })]) {
      const error = await attempt.catch((err: unknown) => err);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as UnavailableError).message).toBe(`cannot reach Consul at ${url}: connection refused`);
      expect((error as UnavailableError).hint).toMatch(/consul agent -dev.*--consul URL/);
    }
  });
});
