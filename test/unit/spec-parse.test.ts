import { describe, expect, it } from 'vitest';
import { configSchema } from '../../runtime/config/schema.js';
import { loadPayloadTypes } from '../../cli/protos/payloads.js';
import { formatProblem, parseSpecFile } from '../../cli/specs/parse.js';
import { typescriptTemplate } from '../helpers/paths.js';

/**
 * Reading spec files (`evented test`): everything is checked before anything runs, against evented.yaml and the
 * project's .proto files (the TypeScript sample's account.v1), and every mistake is one line with file, line, key.
 */

const config = configSchema.parse({
  domains: { account: { businessLogic: '127.0.0.1:1737' } },
  projectors: { accounts: { address: '127.0.0.1:1738', domains: ['account'] } },
  sagas: { transfers: { address: '127.0.0.1:1749', domains: ['account'] } },
});
const types = loadPayloadTypes(typescriptTemplate);

const parse = (text: string, addressed: string[] = []) =>
  parseSpecFile('specs/x.yaml', text, { types, config, addressed: new Set(addressed) });

const problemsOf = (text: string, addressed: string[] = []): string[] =>
  parse(text, addressed).problems.map(formatProblem);

describe('a spec file without mistakes', () => {
  it('gives its cases: payloads encoded, expectations kept as JSON, defaults for root and domain', () => {
    const { spec, problems } = parse(`saga: transfers
cases:
  - name: out becomes in
    givenFrom: 2
    given:
      - MoneyTransferredOut: { to_account: 00000000-0000-4000-8000-000000000002, amount: 30, balance: 70 }
    then:
      commands:
        - { domain: account, root: 00000000-0000-4000-8000-000000000002, ReceiveTransfer: { fromAccount: x, amount: "30" } }
`);
    expect(problems).toEqual([]);
    expect(spec!.target).toEqual({ kind: 'saga', name: 'transfers' });
    const [only] = spec!.cases;
    expect(only).toMatchObject({
      kind: 'saga',
      name: 'out becomes in',
      line: 3,
      root: '00000000-0000-4000-8000-000000000001',
      domain: 'account',
      givenFrom: 2,
      commands: [
        {
          typeName: 'account.v1.ReceiveTransfer',
          json: { fromAccount: 'x', amount: '30' },
          domain: 'account',
          root: '00000000-0000-4000-8000-000000000002',
        },
      ],
    });
    expect(only!.given.map((any) => types.decode(any))).toEqual([
      { toAccount: '00000000-0000-4000-8000-000000000002', amount: '30', balance: '70' },
    ]);
  });

  it('reads an error by code name or number, its message as a substring or a /regular expression/', () => {
    const { spec } = parse(`businessLogic: account
cases:
  - { name: a, when: { Deposit: { amount: 1 } }, error: { code: FAILED_PRECONDITION, message: not open } }
  - { name: b, when: { Deposit: { amount: 1 } }, error: { code: 3, message: /^amount/i } }
`);
    expect(spec!.cases.map((c) => c.error)).toEqual([
      { code: 9, codeName: 'FAILED_PRECONDITION', message: 'not open' },
      { code: 3, codeName: 'INVALID_ARGUMENT', message: /^amount/i },
    ]);
  });
});

describe('a spec file with mistakes', () => {
  it('names an unknown target with the known ones, and still checks its cases', () => {
    expect(problemsOf('saga: payments\ncases:\n  - { name: a, given: [{ Nope: {} }], then: {} }\n')).toEqual([
      'specs/x.yaml:1: saga: evented.yaml has no sagas.payments.address (known: transfers); add it, or pass --address payments=HOST:PORT',
      expect.stringMatching(/^specs\/x\.yaml:3: cases\[0\]\.given\[0\]\.Nope: no message type named Nope/),
    ]);
  });

  it('takes a target that evented.yaml lacks when --address names it', () => {
    expect(problemsOf('businessLogic: ledger\ncases: []\n', ['ledger'])).toEqual([]);
  });

  it('names a missing when, then and error together, an unknown status code, an unknown key', () => {
    expect(
      problemsOf(`businessLogic: account
cases:
  - name: both
    when: { Deposit: { amount: 1 } }
    then: []
    error: { code: FAILED }
  - name: no when
    then: []
    thne: []
`),
    ).toEqual([
      'specs/x.yaml:6: cases[0].error: a case has then or error, not both',
      expect.stringMatching(
        /^specs\/x\.yaml:6: cases\[0\]\.error\.code: unknown status code "FAILED"; known: OK, CANCELLED, .*FAILED_PRECONDITION/,
      ),
      'specs/x.yaml:7: cases[1]: missing when: the command, as Type: { field: value }',
      'specs/x.yaml:9: cases[1].thne: unknown key; expected one of name, root, domain, given, givenFrom, when, then, error, snapshot',
    ]);
  });

  it('names a field the message lacks and a value of the wrong type, at their own line', () => {
    expect(
      problemsOf(`businessLogic: account
cases:
  - name: typos
    when:
      Deposit:
        amout: 5
    then:
      - AccountOpened:
          owner: 12
`),
    ).toEqual([
      'specs/x.yaml:6: cases[0].when.Deposit.amout: account.v1.Deposit has no field "amout"',
      'specs/x.yaml:9: cases[0].then[0].AccountOpened.owner: expected a string, got 12',
    ]);
  });

  it('names a YAML syntax error once, at its line', () => {
    expect(problemsOf('businessLogic: account\ncases:\n  - name: [a\n')).toEqual([
      expect.stringMatching(/^specs\/x\.yaml:\d: YAML: /),
    ]);
  });
});
