import { ScalarType, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { isMap, isScalar, isSeq, type Node } from 'yaml';

/**
 * Checks a payload written in a spec (a YAML node, in proto3's JSON mapping) against its message type, field by
 * field, so that a misspelt field or a value of the wrong type is reported at its own line and key
 * (`…MoneyDeposited.amout: account.v1.MoneyDeposited has no field "amout"`) rather than as one error for the
 * whole payload. What it lets through is then encoded by proto3's own JSON parser, which has the last word.
 */

/** One mistake: the node it is at, the key path below the payload, and what is wrong. */
export interface FieldProblem {
  node: Node;
  path: string;
  message: string;
}

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$|^(NaN|-?Infinity)$/;

const INTEGERS = new Set([
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.FIXED32,
  ScalarType.FIXED64,
  ScalarType.SFIXED32,
  ScalarType.SFIXED64,
]);

const scalarName = (type: ScalarType): string => ScalarType[type].toLowerCase();

/** What is wrong with `value` as a scalar of `type`, or undefined. null is a field at its default. */
const scalarProblem = (type: ScalarType, value: unknown): string | undefined => {
  if (value === null) return undefined;
  const got = `got ${JSON.stringify(value)}`;
  if (INTEGERS.has(type)) {
    const whole =
      (typeof value === 'number' && Number.isInteger(value)) ||
      (typeof value === 'string' && INTEGER.test(value));
    return whole ? undefined : `expected a whole number (${scalarName(type)}), ${got}`;
  }
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return typeof value === 'number' || (typeof value === 'string' && NUMBER.test(value))
        ? undefined
        : `expected a number (${scalarName(type)}), ${got}`;
    case ScalarType.BOOL:
      return typeof value === 'boolean' ? undefined : `expected true or false, ${got}`;
    case ScalarType.BYTES:
      return typeof value === 'string' ? undefined : `expected base64 text (bytes), ${got}`;
    default:
      return typeof value === 'string' ? undefined : `expected a string, ${got}`;
  }
};

const enumProblem = (type: DescEnum, value: unknown): string | undefined => {
  if (value === null || (typeof value === 'number' && Number.isInteger(value))) return undefined;
  if (typeof value === 'string' && type.values.some((v) => v.name === value)) return undefined;
  const names = type.values.map((v) => v.name).join(', ');
  return `expected one of ${names} (${type.typeName}), got ${JSON.stringify(value)}`;
};

const join = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

/** A value of one element type: a scalar, an enum, or a message (checked in turn). */
const checkValue = (
  node: Node,
  path: string,
  kind: { scalar?: ScalarType; enum?: DescEnum; message?: DescMessage },
  problems: FieldProblem[],
): void => {
  if (kind.message) return checkMessage(kind.message, node, path, problems);
  const value = isScalar(node) ? node.value : undefined;
  if (!isScalar(node)) {
    problems.push({ node, path, message: 'expected a single value, got a list or a mapping' });
    return;
  }
  const message = kind.enum ? enumProblem(kind.enum, value) : scalarProblem(kind.scalar!, value);
  if (message) problems.push({ node, path, message });
};

const checkField = (field: DescField, node: Node, path: string, problems: FieldProblem[]): void => {
  if (isScalar(node) && node.value === null) return;
  switch (field.fieldKind) {
    case 'scalar':
      return checkValue(node, path, { scalar: field.scalar }, problems);
    case 'enum':
      return checkValue(node, path, { enum: field.enum }, problems);
    case 'message':
      return checkValue(node, path, { message: field.message }, problems);
    case 'list': {
      if (!isSeq(node)) {
        problems.push({ node, path, message: `expected a list (repeated ${field.name})` });
        return;
      }
      const element = { scalar: field.scalar, enum: field.enum, message: field.message };
      node.items.forEach((item, index) => checkValue(item as Node, join(path, index), element, problems));
      return;
    }
    case 'map': {
      if (!isMap(node)) {
        problems.push({ node, path, message: `expected a mapping (map field ${field.name})` });
        return;
      }
      const element = { scalar: field.scalar, enum: field.enum, message: field.message };
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        if (pair.value) checkValue(pair.value as Node, join(path, key), element, problems);
      }
    }
  }
};

/**
 * The problems of `node` as a `schema` message. Well-known types (Timestamp, Duration, Struct, …) have JSON
 * forms of their own and are left to the encoder.
 */
export const checkMessage = (
  schema: DescMessage,
  node: Node,
  path: string,
  problems: FieldProblem[],
): void => {
  if (schema.typeName.startsWith('google.protobuf.')) return;
  if (isScalar(node) && node.value === null) return;
  if (!isMap(node)) {
    problems.push({ node, path, message: `expected the fields of ${schema.typeName} as a mapping` });
    return;
  }
  for (const pair of node.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : '?';
    const field = schema.fields.find((f) => f.name === key || f.jsonName === key);
    if (!field) {
      problems.push({
        node: keyNode,
        path: join(path, key),
        message: `${schema.typeName} has no field "${key}"`,
      });
    } else if (pair.value) {
      checkField(field, pair.value as Node, join(path, key), problems);
    }
  }
};
