import { isMap, isSeq, LineCounter, stringify, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, UnavailableError, ValidationError, messageOf } from '../../errors/index.js';
import { configSchema, type ResolvedConfig } from '../schema.js';
import { DEFAULT_CONSUL_PREFIX, DEFAULT_CONSUL_URL } from './consul-defaults.js';
import { documentValue, parseYaml, readConfigFile } from './file.js';

/**
 * The configuration in Consul KV, over Consul's HTTP API (Node's fetch: three endpoints — read a folder, list
 * a folder, one transaction — need no client library, and fetch's errors let us say exactly what failed).
 *
 * Layout: one key per top-level section of the schema, under `<prefix><name>/`, holding that section as YAML:
 *
 *   evented/bank/commandHandler   →  host: 127.0.0.1 ⏎ port: 1313 ⏎ …
 *   evented/bank/domains          →  account: ⏎   businessLogic: 127.0.0.1:1737
 *
 * Why: an operator changes one section (`consul kv put evented/bank/commandHandler @ch.yaml`, or the Consul UI)
 * without rewriting, or racing with, the others; the Consul UI shows the project as a folder; several projects
 * share one prefix. Every section is written with its defaults applied, so what Consul shows is what the runtime
 * runs with. The name is the folder, not a key, so the two can never disagree. YAML, because it is the language
 * of evented.yaml (and JSON, which is YAML too, is accepted when an operator writes a key by hand). The original
 * kept one whole YAML document under one key; with one key per section a change to one section is visible as
 * exactly that in Consul's index and in `load-config --dry-run`. Everything under the folder is validated by
 * the one schema (schema.ts), as a whole, and an error names the key and the line within it.
 */

export { DEFAULT_CONSUL_PREFIX, DEFAULT_CONSUL_URL };

const TIMEOUT_MS = 10_000;
/** Every top-level key of the schema but `name`, in the schema's order. */
const SECTIONS = Object.keys(configSchema.shape).filter((key) => key !== 'name');

/** Where the configuration lives: a Consul agent's HTTP address and the KV prefix (default `evented/`). */
export interface ConsulLocation {
  url: string;
  prefix?: string;
}

/** One key of a project's folder and what a write does to it. `before`/`after` are the key's text. */
export interface KeyChange {
  key: string;
  change: 'added' | 'changed' | 'removed' | 'unchanged';
  before?: string;
  after?: string;
}

export interface ConsulConfigWrite {
  /** The Consul agent, as a URL. */
  url: string;
  /** The project's name; its keys are under `folder`. */
  name: string;
  folder: string;
  /** Every key of the folder: the sections of the configuration, then keys that are no longer sections. */
  changes: KeyChange[];
  /** False after a dry run, or when Consul already held exactly this. */
  written: boolean;
}

interface HeldKey {
  key: string;
  text: string;
  index: number;
}

const consulUrl = (url: string): string => {
  const withScheme = /^[a-z][a-z\d+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  try {
    const parsed = new URL(withScheme);
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    throw new ValidationError(`"${url}" is not a Consul URL`, { hint: `for example ${DEFAULT_CONSUL_URL}` });
  }
};

const folderPrefix = (prefix: string): string => {
  const trimmed = prefix.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
};

const kvPath = (key: string): string => `/v1/kv/${key.split('/').map(encodeURIComponent).join('/')}`;

const request = async (url: string, path: string, init: RequestInit = {}): Promise<Response> => {
  try {
    return await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const code = ((err as { cause?: { code?: string } }).cause ?? {}).code;
    const why =
      (err as Error).name === 'TimeoutError'
        ? `it did not answer within ${TIMEOUT_MS / 1000} s`
        : code === 'ECONNREFUSED'
          ? 'connection refused'
          : code === 'ENOTFOUND'
            ? 'no such host'
            : messageOf((err as { cause?: unknown }).cause ?? err);
    throw new UnavailableError(`cannot reach Consul at ${url}: ${why}`, {
      hint: 'start an agent (consul agent -dev), or point at a running one with --consul URL',
      cause: err,
    });
  }
};

const refused = async (url: string, what: string, response: Response): Promise<UnavailableError> => {
  const body = (await response.text()).trim().split('\n')[0] ?? '';
  return new UnavailableError(`Consul at ${url} refused to ${what}: HTTP ${response.status} ${body}`.trim());
};

/** The keys under `folder` (which ends in '/'), without Consul's folder markers; [] when there are none. */
const readFolder = async (url: string, folder: string): Promise<HeldKey[]> => {
  const response = await request(url, `${kvPath(folder)}?recurse=true`);
  if (response.status === 404) return [];
  if (!response.ok) throw await refused(url, `read ${folder}`, response);
  const items = (await response.json()) as { Key: string; Value: string | null; ModifyIndex: number }[];
  return items
    .filter((item) => !item.Key.endsWith('/'))
    .map((item) => ({
      key: item.Key,
      text: Buffer.from(item.Value ?? '', 'base64').toString('utf8'),
      index: item.ModifyIndex,
    }));
};

/** The project names under `prefix`: its sub-folders. */
const listProjects = async (url: string, prefix: string): Promise<string[]> => {
  const response = await request(url, `${kvPath(prefix)}?keys=true&separator=/`);
  if (response.status === 404) return [];
  if (!response.ok) throw await refused(url, `list ${prefix || '/'}`, response);
  const keys = (await response.json()) as string[];
  return keys
    .filter((key) => key.endsWith('/') && key.length > prefix.length + 1)
    .map((key) => key.slice(prefix.length, -1));
};

const loadHint = (url: string, prefix: string): string =>
  `write it there with evented load-config --consul ${url}${prefix === DEFAULT_CONSUL_PREFIX ? '' : ` --prefix ${prefix}`}`;

const onlyProject = async (url: string, prefix: string): Promise<string> => {
  const projects = await listProjects(url, prefix);
  if (projects.length === 1) return projects[0]!;
  if (projects.length === 0) {
    throw new ConfigError(`Consul at ${url} holds no configuration under ${prefix || '/'}`, {
      hint: loadHint(url, prefix),
    });
  }
  throw new ConfigError(
    `Consul at ${url} holds several projects under ${prefix || '/'}: ${projects.join(', ')}`,
    {
      hint: 'say which one with --name',
    },
  );
};

// ---- reading: keys → one document → the one schema, errors pointing at the key and line ----

/** How to repair a key: in Consul by hand, or by writing evented.yaml again (which also deletes stray keys). */
const fixHint = (key: string, stray: boolean): string =>
  `${stray ? `delete it (consul kv delete ${key})` : `correct it (consul kv put ${key} @section.yaml)`}, or write evented.yaml there again with evented load-config`;

interface ParsedKey {
  key: string;
  doc: Document;
  lines: LineCounter;
}

const nodeAt = (root: unknown, path: PropertyKey[]): Node | undefined => {
  let node = root;
  for (const key of path) {
    if (isMap(node)) node = node.get(String(key), true);
    else if (isSeq(node)) node = node.get(Number(key), true);
    else return undefined;
  }
  return (node as Node | undefined) ?? undefined;
};

const parseKeys = (url: string, folder: string, held: HeldKey[]): Map<string, ParsedKey> => {
  const parsed = new Map<string, ParsedKey>();
  for (const { key, text } of held) {
    const section = key.slice(folder.length);
    if (section.includes('/') || section === 'name') {
      throw new ConfigError(
        `Consul at ${url}, key ${key}: not a section of the configuration (each section is one key directly under ${folder}, and the folder is the project's name)`,
        { hint: fixHint(key, true) },
      );
    }
    const lines = new LineCounter();
    const doc = parseYaml(text, lines);
    const error = doc.errors[0];
    if (error) {
      const line = lines.linePos(error.pos[0]).line;
      throw new ConfigError(
        `Consul at ${url}, key ${key}, line ${line}: not valid YAML: ${error.message.split('\n')[0]}`,
        { hint: fixHint(key, false) },
      );
    }
    parsed.set(section, { key, doc, lines });
  }
  return parsed;
};

const describeIssue = (issue: z.core.$ZodIssue): string => {
  if (issue.code === 'unrecognized_keys') {
    return issue.path.length === 0
      ? `not a section of the configuration (the sections are ${SECTIONS.join(', ')})`
      : `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `is required (${issue.expected})`;
  return issue.message;
};

/** "Consul at URL, key K, line N: path: what is wrong" for one schema issue (a section that is not one: its key). */
const locateIssue = (url: string, folder: string, keys: Map<string, ParsedKey>, issue: z.core.$ZodIssue) => {
  if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
    return issue.keys.map((section) => `Consul at ${url}, key ${folder}${section}: ${describeIssue(issue)}`);
  }
  const [section = '', ...inner] = issue.path;
  const parsed = keys.get(String(section));
  const unknown = issue.code === 'unrecognized_keys' ? [issue.keys[0]!] : [];
  const contents = parsed?.doc.contents;
  const node =
    inner.length + unknown.length === 0
      ? undefined
      : (nodeAt(contents, [...inner, ...unknown]) ??
        nodeAt(contents, inner) ??
        nodeAt(contents, inner.slice(0, -1)));
  const line = parsed && node?.range ? `, line ${parsed.lines.linePos(node.range[0]).line}` : '';
  return [
    `Consul at ${url}, key ${folder}${String(section)}${line}: ${issue.path.join('.')}: ${describeIssue(issue)}`,
  ];
};

const validate = (url: string, folder: string, name: string, held: HeldKey[]): ResolvedConfig => {
  const keys = parseKeys(url, folder, held);
  const value = Object.fromEntries(
    [...keys].map(([section, { doc }]) => [
      section,
      documentValue(doc, `Consul at ${url}, key ${folder}${section}`),
    ]),
  );
  const parsed = configSchema.safeParse({ ...value, name }, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issues = [...parsed.error.issues].sort(
    (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
  );
  const lines = issues.flatMap((issue) => locateIssue(url, folder, keys, issue));
  const first = issues[0]!;
  const stray = first.code === 'unrecognized_keys' && first.path.length === 0 ? first.keys[0] : undefined;
  const key = `${folder}${stray ?? String(first.path[0])}`;
  throw new ConfigError(lines.slice(0, 5).join('\n'), { hint: fixHint(key, stray !== undefined) });
};

/**
 * Reads a project's configuration from Consul KV (the layout above) and validates it with the one schema.
 * `name` picks the project under `prefix`; without it, the prefix must hold exactly one project.
 * Throws UnavailableError when Consul cannot be reached (naming the URL tried), ConfigError when it holds no
 * configuration or an invalid one (naming the key, the line within it, and what is wrong).
 */
export const readConfigFromConsul = async (
  url: string,
  prefix: string = DEFAULT_CONSUL_PREFIX,
  name?: string,
): Promise<ResolvedConfig> => {
  const base = consulUrl(url);
  const root = folderPrefix(prefix);
  const project = name ?? (await onlyProject(base, root));
  const folder = `${root}${project}/`;
  const held = await readFolder(base, folder);
  if (held.length === 0) {
    const others = name === undefined ? [] : await listProjects(base, root);
    throw new ConfigError(
      `Consul at ${base} holds no configuration under ${folder}${others.length > 0 ? ` (it holds ${others.join(', ')})` : ''}`,
      { hint: loadHint(base, root) },
    );
  }
  return validate(base, folder, project, held);
};

// ---- writing: evented.yaml → one key per section → one transaction ----

const planChanges = (wanted: Map<string, string>, held: HeldKey[]): KeyChange[] => {
  const byKey = new Map(held.map((entry) => [entry.key, entry.text]));
  const changes: KeyChange[] = [...wanted].map(([key, after]) => {
    const before = byKey.get(key);
    if (before === undefined) return { key, change: 'added', after };
    return { key, change: before === after ? 'unchanged' : 'changed', before, after };
  });
  const stale = held.filter((entry) => !wanted.has(entry.key)).sort((a, b) => a.key.localeCompare(b.key));
  return [...changes, ...stale.map(({ key, text }): KeyChange => ({ key, change: 'removed', before: text }))];
};

/**
 * One Consul transaction: all of it or none of it. Each operation also checks the index the plan was made
 * against, so a key an operator changed in the meantime fails the whole transaction rather than being lost.
 */
const commit = async (url: string, folder: string, changes: KeyChange[], held: HeldKey[]): Promise<void> => {
  const indexOf = new Map(held.map((entry) => [entry.key, entry.index]));
  const value = (text = ''): string => Buffer.from(text, 'utf8').toString('base64');
  const operations = changes.map(({ key, change, after }) => {
    const Index = indexOf.get(key) ?? 0;
    if (change === 'removed') return { KV: { Verb: 'delete-cas', Key: key, Index } };
    if (change === 'unchanged') return { KV: { Verb: 'check-index', Key: key, Index } };
    return { KV: { Verb: 'cas', Key: key, Value: value(after), Index } };
  });
  const response = await request(url, '/v1/txn', { method: 'PUT', body: JSON.stringify(operations) });
  if (response.status === 409) {
    throw new ConfigError(
      `the keys under ${folder} changed in Consul at ${url} while they were being written`,
      {
        hint: 'nothing was written; run evented load-config again',
      },
    );
  }
  if (!response.ok) throw await refused(url, `write ${folder} (nothing was written)`, response);
};

/**
 * Validates an evented.yaml (a broken one is reported with its line and key, before Consul is asked anything)
 * and writes it to Consul KV under `<prefix><name>/`, one key per section, in one transaction: keys that are no
 * longer sections are deleted in it, and nothing is half-written. With `dryRun`, only reports the changes.
 */
export const writeConfigToConsul = async (
  file: string,
  location: ConsulLocation,
  options: { dryRun?: boolean } = {},
): Promise<ConsulConfigWrite> => {
  // 1. Validate the file: nothing reaches Consul unless it is a valid configuration.
  const config = await readConfigFile(file);
  if (config.name.includes('/')) {
    throw new ConfigError(
      `${file}: name: "${config.name}" names the project's folder in Consul, so it cannot hold '/'`,
    );
  }
  // 2. One key per section, with its defaults applied.
  const url = consulUrl(location.url);
  const folder = `${folderPrefix(location.prefix ?? DEFAULT_CONSUL_PREFIX)}${config.name}/`;
  const section = (key: string): unknown => config[key as keyof ResolvedConfig];
  // An optional section that is not set (tls, token, …) has no key: one left from before is removed.
  const wanted = new Map(
    SECTIONS.filter((key) => section(key) !== undefined).map((key) => [
      `${folder}${key}`,
      stringify(section(key)),
    ]),
  );
  // 3. Compare with what Consul holds.
  const held = await readFolder(url, folder);
  const changes = planChanges(wanted, held);
  // 4. Write, unless asked not to or there is nothing to write.
  const write = !options.dryRun && changes.some((change) => change.change !== 'unchanged');
  if (write) await commit(url, folder, changes, held);
  return { url, name: config.name, folder, changes, written: write };
};
