import { status } from '@grpc/grpc-js';
import { ScalarType, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { Document, isMap, isSeq, type Node } from 'yaml';
import type { LoggedCommand } from '../../runtime/protocol/gen/evented/evented.js';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import { typeNameOf } from '../../runtime/protocol/payload-types.js';
import { timestampToIso } from '../../runtime/protocol/timestamp.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { CliError } from '../errors.js';
import type { PayloadTypes } from '../protos/payloads.js';
import { shortName } from './spec.js';

/**
 * `evented test --record`: an aggregate's real history, from the decision log, as a spec file — one case per
 * recorded command: `given` the events it was decided on, `when` the command, `then` the events it produced (every
 * field, defaults included) or `error` its refusal. So a decision seen in production becomes a regression test in
 * one command; edit `then` to what it should have been, and `evented test` fails until the business logic agrees.
 */

/** The name a spec gives a type: its short name when no other of the project's types has it, else the full one. */
const specTypeName = (typeName: string, types: PayloadTypes): string => {
  const short = shortName(typeName);
  try {
    return types.resolve(short) === typeName ? short : typeName;
  } catch {
    return typeName;
  }
};

const INT64 = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

/** A 64-bit integer (a string in proto3's JSON) as a number when a double holds it exactly: a spec reads better. */
const readable = (schema: DescMessage | undefined, json: JsonValue): JsonValue => {
  if (schema === undefined || typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const out: Record<string, JsonValue> = { ...json };
  for (const field of schema.fields) {
    const value = out[field.jsonName];
    if (value === undefined) continue;
    const number = (v: JsonValue): JsonValue =>
      typeof v === 'string' && Number.isSafeInteger(Number(v)) && /^-?\d+$/.test(v) ? Number(v) : v;
    if (field.fieldKind === 'scalar' && INT64.has(field.scalar)) out[field.jsonName] = number(value);
    else if (field.fieldKind === 'list' && field.listKind === 'scalar' && INT64.has(field.scalar)) {
      out[field.jsonName] = Array.isArray(value) ? value.map(number) : value;
    } else if (field.fieldKind === 'message') out[field.jsonName] = readable(field.message, value);
    else if (field.fieldKind === 'list' && field.listKind === 'message' && Array.isArray(value)) {
      out[field.jsonName] = value.map((item) => readable(field.message, item));
    }
  }
  return out;
};

/** One payload as a spec writes it: `{ Type: { …fields } }`, every field written. */
const entryOf = (any: Any | undefined, types: PayloadTypes, what: string): Record<string, JsonValue> => {
  if (any === undefined) throw new CliError(`${what} has no payload: a spec cannot state it`);
  const typeName = typeNameOf(any.typeUrl);
  const json = types.decodeWhole(any);
  if (json === undefined) {
    throw new CliError(
      `${what} is a ${typeName}, which the project's .proto files do not define (or whose bytes do not parse)`,
      'record in the project folder whose proto/ defines the types the business logic uses',
    );
  }
  return { [specTypeName(typeName, types)]: readable(types.schema(typeName), json) };
};

/** A status code's name (9 → FAILED_PRECONDITION). */
const codeName = (code: number): string =>
  Object.entries(status).find(([, value]) => value === code)?.[0] ?? String(code);

/** A refusal's message as a spec matches it: the whole text (a regex, escaped, when it looks like one). */
const messageMatcher = (message: string): string =>
  message.startsWith('/') ? `/^${message.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$/` : message;

const caseOf = (logged: LoggedCommand, types: PayloadTypes): Record<string, unknown> => {
  const page = logged.command?.pages[0];
  const commandType = page?.command ? shortName(typeNameOf(page.command.typeUrl)) : 'command';
  const at = logged.decidedAt ? timestampToIso(logged.decidedAt) : 'an unknown time';
  const outcome = logged.accepted
    ? `${logged.events.length} event${logged.events.length === 1 ? '' : 's'}`
    : `refused ${codeName(logged.errorCode)}`;
  const where = `command #${logged.id}`;
  return {
    name: `#${logged.id} ${commandType} at ${at}: ${outcome}`,
    root: uuidFromBytes(logged.command?.cover?.root?.value ?? new Uint8Array(16)),
    given: logged.history.map((event, index) =>
      entryOf(event.Event, types, `event ${index} before ${where}`),
    ),
    when: entryOf(page?.command, types, where),
    ...(logged.accepted
      ? {
          then: logged.events.map((event, index) =>
            entryOf(event.Event, types, `event ${index} of ${where}`),
          ),
        }
      : {
          error: {
            code: codeName(logged.errorCode),
            ...(logged.errorMessage && { message: messageMatcher(logged.errorMessage) }),
          },
        }),
  };
};

/** `{ Type: { …fields } }` with its fields on one line: a case reads as given/when/then. */
const flowPayloadMap = (entry: Node): void => {
  if (!isMap(entry)) return;
  for (const pair of entry.items) if (isMap(pair.value) || isSeq(pair.value)) pair.value.flow = true;
};

/**
 * The spec file for `commands` (one aggregate's, oldest first), as YAML text with a header saying where it came
 * from. `source` is what was recorded (DOMAIN/ROOT).
 */
export const recordedSpec = (
  domain: string,
  source: string,
  commands: readonly LoggedCommand[],
  types: PayloadTypes,
  now: Date = new Date(),
): string => {
  const cases = commands.map((logged) => caseOf(logged, types));
  const doc = new Document({ businessLogic: domain, cases });
  doc.commentBefore =
    ` Recorded by \`evented test --record ${source}\` on ${now.toISOString()} from the decision log:\n` +
    ` what the business logic decided then, each command on the events it was decided on.\n` +
    ` Edit \`then\` or \`error\` to what it should decide, and \`evented test\` checks it.`;
  for (const item of (doc.get('cases') as { items: Node[] }).items) {
    if (!isMap(item)) continue;
    for (const key of ['given', 'then']) {
      const list = item.get(key, true) as Node | undefined;
      if (isSeq(list)) list.items.forEach((entry) => isMap(entry) && flowPayloadMap(entry));
    }
    const when = item.get('when', true) as Node | undefined;
    if (isMap(when)) flowPayloadMap(when);
  }
  return doc.toString({ lineWidth: 0 });
};
