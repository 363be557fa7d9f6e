import { describe, expect, it } from 'vitest';
import { describeDifferences, fieldDifferences } from '../../cli/output/field-diff.js';

/**
 * The field-by-field comparison `evented test` shows under a failed case: a spec names the fields that matter
 * (subset), in proto3's JSON mapping, where 64-bit integers are strings and default values are left out.
 */
describe('fieldDifferences in subset mode, as described to the user', () => {
  const linesFor = (expected: object, actual: object): string[] =>
    describeDifferences(fieldDifferences(expected as never, actual as never, 'subset'));

  it('names the field that differs, a 64-bit integer shown as the number it is', () => {
    expect(linesFor({ amount: 30, balance: 80 }, { amount: '30', balance: '70' })).toEqual([
      'balance: expected 80, got 70',
    ]);
  });

  it('keeps the quotes where a string is expected, or the string is not a number', () => {
    expect(linesFor({ owner: 'ada' }, { owner: 'bob' })).toEqual(['owner: expected "ada", got "bob"']);
    expect(linesFor({ amount: 30 }, { amount: 'thirty' })).toEqual(['amount: expected 30, got "thirty"']);
  });

  it('takes an absent field as its default, and a field named as in the .proto or in JSON', () => {
    expect(linesFor({ balance: 0, to_account: 'b' }, { toAccount: 'b' })).toEqual([]);
    expect(linesFor({ balance: 5 }, {})).toEqual(['balance: expected 5, got (absent)']);
  });

  it('compares only the fields the expected value names, nested ones by their path', () => {
    expect(linesFor({ lines: [{ price: 2 }] }, { lines: [{ price: '3', name: 'x' }], other: 1 })).toEqual([
      'lines[0].price: expected 2, got 3',
    ]);
  });
});
