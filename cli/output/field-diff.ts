import type { JsonValue } from '@bufbuild/protobuf';

/**
 * Field-by-field comparison of two payloads in proto3's JSON mapping: what `evented test` shows for an event that
 * is not the expected one, and `evented verify` for a decision that came out differently.
 *
 * - `subset`: every field the expected value names must match; fields it does not name are not compared (a spec
 *   states what matters). Arrays are compared element by element and must have the same length.
 * - `exact`: both sides are compared whole.
 *
 * proto3's JSON leaves out fields at their default value and writes 64-bit integers as strings, so an absent
 * field equals 0, "", false, [] or {}, a number equals the same number written as a string, and a field may be
 * named as in the .proto ("to_account") or as in JSON ("toAccount").
 */

export interface FieldDifference {
  /** Where: "amount", "lines[2].price", or "" for the value itself. */
  path: string;
  /** Undefined when that side has no such field. */
  expected: JsonValue | undefined;
  actual: JsonValue | undefined;
}

export type DiffMode = 'subset' | 'exact';

type JsonObject = { [key: string]: JsonValue };

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isDefault = (value: JsonValue | undefined): boolean =>
  value === undefined ||
  value === null ||
  value === 0 ||
  value === '0' ||
  value === '' ||
  value === false ||
  (Array.isArray(value) && value.length === 0) ||
  (isObject(value) && Object.keys(value).length === 0);

const camelCase = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The field `key` of `object`, by its name as written or its JSON name. */
const fieldOf = (object: JsonObject, key: string): JsonValue | undefined =>
  key in object ? object[key] : object[camelCase(key)];

const INTEGER = /^-?\d+$/;

const sameScalar = (a: JsonValue | undefined, b: JsonValue | undefined): boolean => {
  if (isDefault(a) && isDefault(b)) return true;
  if (a === b) return true;
  const numeric = (v: JsonValue | undefined): v is number | string =>
    (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
  if (!numeric(a) || !numeric(b)) return false;
  // 64-bit integers come as strings: compared exactly, beyond what a double holds.
  const [x, y] = [String(a), String(b)];
  return INTEGER.test(x) && INTEGER.test(y) ? BigInt(x) === BigInt(y) : Number(x) === Number(y);
};

const join = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

/** The differences between `expected` and `actual`, in the order of the expected value's fields. */
export const fieldDifferences = (
  expected: JsonValue | undefined,
  actual: JsonValue | undefined,
  mode: DiffMode,
  path = '',
): FieldDifference[] => {
  if (isObject(expected) || isObject(actual)) {
    const want = isObject(expected) ? expected : isDefault(expected) ? {} : undefined;
    const got = isObject(actual) ? actual : isDefault(actual) ? {} : undefined;
    if (want === undefined || got === undefined) return [{ path, expected, actual }];
    const keys = new Set(Object.keys(want));
    if (mode === 'exact') {
      const named = new Set([...keys].map(camelCase));
      for (const key of Object.keys(got)) if (!named.has(camelCase(key))) keys.add(key);
    }
    return [...keys].flatMap((key) =>
      fieldDifferences(fieldOf(want, key), fieldOf(got, key), mode, join(path, key)),
    );
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    const want = Array.isArray(expected) ? expected : isDefault(expected) ? [] : undefined;
    const got = Array.isArray(actual) ? actual : isDefault(actual) ? [] : undefined;
    if (want === undefined || got === undefined || want.length !== got.length) {
      return [{ path, expected, actual }];
    }
    return want.flatMap((item, index) => fieldDifferences(item, got[index], mode, join(path, index)));
  }
  return sameScalar(expected, actual) ? [] : [{ path, expected, actual }];
};

/**
 * A value as the line shows it. A 64-bit integer, which proto3's JSON writes as a string, is shown as the number
 * it is when the other side is a number ("balance: expected 80, got 70", not `got "70"`).
 */
const shown = (value: JsonValue | undefined, other: JsonValue | undefined): string => {
  if (value === undefined) return '(absent)';
  if (typeof value === 'string' && typeof other === 'number' && INTEGER.test(value)) return value;
  return JSON.stringify(value);
};

/** One line per difference: `amount: expected 50, got 40`. */
export const describeDifferences = (differences: readonly FieldDifference[]): string[] =>
  differences.map(
    (d) =>
      `${d.path === '' ? 'value' : d.path}: expected ${shown(d.expected, d.actual)}, got ${shown(d.actual, d.expected)}`,
  );
