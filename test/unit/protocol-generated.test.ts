import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();

describe('runtime/protocol/gen', () => {
  it('is exactly what `npm run gen` makes from proto/ (run it after editing a .proto)', () => {
    const config = parse(readFileSync(join(repoRoot, 'buf.gen.yaml'), 'utf8')) as {
      plugins: { out: string }[];
    };
    const out = tempDir('evented-gen-');
    const template = { ...config, plugins: config.plugins.map((plugin) => ({ ...plugin, out })) };
    execFileSync(
      join(repoRoot, 'node_modules/.bin/buf'),
      ['generate', '--template', JSON.stringify(template)],
      {
        cwd: repoRoot,
      },
    );
    const committed = join(repoRoot, 'runtime/protocol/gen');
    expect(filesUnder(committed)).toEqual(filesUnder(out));
    for (const file of filesUnder(out)) {
      expect(readFileSync(join(committed, file), 'utf8'), `${file} is stale: run npm run gen`).toBe(
        readFileSync(join(out, file), 'utf8'),
      );
    }
  });
});
