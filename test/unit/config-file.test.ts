import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, MAX_DOMAINS } from '../../runtime/config/schema.js';
import { MAX_CONFIG_BYTES, parseConfigText, readConfigFile } from '../../runtime/config/sources/file.js';
import { ConfigError } from '../../runtime/errors/index.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * evented.yaml read from its file, as `serve` and `up` read it: the same answers as the text parser, within
 * limits, and a hostile file gets the one-line configuration error. (How start-up grows with the number of
 * domains is measured by `npm run bench -- startup`, not asserted here.)
 */

const file = (text: string): string => {
  const path = join(tempDir(), 'evented.yaml');
  writeFileSync(path, text);
  return path;
};

/** Nine lines whose aliases expand into 9^9 (387 million) strings. */
const ALIAS_BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  .concat(
    'bcdefghi'.split('').map((name, i) => {
      const prev = 'abcdefghi'[i]!;
      return `${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`;
    }),
  )
  .join('\n');

const domains = (n: number, line = (i: number) => `  d${i}: { businessLogic: 127.0.0.1:1737 }`): string =>
  ['domains:', ...Array.from({ length: n }, (_, i) => line(i))].join('\n');

describe('readConfigFile', () => {
  it('reads what parseConfigText reads, and names lines the same way', async () => {
    const text = 'name: bank\ndomains:\n  account:\n    businessLogic: localhost:1737\nprojectors: {}\n';
    expect(await readConfigFile(file(text))).toEqual(parseConfigText(text, 'x'));
    const wrong = 'name: bank\ndomains:\n  account:\n    businessLogik: localhost:1737\n';
    await expect(readConfigFile(file(wrong))).rejects.toThrow(
      /evented\.yaml:4: domains\.account: unknown key "businessLogik"/,
    );
  });

  it('refuses a key given twice, naming its line, in a file and in text', async () => {
    const text = `name: bank\n${domains(3)}\n  d1: { businessLogic: 127.0.0.1:1 }\n`;
    await expect(readConfigFile(file(text))).rejects.toThrow(
      /evented\.yaml:6: not valid YAML: Map keys must be unique/,
    );
    expect(() => parseConfigText(text, 'evented.yaml')).toThrow(
      /^evented\.yaml:6: not valid YAML: Map keys must be unique/,
    );
  });

  it('refuses a second document', async () => {
    await expect(readConfigFile(file('name: a\n---\nname: b\n'))).rejects.toThrow(
      /evented\.yaml:\d+: not valid YAML: Source contains multiple documents/,
    );
  });

  it('answers an alias bomb with a configuration error, not an unexpected one', async () => {
    const refusal =
      /evented\.yaml: not valid YAML: Excessive alias count indicates a resource exhaustion attack/;
    await expect(readConfigFile(file(ALIAS_BOMB))).rejects.toThrow(refusal);
    await expect(readConfigFile(file(ALIAS_BOMB))).rejects.toBeInstanceOf(ConfigError);
    expect(() => parseConfigText(ALIAS_BOMB, 'evented.yaml')).toThrow(ConfigError);
  });

  it('refuses a file over 8 MiB before reading it', async () => {
    const path = file(`name: big\n# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    await expect(readConfigFile(path)).rejects.toThrow(
      `${path} is ${MAX_CONFIG_BYTES + 13} bytes, over the limit of ${MAX_CONFIG_BYTES} bytes for a configuration file`,
    );
  });

  it('refuses more than 100,000 domains', () => {
    const many = Object.fromEntries(
      Array.from({ length: MAX_DOMAINS + 1 }, (_, i) => [`d${i}`, { businessLogic: '127.0.0.1:1737' }]),
    );
    const parsed = configSchema.safeParse({ domains: many });
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['domains'],
      message: expect.stringContaining('more than 100000 domains'),
    });
  });

  it('stops when its signal aborts, and gives the event loop turns while it reads', async () => {
    const path = file(domains(60_000));
    const controller = new AbortController();
    const reading = readConfigFile(path, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(reading).rejects.toThrow('stop');
  });
});
