import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../../errors/index.js';
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

/** Parses and validates YAML text; `source` names it in messages. */
export const parseConfigText = (text: string, source: string): ResolvedConfig => {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lines.linePos(yamlError.pos[0]).line;
    throw new ConfigError(`${source}:${line}: not valid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS() ?? {};
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

export const readConfigFile = async (path: string): Promise<ResolvedConfig> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${(err as Error).message}`,
      {
        hint: code === 'ENOENT' ? 'run evented init, or pass the folder that holds evented.yaml' : undefined,
      },
    );
  }
  return parseConfigText(text, path);
};
