import type { JsonValue } from '@bufbuild/protobuf';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import { typeNameOf } from '../../runtime/protocol/payload-types.js';
import { describeDifferences, fieldDifferences } from '../output/field-diff.js';
import type { PayloadTypes } from '../protos/payloads.js';
import { shortName, type ExpectedError, type ExpectedPayload } from './spec.js';

/**
 * What a case's answer has that its spec did not expect, as differences a person reads: which event (its index
 * and type), then field by field expected vs actual (cli/output/field-diff.ts, subset match), a missing or an
 * extra event, a refusal instead of an answer or the other way round.
 */

export interface Difference {
  /** What it is about: "event 0 (MoneyWithdrawn)", "commands[1]", "error", "projection". */
  where: string;
  /** The readable line: "balance: expected 80, got 70". */
  message: string;
  /** The field's path, and both values, for a field that differs. */
  path?: string;
  expected?: JsonValue;
  actual?: JsonValue;
}

/** An answer's payload, decoded with every field (defaults included). */
export interface ActualPayload {
  typeName: string;
  json: JsonValue | undefined;
}

export const actualOf = (any: Any | undefined, types: PayloadTypes): ActualPayload | undefined =>
  any ? { typeName: typeNameOf(any.typeUrl), json: types.decodeWhole(any) } : undefined;

const shown = (payload: ActualPayload): string =>
  `${shortName(payload.typeName)} ${payload.json === undefined ? '(not among the project’s types)' : JSON.stringify(payload.json)}`;

/** One payload against its expectation: its type, then the fields the spec names. */
export const comparePayload = (
  where: string,
  expected: ExpectedPayload,
  actual: ActualPayload | undefined,
): Difference[] => {
  if (!actual) return [{ where, message: `expected ${shortName(expected.typeName)}, got none` }];
  if (actual.typeName !== expected.typeName) {
    return [{ where, message: `expected ${shortName(expected.typeName)}, got ${shown(actual)}` }];
  }
  const differences = fieldDifferences(expected.json, actual.json ?? {}, 'subset');
  const lines = describeDifferences(differences);
  return differences.map((d, index) => ({
    where: `${where} (${shortName(expected.typeName)})`,
    message: lines[index]!,
    path: d.path,
    expected: d.expected,
    actual: d.actual,
  }));
};

/** A list of payloads, in order and of the same count: `what` names an item ("event", "commands"). */
export const compareList = (
  what: (index: number) => string,
  expected: readonly ExpectedPayload[],
  actual: readonly ActualPayload[],
  compareItem: (where: string, expected: ExpectedPayload, index: number) => Difference[] = (where, e, i) =>
    comparePayload(where, e, actual[i]),
): Difference[] => {
  const differences: Difference[] = [];
  for (let index = 0; index < Math.max(expected.length, actual.length); index++) {
    const want = expected[index];
    if (want) differences.push(...compareItem(what(index), want, index));
    else differences.push({ where: what(index), message: `unexpected ${shown(actual[index]!)}` });
  }
  return differences;
};

/** A refusal the case did not expect (or another one than expected). */
export const compareError = (
  expected: ExpectedError | undefined,
  actual: { code: number; codeName: string; details: string },
): Difference[] => {
  const got = `${actual.codeName}: ${actual.details}`;
  if (!expected) return [{ where: 'error', message: `expected an answer, got the refusal ${got}` }];
  if (expected.code !== actual.code) {
    return [{ where: 'error', message: `expected the refusal ${expected.codeName}, got ${got}` }];
  }
  const { message } = expected;
  if (message === undefined) return [];
  const matches =
    typeof message === 'string' ? actual.details.includes(message) : message.test(actual.details);
  if (matches) return [];
  const wanted = typeof message === 'string' ? JSON.stringify(message) : String(message);
  return [
    {
      where: 'error',
      message: `expected a message matching ${wanted}, got ${JSON.stringify(actual.details)}`,
    },
  ];
};

/** An answer where the case expected a refusal. */
export const expectedRefusal = (expected: ExpectedError, answer: string): Difference[] => [
  { where: 'error', message: `expected the refusal ${expected.codeName}, got an answer: ${answer}` },
];
