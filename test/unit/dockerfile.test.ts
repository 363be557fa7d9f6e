import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';

/**
 * The runtime's image (Dockerfile), checked by reading it: no container engine runs on these machines, so it is
 * not built here (see the README's Limits). What is checked: the image holds exactly what `npm pack` ships — the
 * build stage has every file the package lists (copied from the build context, which .dockerignore does not strip
 * of them, or made by its gen and build), packs it, and the last stage copies that pack and the production
 * dependencies only — and it runs as a user that is not root.
 */

interface Stage {
  name: string;
  from: string;
  /** Instructions, continuation lines joined: ["COPY", "bin bin"], … */
  instructions: [string, string][];
}

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

const stagesOf = (text: string): Stage[] => {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword === 'FROM') {
      const [from, , name] = rest;
      stages.push({ name: name ?? `stage-${stages.length}`, from: from!, instructions: [] });
    } else if (keyword !== 'ARG' || stages.length > 0) {
      stages.at(-1)?.instructions.push([keyword!, args]);
    }
  }
  return stages;
};

const stages = stagesOf(dockerfile);
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (found === undefined) throw new Error(`the Dockerfile has no stage "${name}"`);
  return found;
};
const runs = (s: Stage): string =>
  s.instructions
    .filter(([k]) => k === 'RUN')
    .map(([, a]) => a)
    .join('\n');
const copies = (s: Stage): string[][] =>
  s.instructions.filter(([k]) => k === 'COPY').map(([, a]) => a.split(/\s+/));

/** The files `npm pack` puts in the package (package.json "files"), as npm lists them. */
const packed = (): string[] => {
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(json) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
};

/** Whether .dockerignore keeps `path` out of the build context (its patterns here are plain paths and `**` /). */
const ignored = (path: string): boolean =>
  readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .some((pattern) => {
      const bare = pattern.replace(/^\*\*\//, '');
      const anywhere = pattern.startsWith('**/');
      const parts = path.split('/');
      return parts.some((_, i) => {
        const rest = parts.slice(i).join('/');
        return (i === 0 || anywhere) && (rest === bare || rest.startsWith(`${bare}/`));
      });
    });

describe('the Dockerfile', () => {
  it('has a build stage, a production-dependencies stage and the image', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'stage-2']);
    for (const s of stages) expect(s.from).toBe('${NODE_IMAGE}');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
  });

  it('builds, then packs exactly what npm pack ships', () => {
    const build = runs(stage('build'));
    expect(build).toContain('npm ci --ignore-scripts');
    expect(build).toContain('npm run gen && npm run build');
    expect(build).toMatch(
      /npm pack --ignore-scripts .*tar -xzf \/tmp\/evented-\*\.tgz -C \/package --strip-components=1/,
    );
  });

  it('has in its build stage every file the package lists, from the build context or made by gen and build', () => {
    const sources = copies(stage('build')).flatMap((args) => args.slice(0, -1));
    /** What the build stage makes itself: tsc's output (dist/) and the TypeScript template's generated code. */
    const made = ['dist/', 'templates/typescript/src/gen/'];
    const files = packed();
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'bin/evented.js']));
    const missing = files.filter(
      (file) =>
        !made.some((prefix) => file.startsWith(prefix)) &&
        !sources.some((source) => file === source || file.startsWith(`${source.replace(/\/$/, '')}/`)),
    );
    expect(missing, 'files npm pack ships that the build stage never copies').toEqual([]);
    const stripped = files.filter((file) => !made.some((prefix) => file.startsWith(prefix)) && ignored(file));
    expect(stripped, 'files npm pack ships that .dockerignore keeps out of the context').toEqual([]);
    // Every entry of package.json "files" too (dist/ ones are made by the build).
    const entries = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { files: string[] })
      .files;
    for (const entry of entries) {
      expect(
        entry.startsWith('dist/') || sources.includes(entry),
        `"${entry}" of package.json files is copied`,
      ).toBe(true);
    }
  });

  it('installs the production dependencies only, with what better-sqlite3 needs to compile', () => {
    const deps = runs(stage('deps'));
    expect(deps).toMatch(/apt-get install -y --no-install-recommends python3 make g\+\+/);
    expect(deps).toContain('npm ci --omit=dev --ignore-scripts');
    expect(deps).toContain('npm rebuild better-sqlite3');
  });

  it('makes an image of the pack and the production dependencies alone, run by a user that is not root', () => {
    const image = stages.at(-1)!;
    expect(copies(image)).toEqual([
      ['--from=build', '/package/', './'],
      ['--from=deps', '/app/node_modules', './node_modules'],
    ]);
    const users = image.instructions.filter(([k]) => k === 'USER').map(([, a]) => a);
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(gid)).toBeGreaterThan(0);
    // It comes after everything that runs as root, and nothing runs after it.
    const kinds = image.instructions.map(([k]) => k);
    expect(kinds.slice(kinds.indexOf('USER')).filter((k) => k === 'RUN' || k === 'COPY')).toEqual([]);
    expect(image.instructions).toContainEqual(['ENTRYPOINT', '["node", "/app/bin/evented.js"]']);
    // The user the manifests run it as (evented deploy kubernetes: runAsUser 10001).
    expect(users[0]).toBe('10001:10001');
  });
});
