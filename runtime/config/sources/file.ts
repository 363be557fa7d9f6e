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
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
};

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
  const parsed = configSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const messages = parsed.error.issues.slice(0, 5).map((issue) => {
    const node = nodeAt(doc.contents, issue.path) ?? nodeAt(doc.contents, issue.path.slice(0, -1));
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
