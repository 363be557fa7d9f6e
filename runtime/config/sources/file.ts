import { readFile, stat } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import {
  Composer,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  parseDocument,
  Parser,
  visit,
  YAMLParseError,
  type CST,
  type Document,
  type Node,
} from 'yaml';
import type { z } from 'zod';
import { ConfigError, messageOf } from '../../errors/index.js';
import { configSchema, type ResolvedConfig } from '../schema.js';

/**
 * Reads evented.yaml. Every problem is reported with its line and key ("evented.yaml:7: domains.account.
 * businessLogic: expected host:port, …"), so the user can go straight to it.
 */

const nodeAt = (root: Node | null, path: PropertyKey[]): Node | undefined => {
  let node: unknown = root;
  for (const key of path) {
    if (isMap(node)) node = node.get(String(key), true);
    else if (isSeq(node)) node = node.get(Number(key), true);
    else return undefined;
  }
  return (node as Node | undefined) ?? undefined;
};

const describeIssue = (issue: z.core.$ZodIssue): string => {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `is required (${issue.expected})`;
  return issue.message;
};

/** Where to point for an issue: the unknown key itself, the wrong value, or the map that lacks a key. */
const issueNode = (root: Node | null, issue: z.core.$ZodIssue): Node | undefined =>
  (issue.code === 'unrecognized_keys' ? nodeAt(root, [...issue.path, issue.keys[0]!]) : undefined) ??
  nodeAt(root, issue.path) ??
  nodeAt(root, issue.path.slice(0, -1));

/**
 * The document's value. Aliases are expanded at most YAML_MAX_ALIASES times (the yaml package's guard against
 * an alias bomb, a few lines that expand into gigabytes), and going past it is a broken file like any other: one
 * line, no stack.
 */
export const documentValue = (doc: Document, source: string): unknown => {
  try {
    return doc.toJS({ maxAliasCount: YAML_MAX_ALIASES }) ?? {};
  } catch (err) {
    throw new ConfigError(
      `${source}: not valid YAML: ${messageOf(err)} (more than ${YAML_MAX_ALIASES} aliases expanded)`,
    );
  }
};

const YAML_MAX_ALIASES = 100;

/**
 * Keys must be unique in a map, as yaml checks by default; but its check compares each key with every key before
 * it, and 64,000 domains took over a minute. evented parses with that check off and does it here in one pass,
 * reported as yaml reports it (an error at the key).
 */
const checkUniqueKeys = (doc: Document): Document => {
  if (doc.errors.length > 0) return doc;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) {
          const at = key.range?.[0] ?? 0;
          doc.errors.push(new YAMLParseError([at, at + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
          return visit.BREAK;
        }
        seen.add(key.value);
      }
      return undefined;
    },
  });
  return doc;
};

const YAML_OPTIONS = { prettyErrors: false, uniqueKeys: false } as const;

/** Parses YAML as evented reads it (see checkUniqueKeys). */
export const parseYaml = (text: string, lines: LineCounter): Document =>
  checkUniqueKeys(parseDocument(text, { ...YAML_OPTIONS, lineCounter: lines }));

/**
 * The same, giving the event loop a turn every few milliseconds while the text is read (the longest part), so
 * that a signal (SIGTERM while a large file loads) is handled at once: parsing stops when `signal` is aborted.
 */
const parseYamlYielding = async (
  text: string,
  lines: LineCounter,
  signal: AbortSignal | undefined,
): Promise<Document> => {
  // What Parser.parse does, one lexeme at a time (the parser yields a document's token only once it is whole).
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  const tokens: CST.Token[] = [];
  let lexemes = 0;
  let turn = performance.now();
  for (const lexeme of new Lexer().lex(text)) {
    tokens.push(...parser.next(lexeme));
    lexemes += 1;
    if (lexemes % 4096 === 0 && performance.now() - turn > 20) {
      await setImmediate();
      signal?.throwIfAborted();
      turn = performance.now();
    }
  }
  tokens.push(...parser.end());
  const [doc, another] = new Composer(YAML_OPTIONS).compose(tokens, true, text.length);
  if (doc === undefined) return parseYaml(text, lines); // (no document: yaml's own answer)
  if (another !== undefined) {
    doc.errors.push(
      new YAMLParseError(
        [another.range[0], another.range[1]],
        'MULTIPLE_DOCS',
        'Source contains multiple documents',
      ),
    );
  }
  return checkUniqueKeys(doc);
};

/** Parses and validates YAML text; `source` names it in messages. */
export const parseConfigText = (text: string, source: string): ResolvedConfig => {
  const lines = new LineCounter();
  return validateConfig(parseYaml(text, lines), lines, source);
};

const validateConfig = (doc: Document, lines: LineCounter, source: string): ResolvedConfig => {
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lines.linePos(yamlError.pos[0]).line;
    throw new ConfigError(`${source}:${line}: not valid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const value = documentValue(doc, source);
  // reportInput: zod leaves `input` out of issues otherwise, and every wrong type would read as missing.
  const parsed = configSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  // Unknown keys first: a misspelt key usually also explains a "required" one.
  const issues = [...parsed.error.issues].sort(
    (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
  );
  const messages = issues.slice(0, 5).map((issue) => {
    const node = issueNode(doc.contents, issue);
    const line = node?.range ? `:${lines.linePos(node.range[0]).line}` : '';
    const key = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return `${source}${line}: ${key}${describeIssue(issue)}`;
  });
  throw new ConfigError(messages.join('\n'), { hint: 'see the configuration reference in the README' });
};

/**
 * The largest configuration file read: 8 MiB, twice what 100,000 domains (MAX_DOMAINS) take. Parsing is linear,
 * about a second per 2 MiB here; a larger file is refused before it is read.
 */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** Reads and validates a configuration file; with `signal`, stops (rejecting with its reason) when it aborts. */
export const readConfigFile = async (
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<ResolvedConfig> => {
  const lines = new LineCounter();
  const doc = await parseYamlYielding(await readText(path), lines, options.signal);
  await setImmediate();
  options.signal?.throwIfAborted();
  return validateConfig(doc, lines, path);
};

const readText = async (path: string): Promise<string> => {
  const { size } = await reading(path, () => stat(path));
  if (size > MAX_CONFIG_BYTES) {
    throw new ConfigError(
      `${path} is ${size} bytes, over the limit of ${MAX_CONFIG_BYTES} bytes for a configuration file`,
    );
  }
  return reading(path, () => readFile(path, 'utf8'));
};

const reading = async <T>(path: string, read: () => Promise<T>): Promise<T> => {
  try {
    return await read();
  } catch (err) {
    throw cannotRead(path, err);
  }
};

const cannotRead = (path: string, err: unknown): ConfigError => {
  const code = (err as NodeJS.ErrnoException).code;
  return new ConfigError(
    code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${messageOf(err)}`,
    { hint: code === 'ENOENT' ? 'run evented init, or pass the folder that holds evented.yaml' : undefined },
  );
};
