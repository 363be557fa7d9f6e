import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Zod from 'zod';
import { CliError } from '../errors.js';

/**
 * A template is a folder `templates/<lang>/` holding a real, runnable project plus `template.json`, which says
 * how to turn it into a user's project. The language list is the list of such folders, so adding a language
 * is adding a folder.
 */

/**
 * The schema of template.json. zod is loaded when a template is first read, not with this module: `evented
 * init --help` lists the templates, and commander writes help synchronously, so the CLI cannot `await import`
 * it there; a synchronous require keeps zod off every other command's start.
 */
const schemaOf = (z: typeof Zod.z) => {
  const variable = z.strictObject({
    /** What the prompt and `--help` say. */
    description: z.string().min(1),
    /** The value when no flag or answer gives one; `{{folder}}` is the target folder's name, as a project name. */
    default: z.string().min(1),
  });

  const substitution = z.strictObject({
    /** The template file (its path in the template folder) to change; no other file is touched. */
    file: z.string().min(1),
    /** The exact text to find... */
    find: z.string().min(1),
    /** ...and what it becomes; `{{domain}}` and `{{name}}` are the variables, encoded as `encode` says. */
    replace: z.string(),
    /** How many times `find` must occur: a template edited without updating this fails loudly, never half-done. */
    count: z.number().int().positive(),
    /** Only where `find` is not part of a longer name (of letters, digits, '_', '.', '-'): `account`, not `accounts`. */
    wholeWord: z.boolean().default(false),
    /** Where the value lands: `yaml` quotes a value YAML would read as a number or boolean; `json`/`js` escape. */
    encode: z.enum(['raw', 'yaml', 'json', 'js']).default('raw'),
  });

  const manifest = z.strictObject({
    /** The language's name for people ("TypeScript"). */
    displayName: z.string().min(1),
    /** One line: what the scaffold holds. */
    description: z.string().min(1),
    variables: z.strictObject({ domain: variable, name: variable }),
    /** Not copied: a name without '/' matches at any depth (like .gitignore), one with '/' from the top. */
    exclude: z.array(z.string().min(1)).default([]),
    /** Template path → scaffold path (`_gitignore` → `.gitignore`: npm would drop a real .gitignore). */
    rename: z.record(z.string(), z.string()).default({}),
    substitute: z.array(substitution).default([]),
    /**
     * Scaffold path → path in the evented package (inside its templates/ or proto/ folder): files shared by
     * every template, such as evented.proto. Copied even where the template's symlink to them is missing
     * (`npm pack` leaves symlinks out).
     */
    shared: z.record(z.string(), z.string()).default({}),
    /**
     * Commands printed after scaffolding; `{{dir}}` is the scaffold's folder, relative to where init ran, and
     * `{{evented}}` how to run this evented there (`evented`, once on PATH, else its bin/evented.js).
     */
    nextSteps: z.array(z.string()).default([]),
  });
  return { substitution, manifest };
};

type Schema = ReturnType<typeof schemaOf>;

let schema: Schema | undefined;
const loadSchema = (): Schema =>
  (schema ??= schemaOf((createRequire(import.meta.url)('zod') as typeof Zod).z));

export type Substitution = Zod.output<Schema['substitution']>;

export interface Template extends Zod.output<Schema['manifest']> {
  /** The language id: the template folder's name (`typescript`). */
  lang: string;
  /** The template folder. */
  dir: string;
  /** The evented package's folder (holding templates/ and proto/); `shared` paths are relative to it. */
  packageDir: string;
  /**
   * The folders a symlink in the template, or a shared file, may come from: the templates folder itself and
   * the package's `proto/` (the TypeScript template links `proto/evented/evented.proto` to the one contract).
   */
  linkRoots: string[];
}

export const MANIFEST = 'template.json';

/** The package root (the folder of package.json), from this file in the source tree or in dist/. */
const packageRoot = (from: string): string => {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
};

/** The templates folder of this evented installation. */
export const templatesFolder = (): string =>
  join(packageRoot(dirname(fileURLToPath(import.meta.url))), 'templates');

/** The languages there are templates for, sorted. */
export const listLanguages = (templatesDir: string): string[] =>
  readdirSync(templatesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(templatesDir, entry.name, MANIFEST)))
    .map((entry) => entry.name)
    .sort();

/** Reads and checks `templates/<lang>/template.json`. The caller has checked that `lang` is listed. */
export const loadTemplate = (templatesDir: string, lang: string): Template => {
  const dir = resolve(templatesDir, lang);
  const path = join(dir, MANIFEST);
  const { manifest } = loadSchema();
  let parsed;
  try {
    parsed = manifest.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, 'reinstall evented');
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(`${path}: ${issue.path.join('.')}: ${issue.message}`, 'reinstall evented');
  }
  const packageDir = resolve(templatesDir, '..');
  const linkRoots = [resolve(templatesDir), join(packageDir, 'proto')];
  return { ...parsed.data, lang, dir, packageDir, linkRoots };
};
