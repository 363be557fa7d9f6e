import type { JsonValue } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import type { ResolvedConfig } from '../../runtime/index.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import { CliError } from '../errors.js';
import type { PayloadTypes } from '../protos/payloads.js';
import { checkMessage, type FieldProblem } from './payload-fields.js';
import {
  DEFAULT_ROOT,
  TARGET_KINDS,
  type ExpectedBook,
  type ExpectedCommand,
  type ExpectedError,
  type ExpectedPayload,
  type SpecCase,
  type SpecFile,
  type Target,
  type TargetKind,
} from './spec.js';

/**
 * Reads one spec file (the format of docs: specs/**\/*.yaml, one target, a list of given/when/then cases) and
 * checks everything that can be checked before running it: the YAML, the keys, the target's name against
 * evented.yaml, every type name and field against the project's .proto files, the status codes. Every mistake
 * is one problem naming the file, the line and the key; all of them are collected, none stops the reading.
 */

export interface SpecProblem {
  file: string;
  line: number;
  /** The key path: `cases[1].then[0].MoneyDeposited.amout`; empty for the file as a whole. */
  key: string;
  message: string;
}

/** `specs/account/deposits.yaml:12: cases[1].then[0].MoneyDeposited.amout: … has no field "amout"` */
export const formatProblem = (problem: SpecProblem): string =>
  `${problem.file}:${problem.line}: ${problem.key === '' ? '' : `${problem.key}: `}${problem.message}`;

/** What the spec files are checked against besides the .proto files. */
export interface SpecContext {
  types: PayloadTypes;
  config: ResolvedConfig;
  /** Target names given a place with --address, valid even when evented.yaml lacks them. */
  addressed: ReadonlySet<string>;
}

const FILE_KEYS = [...TARGET_KINDS, 'domain', 'cases'];
const CASE_KEYS = ['name', 'root', 'domain', 'given', 'givenFrom', 'when', 'then', 'error', 'snapshot'];
const STATUS_NAMES = Object.keys(status).filter((key) => Number.isNaN(Number(key)));

/** The targets of one kind evented.yaml names, with the domains whose events each receives. */
const targetsOf = (config: ResolvedConfig, kind: TargetKind): Record<string, string[]> => {
  if (kind === 'businessLogic') return Object.fromEntries(Object.keys(config.domains).map((d) => [d, [d]]));
  const section = kind === 'saga' ? config.sagas : config.projectors;
  return Object.fromEntries(Object.entries(section).map(([name, s]) => [name, s.domains]));
};

const configKey = (kind: TargetKind, name: string): string =>
  kind === 'businessLogic' ? `domains.${name}.businessLogic` : `${kind}s.${name}.address`;

const join = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
}

/** The reading of one file: its line counter and the problems found so far. */
class Reader {
  readonly problems: SpecProblem[] = [];
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    private readonly context: SpecContext,
  ) {}

  lineOf(node: Node | null | undefined): number {
    return this.lines.linePos(node?.range?.[0] ?? 0).line;
  }

  problem(node: Node | null | undefined, key: string, message: string): undefined {
    this.problems.push({ file: this.file, line: this.lineOf(node), key, message });
    return undefined;
  }

  entries(node: YAMLMap): Entry[] {
    return node.items.map((pair) => {
      const keyNode = pair.key as Node;
      return {
        key: isScalar(keyNode) ? String(keyNode.value) : '?',
        keyNode,
        value: (pair.value as Node | null) ?? null,
      };
    });
  }

  /** The entries of a mapping, each key one of `allowed`; a problem (and undefined) when it is no mapping. */
  mapping(node: Node | null, path: string, allowed: readonly string[], what: string): Entry[] | undefined {
    if (!isMap(node)) return this.problem(node, path, `expected ${what}`);
    const entries = this.entries(node);
    for (const entry of entries) {
      if (!allowed.includes(entry.key)) {
        this.problem(
          entry.keyNode,
          join(path, entry.key),
          `unknown key; expected one of ${allowed.join(', ')}`,
        );
      }
    }
    return entries;
  }

  string(node: Node | null, path: string): string | undefined {
    if (isScalar(node) && typeof node.value === 'string' && node.value !== '') return node.value;
    return this.problem(node, path, 'expected a non-empty string');
  }

  count(node: Node | null, path: string): number | undefined {
    if (isScalar(node) && Number.isInteger(node.value) && (node.value as number) >= 0)
      return node.value as number;
    return this.problem(node, path, 'expected a whole number ≥ 0');
  }

  uuid(node: Node | null, path: string): string | undefined {
    const text = this.string(node, path);
    if (text === undefined) return undefined;
    if (!uuidToBytes(text)) return this.problem(node, path, `expected a UUID, got "${text}"`);
    return text.toLowerCase();
  }

  list(node: Node | null, path: string): Node[] | undefined {
    if (node === null || (isScalar(node) && node.value === null)) return [];
    if (!isSeq(node)) return this.problem(node, path, 'expected a list');
    return node.items as Node[];
  }

  /**
   * A typed payload: a mapping whose one key (besides `extra` keys) is a message type, its value the payload.
   * Checked field by field against the type, then encoded when `encode` says so.
   */
  typed(
    node: Node | null,
    path: string,
    extra: readonly string[] = [],
  ): { payload: ExpectedPayload; any: Any | undefined; extras: Map<string, Entry> } | undefined {
    if (!isMap(node))
      return this.problem(node, path, 'expected a one-key mapping: Type: { field: value, … }');
    const entries = this.entries(node);
    const extras = new Map(entries.filter((e) => extra.includes(e.key)).map((e) => [e.key, e]));
    const typed = entries.filter((e) => !extra.includes(e.key));
    if (typed.length !== 1) {
      const also = extra.length > 0 ? ` (besides ${extra.join(', ')})` : '';
      return this.problem(node, path, `expected exactly one message type as key${also}, got ${typed.length}`);
    }
    const [{ key, keyNode, value }] = typed as [Entry];
    let typeName: string;
    try {
      typeName = this.context.types.resolve(key);
    } catch (err) {
      const { shortNames } = this.context.types;
      const message =
        (err as Error).message.startsWith('no message type named') && shortNames.length > 0
          ? `no message type named ${key} in the project's .proto files (known: ${shortNames.join(', ')})`
          : `${(err as Error).message}${err instanceof CliError && err.hint ? ` (${err.hint})` : ''}`;
      return this.problem(keyNode, join(path, key), message);
    }
    const schema = this.context.types.schema(typeName);
    const fieldProblems: FieldProblem[] = [];
    if (schema && value) checkMessage(schema, value, join(path, key), fieldProblems);
    for (const p of fieldProblems) this.problem(p.node, p.path, p.message);
    if (fieldProblems.length > 0) return undefined;
    const json = (value?.toJSON() ?? {}) as JsonValue;
    let any: Any | undefined;
    try {
      any = this.context.types.encode(typeName, json === null ? {} : json);
    } catch (err) {
      return this.problem(value ?? keyNode, join(path, key), (err as Error).message);
    }
    return { payload: { typeName, json: json === null ? {} : json }, any, extras };
  }

  /** A list of typed payloads, encoded (given). */
  encodedList(node: Node | null, path: string): Any[] | undefined {
    const items = this.list(node, path);
    if (!items) return undefined;
    const encoded = items.map((item, index) => this.typed(item, join(path, index))?.any);
    return encoded.every((any) => any !== undefined) ? (encoded as Any[]) : undefined;
  }

  /** A list of typed payloads, as expected (then). */
  expectedList(node: Node | null, path: string): ExpectedPayload[] | undefined {
    const items = this.list(node, path);
    if (!items) return undefined;
    const expected = items.map((item, index) => this.typed(item, join(path, index))?.payload);
    return expected.every((p) => p !== undefined) ? (expected as ExpectedPayload[]) : undefined;
  }

  error(node: Node | null, path: string): ExpectedError | undefined {
    const entries = this.mapping(node, path, ['code', 'message'], 'a mapping: { code: NAME, message: … }');
    if (!entries) return undefined;
    const codeEntry = entries.find((e) => e.key === 'code');
    if (!codeEntry)
      return this.problem(node, path, 'missing code: a gRPC status code, such as FAILED_PRECONDITION');
    const codeValue = isScalar(codeEntry.value) ? codeEntry.value.value : undefined;
    const known = STATUS_NAMES.join(', ');
    let code: number | undefined;
    if (
      typeof codeValue === 'number' &&
      STATUS_NAMES.some((n) => status[n as keyof typeof status] === codeValue)
    )
      code = codeValue;
    if (typeof codeValue === 'string' && STATUS_NAMES.includes(codeValue))
      code = status[codeValue as keyof typeof status];
    if (code === undefined) {
      return this.problem(
        codeEntry.value,
        join(path, 'code'),
        `unknown status code ${JSON.stringify(codeValue)}; known: ${known}`,
      );
    }
    const codeName = STATUS_NAMES.find((n) => status[n as keyof typeof status] === code)!;
    const messageEntry = entries.find((e) => e.key === 'message');
    if (!messageEntry) return { code, codeName };
    const text = this.string(messageEntry.value, join(path, 'message'));
    if (text === undefined) return undefined;
    const regex = /^\/(.*)\/([a-z]*)$/s.exec(text);
    if (!regex) return { code, codeName, message: text };
    try {
      return { code, codeName, message: new RegExp(regex[1]!, regex[2]) };
    } catch (err) {
      return this.problem(messageEntry.value, join(path, 'message'), (err as Error).message);
    }
  }
}

const readTarget = (reader: Reader, entries: Entry[], context: SpecContext): Target | undefined => {
  const named = entries.filter((e) => (TARGET_KINDS as readonly string[]).includes(e.key));
  if (named.length !== 1) {
    return reader.problem(
      named[1]?.keyNode,
      '',
      `expected one target, got ${named.length}: businessLogic: DOMAIN, saga: NAME or projector: NAME`,
    );
  }
  const [{ key, value }] = named as [Entry];
  const kind = key as TargetKind;
  const name = reader.string(value, key);
  if (name === undefined) return undefined;
  const known = Object.keys(targetsOf(context.config, kind));
  if (!known.includes(name) && !context.addressed.has(name)) {
    const which = known.length > 0 ? `known: ${known.join(', ')}` : 'it names none';
    // Its cases are still checked: every problem of the file at once.
    reader.problem(
      value,
      key,
      `evented.yaml has no ${configKey(kind, name)} (${which}); add it, or pass --address ${name}=HOST:PORT`,
    );
  }
  return { kind, name };
};

const thenKeys: Record<TargetKind, string[]> = {
  businessLogic: [],
  saga: ['commands', 'books'],
  projector: ['projection', 'sequence'],
};

const readSagaThen = (reader: Reader, node: Node | null, path: string): Partial<SagaCaseThen> | undefined => {
  const entries = reader.mapping(
    node,
    path,
    thenKeys.saga,
    'a mapping: { commands: […] } and/or { books: […] }',
  );
  if (!entries) return undefined;
  const result: SagaCaseThen = {};
  let ok = true;
  for (const { key, value } of entries) {
    const items = reader.list(value, join(path, key));
    if (!items) {
      ok = false;
      continue;
    }
    if (key === 'commands') {
      const commands = items.map((item, index) => {
        const read = reader.typed(item, join(join(path, key), index), ['domain', 'root']);
        if (!read) return undefined;
        const command: ExpectedCommand = { ...read.payload };
        const domain = read.extras.get('domain');
        const root = read.extras.get('root');
        if (domain)
          command.domain = reader.string(domain.value, join(join(join(path, key), index), 'domain'));
        if (root) command.root = reader.uuid(root.value, join(join(join(path, key), index), 'root'));
        return (domain && !command.domain) || (root && !command.root) ? undefined : command;
      });
      if (commands.every((c) => c !== undefined)) result.commands = commands as ExpectedCommand[];
      else ok = false;
    }
    if (key === 'books') {
      const books = items.map((item, index) => {
        const at = join(join(path, key), index);
        const fields = reader.mapping(
          item,
          at,
          ['domain', 'root', 'events'],
          'a book: { domain, root, events }',
        );
        if (!fields) return undefined;
        const book: ExpectedBook = { events: [] };
        for (const field of fields) {
          if (field.key === 'domain') book.domain = reader.string(field.value, join(at, 'domain'));
          if (field.key === 'root') book.root = reader.uuid(field.value, join(at, 'root'));
          if (field.key === 'events') {
            const events = reader.expectedList(field.value, join(at, 'events'));
            if (!events) return undefined;
            book.events = events;
          }
        }
        return book;
      });
      if (books.every((b) => b !== undefined)) result.books = books as ExpectedBook[];
      else ok = false;
    }
  }
  return ok ? result : undefined;
};

interface SagaCaseThen {
  commands?: ExpectedCommand[];
  books?: ExpectedBook[];
}

const readProjectorThen = (
  reader: Reader,
  node: Node | null,
  path: string,
): { projection?: ExpectedPayload; sequence?: number } | undefined => {
  const entries = reader.mapping(
    node,
    path,
    thenKeys.projector,
    'a mapping: { projection: { Type: {…} }, sequence: N }',
  );
  if (!entries) return undefined;
  const result: { projection?: ExpectedPayload; sequence?: number } = {};
  for (const { key, value } of entries) {
    if (key === 'projection') {
      const read = reader.typed(value, join(path, key));
      if (!read) return undefined;
      result.projection = read.payload;
    }
    if (key === 'sequence') {
      const sequence = reader.count(value, join(path, key));
      if (sequence === undefined) return undefined;
      result.sequence = sequence;
    }
  }
  return result;
};

const readCase = (
  reader: Reader,
  node: Node,
  path: string,
  target: Target,
  fileDomain: string | undefined,
  context: SpecContext,
): SpecCase | undefined => {
  const entries = reader.mapping(node, path, CASE_KEYS, 'a case: a mapping with name, given, when, then');
  if (!entries) return undefined;
  const get = (key: string): Entry | undefined => entries.find((e) => e.key === key);
  const before = reader.problems.length;

  const nameEntry = get('name');
  const name = nameEntry
    ? reader.string(nameEntry.value, join(path, 'name'))
    : reader.problem(node, path, 'missing name');
  const rootEntry = get('root');
  const root = rootEntry ? reader.uuid(rootEntry.value, join(path, 'root')) : DEFAULT_ROOT;
  const givenEntry = get('given');
  const given = givenEntry ? reader.encodedList(givenEntry.value, join(path, 'given')) : [];
  const thenEntry = get('then');
  const errorEntry = get('error');
  if (thenEntry && errorEntry)
    reader.problem(errorEntry.keyNode, join(path, 'error'), 'a case has then or error, not both');
  if (!thenEntry && !errorEntry) reader.problem(node, path, 'missing then (or error): what the case expects');
  const error = errorEntry ? reader.error(errorEntry.value, join(path, 'error')) : undefined;
  const line = reader.lineOf(node);
  const common = { name: name ?? '', line, root: root ?? DEFAULT_ROOT, given: given ?? [], error };

  if (target.kind === 'businessLogic') {
    for (const key of ['domain', 'givenFrom']) {
      const entry = get(key);
      if (entry)
        reader.problem(entry.keyNode, join(path, key), `${key} is for saga and projector cases only`);
    }
    const whenEntry = get('when');
    const when = whenEntry
      ? reader.typed(whenEntry.value, join(path, 'when'))?.any
      : reader.problem(node, path, 'missing when: the command, as Type: { field: value }');
    const events = thenEntry ? reader.expectedList(thenEntry.value, join(path, 'then')) : undefined;
    const snapshotEntry = get('snapshot');
    const snapshot = snapshotEntry
      ? reader.typed(snapshotEntry.value, join(path, 'snapshot'))?.payload
      : undefined;
    if (reader.problems.length > before || !when) return undefined;
    return { kind: 'businessLogic', ...common, when, events, snapshot };
  }

  for (const key of ['when', 'snapshot']) {
    const entry = get(key);
    if (entry) reader.problem(entry.keyNode, join(path, key), `${key} is for business logic cases only`);
  }
  const domainEntry = get('domain');
  const domain = domainEntry
    ? reader.string(domainEntry.value, join(path, 'domain'))
    : (fileDomain ?? targetsOf(context.config, target.kind)[target.name]?.[0]);
  const targetKnown = target.name in targetsOf(context.config, target.kind);
  if (domain === undefined && !domainEntry && (targetKnown || context.addressed.has(target.name))) {
    reader.problem(
      node,
      path,
      `missing domain: the domain of the given events (evented.yaml names none for ${target.name})`,
    );
  }
  const fromEntry = get('givenFrom');
  const givenFrom = fromEntry ? reader.count(fromEntry.value, join(path, 'givenFrom')) : 0;
  if (target.kind === 'saga') {
    const then = thenEntry ? readSagaThen(reader, thenEntry.value, join(path, 'then')) : {};
    if (reader.problems.length > before || !then) return undefined;
    return { kind: 'saga', ...common, domain: domain!, givenFrom: givenFrom ?? 0, ...then };
  }
  const then = thenEntry ? readProjectorThen(reader, thenEntry.value, join(path, 'then')) : {};
  if (reader.problems.length > before || !then) return undefined;
  return { kind: 'projector', ...common, domain: domain!, givenFrom: givenFrom ?? 0, ...then };
};

/** The first line of a YAML error, without the position the problem line gives anyway. */
const yamlMessage = (message: string): string =>
  message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');

/** Reads and checks one spec file: the spec, or the problems (every one found). */
export const parseSpecFile = (
  file: string,
  text: string,
  context: SpecContext,
): { spec?: SpecFile; problems: SpecProblem[] } => {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const reader = new Reader(file, lines, context);
  // The first syntax error only: the ones after it are mostly its consequences.
  const [syntax] = doc.errors;
  if (syntax) {
    const line = syntax.linePos?.[0].line ?? 1;
    return { problems: [{ file, line, key: '', message: `YAML: ${yamlMessage(syntax.message)}` }] };
  }
  const entries = reader.mapping(
    doc.contents as Node | null,
    '',
    FILE_KEYS,
    'a mapping with a target and cases',
  );
  if (!entries) return { problems: reader.problems };
  const target = readTarget(reader, entries, context);
  const domainEntry = entries.find((e) => e.key === 'domain');
  const fileDomain = domainEntry ? reader.string(domainEntry.value, 'domain') : undefined;
  const casesEntry = entries.find((e) => e.key === 'cases');
  if (!casesEntry)
    return { problems: [...reader.problems, { file, line: 1, key: '', message: 'missing cases' }] };
  const nodes = reader.list(casesEntry.value, 'cases') ?? [];
  if (!target) return { problems: reader.problems.sort((a, b) => a.line - b.line) };
  const cases = nodes.map((node, index) =>
    readCase(reader, node, `cases[${index}]`, target, fileDomain, context),
  );
  if (reader.problems.length > 0) return { problems: reader.problems.sort((a, b) => a.line - b.line) };
  return { spec: { path: file, target, cases: cases as SpecCase[] }, problems: [] };
};
