import { mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/**
 * Makes a scaffolded project's imports and tools (`buf`, `protoc-gen-ts_proto`, `tsx`, `vitest`) resolve to
 * this repository's packages, with no network: a real node_modules folder whose entries are symlinks into the
 * repository's. (A folder of links rather than one link, so that caches such as vitest's node_modules/.vite
 * are written in the project, not in the repository.)
 */
export const linkRepoNodeModules = (projectDir: string): void => {
  const modules = join(projectDir, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(repoRoot, 'node_modules'))) {
    if (name === '.vite' || name === '.cache') continue;
    symlinkSync(join(repoRoot, 'node_modules', name), join(modules, name));
  }
};

/**
 * Everything under `dir`, to compare a folder before and after: each file's content, each link's target and
 * each folder (as `path/`), by '/'-separated path relative to `dir`.
 */
export const treeOf = (dir: string, sub = ''): Record<string, string> => {
  const tree: Record<string, string> = {};
  for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
    const path = sub === '' ? entry.name : `${sub}/${entry.name}`;
    if (entry.isSymbolicLink()) tree[path] = `-> ${readlinkSync(join(dir, path))}`;
    else if (entry.isDirectory()) Object.assign(tree, { [`${path}/`]: '' }, treeOf(dir, path));
    else tree[path] = readFileSync(join(dir, path), 'utf8');
  }
  return tree;
};
