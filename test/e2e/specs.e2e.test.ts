import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { acceptsConnections } from '../../runtime/support/net.js';
import { assertBuilt, evented, runEvented } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { scaffoldSample } from '../helpers/sample-project.js';

/**
 * `evented test` on the TypeScript sample, as a user runs it (the CLI a real process, the sample's services real
 * gRPC servers it starts from evented.yaml `processes`): the specs the template ships pass; a spec expecting the
 * wrong event fails with the field that differs, in text, JSON and JUnit XML; a target that does not answer
 * fails its cases in one line; mistakes in spec files are one line each, and nothing runs.
 */

const STACK_FRAME = /^\s+at /m;

let dir: string;
let readyOn: string[];

beforeAll(async () => {
  assertBuilt();
  dir = await scaffoldSample();
  const processes = parseDocument(readFileSync(join(dir, 'evented.yaml'), 'utf8')).toJS().processes as Record<
    string,
    { readyOn: string }
  >;
  readyOn = Object.values(processes).map((p) => p.readyOn);
}, 60_000);

const cli = async (...args: string[]) => {
  const result = await runEvented(['test', ...args], { cwd: dir });
  expect(result.stderr).not.toMatch(STACK_FRAME);
  return result;
};

const nothingListens = async (): Promise<void> => {
  for (const address of readyOn) expect(await acceptsConnections(address, 500), address).toBe(false);
};

describe('the specs the sample ships', () => {
  it('pass: evented test starts the services from evented.yaml processes, and stops them afterwards', async () => {
    await nothingListens();
    const run = await cli();
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stderr.split('\n').filter(Boolean)).toEqual([
      'starting business-logic (evented.yaml processes; its log: .evented/logs/business-logic.log)',
      'starting projector (evented.yaml processes; its log: .evented/logs/projector.log)',
      'starting saga (evented.yaml processes; its log: .evented/logs/saga.log)',
    ]);
    const lines = run.stdout.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'specs/account/withdrawals.yaml (business logic of account)',
        '  ✓ an overdraft is refused',
        'specs/account/transfers-saga.yaml (saga transfers)',
        '  ✓ a transfer out becomes a ReceiveTransfer for the receiver',
        'specs/account/accounts-projector.yaml (projector accounts)',
        "  ✓ the read model follows an account's events",
      ]),
    );
    expect(lines.filter((line) => line.startsWith('  ✗'))).toEqual([]);
    expect(run.stdout).toMatch(/^16 passed, 0 failed \(\d+\.\d s\)$/m);
    await nothingListens();
  }, 120_000);
});

describe('Ctrl-C', () => {
  it('while the services start: stops the ones started, exit 130', async () => {
    const run = evented(['test'], { cwd: dir });
    await run.waitFor(/^starting saga /m, 30_000);
    expect(await run.stop('SIGINT')).toEqual({ exitCode: 130, signal: undefined });
    expect(run.output()).not.toMatch(STACK_FRAME);
    await nothingListens();
  }, 60_000);
});

describe('a spec that expects the wrong event', () => {
  const WRONG = `businessLogic: account
cases:
  - name: a withdrawal leaves 80
    given:
      - AccountOpened: { owner: ada }
      - MoneyDeposited: { amount: 100, balance: 100 }
    when:
      Withdraw: { amount: 30 }
    then:
      - MoneyWithdrawn: { amount: 30, balance: 80 }
  - name: a deposit is refused
    given:
      - AccountOpened: { owner: ada }
    when:
      Deposit: { amount: 5 }
    error: { code: FAILED_PRECONDITION }
`;

  beforeAll(() => writeFileSync(join(dir, 'specs/wrong.yaml'), WRONG));

  it('fails (exit 1) with the event, then the field that differs, expected vs actual', async () => {
    const run = await cli('wrong');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      [
        'specs/wrong.yaml (business logic of account)',
        '  ✗ a withdrawal leaves 80',
        '      event 0 (MoneyWithdrawn)',
        '        balance: expected 80, got 70',
        '  ✗ a deposit is refused',
        '      error: expected the refusal FAILED_PRECONDITION, got an answer: MoneyDeposited',
        '',
      ].join('\n'),
    );
    expect(run.stdout).toMatch(/^0 passed, 2 failed \(\d+\.\d s\)$/m);
    await nothingListens();
  }, 60_000);

  it('with --json, prints one document: each case with its file, target, result and differences', async () => {
    const run = await cli('wrong', '--json');
    expect(run.exitCode).toBe(1);
    const report = JSON.parse(run.stdout) as { passed: number; failed: number; cases: unknown[] };
    expect(report).toMatchObject({ passed: 0, failed: 2 });
    expect(report.cases[0]).toEqual({
      file: 'specs/wrong.yaml',
      name: 'a withdrawal leaves 80',
      target: { kind: 'businessLogic', name: 'account' },
      passed: false,
      differences: [
        {
          where: 'event 0 (MoneyWithdrawn)',
          message: 'balance: expected 80, got 70',
          path: 'balance',
          expected: 80,
          actual: '70',
        },
      ],
    });
  }, 60_000);

  it('with --junit FILE, writes a testsuite per file and a testcase per case, a failure holding the diff', async () => {
    const run = await cli('--junit', 'results.xml');
    expect(run.exitCode).toBe(1);
    const xml = readFileSync(join(dir, 'results.xml'), 'utf8');
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="evented test" tests="18" failures="2"/,
    );
    const suites = [...xml.matchAll(/<testsuite name="([^"]+)" tests="(\d+)" failures="(\d+)">/g)].map((m) =>
      m.slice(1),
    );
    expect(suites).toEqual(
      expect.arrayContaining([
        ['specs/account/withdrawals.yaml', '3', '0'],
        ['specs/wrong.yaml', '2', '2'],
      ]),
    );
    expect(suites).toHaveLength(7);
    expect(xml).toContain(
      [
        '    <testcase classname="specs/wrong.yaml" name="a withdrawal leaves 80">',
        '      <failure message="event 0 (MoneyWithdrawn)">event 0 (MoneyWithdrawn)',
        '  balance: expected 80, got 70</failure>',
        '    </testcase>',
      ].join('\n'),
    );
    expect(xml).toContain(
      '<testcase classname="specs/account/opening.yaml" name="an account opens only once"/>',
    );
  }, 120_000);
});

describe('a target that does not answer', () => {
  it('fails every case of its file with the connection error, one line each, and starts nothing for it', async () => {
    const nowhere = `127.0.0.1:${await freePort()}`;
    const run = await cli('deposits', '--address', `account=${nowhere}`);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe('');
    const failure = `      target: cannot reach the business logic of account at ${nowhere} (nothing answered within 5 s)`;
    expect(run.stdout.split('\n').filter((line) => line.startsWith('      '))).toEqual([
      failure,
      failure,
      failure,
    ]);
    expect(run.stdout).toMatch(/^0 passed, 3 failed/m);
  }, 60_000);
});

describe('spec files with mistakes', () => {
  it('are refused before anything runs (exit 2): one line per mistake, naming file, line and key', async () => {
    writeFileSync(
      join(dir, 'specs/broken.yaml'),
      `businessLogic: account
cases:
  - name: typos
    given:
      - AccountOpend: { owner: ada }
    when:
      Deposit: { amout: 5 }
    then:
      - MoneyDeposited: { amount: ten }
`,
    );
    writeFileSync(
      join(dir, 'specs/syntax.yaml'),
      'businessLogic: account\ncases:\n  - name: x\n    when: { a: [1 }\n',
    );
    const run = await cli();
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(
      /^specs\/broken\.yaml:5: cases\[0\]\.given\[0\]\.AccountOpend: no message type named AccountOpend in the project's \.proto files \(known: .*\bAccountOpened\b.*\)$/,
    );
    expect(lines.slice(1)).toEqual([
      'specs/broken.yaml:7: cases[0].when.Deposit.amout: account.v1.Deposit has no field "amout"',
      'specs/broken.yaml:9: cases[0].then[0].MoneyDeposited.amount: expected a whole number (int64), got "ten"',
      expect.stringMatching(/^specs\/syntax\.yaml:4: YAML: /),
      '4 problems in the spec files: nothing was run',
    ]);
    await nothingListens();
  }, 60_000);
});
