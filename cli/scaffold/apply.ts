import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError, UsageError } from '../errors.js';
import type { FileOp } from './plan.js';

/**
 * Writes a plan. Nothing is half-written: every file is first written to a staging folder on the target's
 * file system; then the staging folder is renamed to the target (a new target) or its files are renamed into
 * the target one by one (an existing one), and a failure there puts back what was moved and overwritten.
 */

export interface AppliedFile {
  path: string;
  action: 'created' | 'overwritten';
}

export interface ApplyOptions {
  /** Write into a non-empty target: the plan's files overwrite files of the same name; other files stay. */
  force?: boolean;
}

const FORCE_HINT =
  'pass --force to add the template files to it (overwriting files of the same name), or choose another folder';

/** Entries that do not make a folder "not empty" (create-vite's rule: a fresh `git init` is fine). */
const IGNORABLE = new Set(['.git']);

export type Target = { exists: false; dir: string } | { exists: true; dir: string; empty: boolean };

const inspectTarget = (targetDir: string): Target => {
  const dir = resolve(targetDir);
  let stat;
  try {
    stat = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && lstatIfAny(dir)) throw new UsageError(`${dir} is a symbolic link to nothing`);
    if (code === 'ENOENT') return { exists: false, dir };
    if (code === 'ENOTDIR')
      throw new UsageError(`${dir} is under a file, not a folder`, 'choose another folder');
    throw new CliError(`cannot use ${dir}: ${(err as Error).message}`);
  }
  if (!stat.isDirectory()) throw new UsageError(`${dir} is a file, not a folder`, 'choose another folder');
  return { exists: true, dir, empty: readdirSync(dir).every((name) => IGNORABLE.has(name)) };
};

/** Fails (a usage error) when the plan may not be written to `targetDir`: a file, or a non-empty folder without force. */
export const checkTarget = (targetDir: string, options: ApplyOptions = {}): Target => {
  const target = inspectTarget(targetDir);
  if (target.exists && !target.empty && !options.force) {
    throw new UsageError(`${target.dir} is not empty`, FORCE_HINT);
  }
  return target;
};

const lstatIfAny = (path: string) => {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
};

/** The plan's destinations as absolute paths, checked again to stay under `dir`. */
const destinations = (ops: FileOp[], dir: string): string[] =>
  ops.map((op) => {
    const path = resolve(dir, op.path);
    if (!path.startsWith(`${dir}/`) || op.path.split('/').includes('..')) {
      throw new CliError(`refusing to write ${op.path}: it is outside ${dir}`);
    }
    return path;
  });

/** In an existing target, what would stop a file from being renamed into place: a link or a file on its way. */
const checkWay = (dir: string, op: FileOp): void => {
  const segments = op.path.split('/');
  for (let i = 1; i <= segments.length; i += 1) {
    const path = join(dir, ...segments.slice(0, i));
    const stat = lstatIfAny(path);
    if (!stat) return;
    const last = i === segments.length;
    if (!last && stat.isSymbolicLink()) {
      throw new UsageError(
        `${path} is a symbolic link; evented init does not write through links`,
        'choose another folder',
      );
    }
    if (!last && !stat.isDirectory())
      throw new UsageError(`${path} is a file; the template has a folder there`, 'choose another folder');
    if (last && stat.isDirectory())
      throw new UsageError(`${path} is a folder; the template has a file there`, 'choose another folder');
  }
};

const writeStaged = (ops: FileOp[], staging: string): void => {
  for (const op of ops) {
    const path = join(staging, op.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, op.content, { mode: op.executable ? 0o755 : 0o644, flag: 'wx' });
  }
};

/** Renames the staged files into an existing target; on failure, undoes every step done, last first. */
const moveInto = (ops: FileOp[], staging: string, dir: string): AppliedFile[] => {
  const undo: (() => void)[] = [];
  const applied: AppliedFile[] = [];
  try {
    for (const op of ops) {
      const path = join(dir, op.path);
      const created = mkdirSync(dirname(path), { recursive: true });
      if (created) undo.push(() => rmSync(created, { recursive: true, force: true }));
      const overwritten = lstatIfAny(path) !== undefined;
      if (overwritten) {
        const backup = join(staging, '.overwritten', op.path);
        mkdirSync(dirname(backup), { recursive: true });
        renameSync(path, backup);
        undo.push(() => renameSync(backup, path));
      }
      renameSync(join(staging, op.path), path);
      undo.push(() => rmSync(path, { force: true }));
      applied.push({ path: op.path, action: overwritten ? 'overwritten' : 'created' });
    }
    return applied;
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // keep undoing the rest
      }
    }
    throw err;
  }
};

/** Writes the plan into `targetDir` (created if missing); returns what was created and overwritten. */
export const applyScaffold = (
  ops: FileOp[],
  targetDir: string,
  options: ApplyOptions = {},
): AppliedFile[] => {
  // 1. The target: missing, empty, or (with --force) a folder of the user's; never a file.
  const target = checkTarget(targetDir, options);
  // 2. Every destination under the target, with no link or file of the user's in its way.
  destinations(ops, target.dir);
  if (target.exists) for (const op of ops) checkWay(target.dir, op);

  // 3. Stage: beside a new target (it becomes the target), inside an existing one (same file system).
  const parent = dirname(target.dir);
  const createdParent = target.exists ? undefined : mkdirIfMissing(parent);
  const stagingName = `.${basename(target.dir)}.evented-init-${randomBytes(4).toString('hex')}`;
  const staging = target.exists ? join(target.dir, stagingName) : join(parent, stagingName);
  try {
    mkdirSync(staging);
    writeStaged(ops, staging);
    // 4. Move into place.
    if (!target.exists) {
      renameSync(staging, target.dir);
      return ops.map((op) => ({ path: op.path, action: 'created' }));
    }
    return moveInto(ops, staging, target.dir);
  } catch (err) {
    if (createdParent) rmSync(createdParent, { recursive: true, force: true });
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot write ${target.dir}: ${(err as Error).message}`, 'nothing was written');
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
};

/** Creates a folder and its missing parents; returns the topmost one created, to remove on failure. */
const mkdirIfMissing = (dir: string): string | undefined => {
  try {
    return mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new CliError(`cannot create ${dir}: ${(err as Error).message}`);
  }
};
