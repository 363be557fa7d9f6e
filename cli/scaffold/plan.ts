import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve, sep, win32 } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CliError } from '../errors.js';
import { MANIFEST, type Substitution, type Template } from './template.js';
import type { ScaffoldVariables } from './variables.js';

/**
 * The plan of a scaffold: every file to write, with its final content, computed from the template folder
 * without writing anything. Checking the plan is how "init never writes outside its target" is made
 * testable: every destination is a relative path without `..`, and every symlink in the template is
 * replaced by the content of a file inside the allowed folders.
 */

export interface FileOp {
  /** Where the file goes, relative to the target folder, with '/' separators. */
  path: string;
  /** Where it comes from, relative to the template folder (a shared file: to the package folder). */
  from: string;
  content: Buffer;
  executable: boolean;
}

const fail = (template: Template, message: string): never => {
  throw new CliError(`template ${template.lang}: ${message}`, 'the template is broken: reinstall evented');
};

const excluded = (template: Template, path: string): boolean =>
  path === MANIFEST ||
  template.exclude.some((pattern) =>
    pattern.includes('/')
      ? path === pattern || path.startsWith(`${pattern}/`)
      : path.split('/').includes(pattern),
  );

/** The template's files (and symlinks), as '/'-separated paths relative to its folder. */
const templateFiles = (template: Template, sub = ''): string[] =>
  readdirSync(join(template.dir, sub), { withFileTypes: true }).flatMap((entry) => {
    const path = sub === '' ? entry.name : `${sub}/${entry.name}`;
    if (excluded(template, path)) return [];
    if (entry.isDirectory()) return templateFiles(template, path);
    if (entry.isFile() || entry.isSymbolicLink()) return [path];
    return fail(template, `${path} is neither a file nor a folder`);
  });

const inside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/** A file that must lie in one of the template's allowed folders (after following every link). */
const readAllowed = (
  template: Template,
  path: string,
  label: string,
): { content: Buffer; executable: boolean } => {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return fail(template, `${label} is a symbolic link to nothing, or missing`);
  }
  const roots = template.linkRoots.flatMap((root) => {
    try {
      return [realpathSync(root)];
    } catch {
      return [];
    }
  });
  if (!roots.some((root) => inside(root, real))) {
    return fail(template, `${label} links to ${real}, outside the templates and proto folders`);
  }
  const stat = statSync(real);
  if (!stat.isFile()) return fail(template, `${label} links to a folder; only files may be linked`);
  return { content: readFileSync(real), executable: (stat.mode & 0o111) !== 0 };
};

/** A template file's content; a symlink becomes the file it points to, which must be in an allowed folder. */
const readSource = (template: Template, from: string): { content: Buffer; executable: boolean } => {
  const path = join(template.dir, from);
  if (lstatSync(path).isSymbolicLink()) return readAllowed(template, path, from);
  const stat = statSync(path);
  return { content: readFileSync(path), executable: (stat.mode & 0o111) !== 0 };
};

/** The destination as a clean relative path, or a failure when it could leave the target. */
const destination = (template: Template, from: string, to: string): string => {
  const segments = to.split(/[\\/]/).filter((segment) => segment !== '' && segment !== '.');
  const absolute = posix.isAbsolute(to) || win32.isAbsolute(to);
  if (absolute || to.includes('\0') || segments.length === 0 || segments.includes('..')) {
    return fail(template, `${from} would be written to "${to}", outside the target folder`);
  }
  if (segments.includes('.git')) return fail(template, `${from} would be written into .git`);
  return segments.join('/');
};

const encoders: Record<Substitution['encode'], (value: string) => string> = {
  raw: (value) => value,
  // A value YAML reads as something else (123, true, null, 1e3) is written as a quoted string.
  yaml: (value) => {
    try {
      if (parseYaml(value) === value) return value;
    } catch {
      // not a plain scalar: quote it
    }
    return JSON.stringify(value);
  },
  json: (value) => JSON.stringify(value).slice(1, -1),
  js: (value) => JSON.stringify(value).slice(1, -1).replaceAll("'", "\\'"),
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Applies a file's substitutions, all on the original text (a value put in by one is never matched by
 * another), each exactly `count` times.
 */
const substituteFile = (
  template: Template,
  file: string,
  text: string,
  substitutions: Substitution[],
  vars: ScaffoldVariables,
): string => {
  const edits: { start: number; end: number; text: string }[] = [];
  for (const s of substitutions) {
    const replacement = s.replace.replace(/\{\{(\w+)\}\}/g, (_, key: string) =>
      key === 'domain' || key === 'name'
        ? encoders[s.encode](vars[key])
        : fail(template, `${file}: unknown variable {{${key}}}`),
    );
    const word = s.wholeWord ? ['(?<![A-Za-z0-9_.-])', '(?![A-Za-z0-9_.-])'] : ['', ''];
    const matches = [...text.matchAll(new RegExp(`${word[0]}${escapeRegExp(s.find)}${word[1]}`, 'g'))];
    if (matches.length !== s.count) {
      fail(template, `${file}: expected "${s.find}" ${s.count} time(s), found it ${matches.length} time(s)`);
    }
    for (const m of matches) edits.push({ start: m.index, end: m.index + s.find.length, text: replacement });
  }
  edits.sort((a, b) => a.start - b.start);
  let result = '';
  let at = 0;
  for (const edit of edits) {
    if (edit.start < at) fail(template, `${file}: two substitutions overlap`);
    result += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return result + text.slice(at);
};

/** Every file of the scaffold, sorted by destination. Reads the template; writes nothing. */
export const planScaffold = (template: Template, vars: ScaffoldVariables): FileOp[] => {
  const files = templateFiles(template);
  const sharedPaths = Object.keys(template.shared);
  for (const from of [...Object.keys(template.rename), ...template.substitute.map((s) => s.file)]) {
    if (!files.includes(from) && !sharedPaths.includes(from))
      fail(template, `template.json names ${from}, which the template does not have`);
  }
  const substituted = (from: string, content: Buffer): Buffer => {
    const substitutions = template.substitute.filter((s) => s.file === from);
    if (substitutions.length === 0) return content;
    return Buffer.from(substituteFile(template, from, content.toString('utf8'), substitutions, vars));
  };
  // A shared file replaces the template's symlink to it (which a package manager may have dropped); the
  // substitutions named by its scaffold path apply to it as to the template's own files.
  const fromPackage = Object.entries(template.shared).map(([to, source]): FileOp => {
    const { content, executable } = readAllowed(template, resolve(template.packageDir, source), source);
    return {
      path: destination(template, source, to),
      from: source,
      content: substituted(to, content),
      executable,
    };
  });
  const shared = new Set(fromPackage.map((op) => op.path));
  const fromTemplate = files.flatMap((from): FileOp[] => {
    const path = destination(template, from, template.rename[from] ?? from);
    if (shared.has(path)) return [];
    const { content, executable } = readSource(template, from);
    return [{ path, from, content: substituted(from, content), executable }];
  });
  const ops = [...fromTemplate, ...fromPackage];
  const seen = new Set<string>();
  for (const op of ops) {
    if (seen.has(op.path)) fail(template, `two template files would be written to ${op.path}`);
    seen.add(op.path);
  }
  return ops.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
};
