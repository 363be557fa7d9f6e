import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { randomUuidBytes, uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { assertBuilt, runEvented } from '../helpers/cli.js';
import { scaffoldSample } from '../helpers/sample-project.js';

/**
 * `evented test --record`: with the decision log on (`commandLog: true`), an account's real commands — accepted
 * and refused — become a spec file in one command, and that file passes `evented test` against the business
 * logic that decided them; changed to say what should have happened instead, it fails. It never overwrites a
 * file, and says in one line when there is nothing recorded.
 */

const STACK_FRAME = /^\s+at /m;
let dir: string;

const cli = async (...args: string[]) => {
  const result = await runEvented(args, { cwd: dir });
  expect(result.stderr).not.toMatch(STACK_FRAME);
  return result;
};
const rootOf = (stdout: string): string => /aggregate (\S+):/.exec(stdout)![1]!;

beforeAll(async () => {
  assertBuilt();
  dir = await scaffoldSample();
  const config = parseDocument(readFileSync(join(dir, 'evented.yaml'), 'utf8'));
  config.set('commandLog', true);
  writeFileSync(join(dir, 'evented.yaml'), config.toString());
  const up = await runEvented(['up', '--detach'], { cwd: dir });
  expect(up.exitCode, up.stdout + up.stderr).toBe(0);
}, 180_000);
afterAll(async () => {
  if (dir) await runEvented(['down'], { cwd: dir });
});

describe('evented test --record', () => {
  it("turns an account's last commands into a spec that passes, and fails once it says otherwise", async () => {
    // Given an account with a history: opened, a deposit, a withdrawal, and a withdrawal refused
    const root = rootOf((await cli('send', 'account', 'new', 'OpenAccount', '{"owner": "ada"}')).stdout);
    expect((await cli('send', 'account', root, 'Deposit', '{"amount": 100}')).exitCode).toBe(0);
    expect((await cli('send', 'account', root, 'Withdraw', '{"amount": 30}')).exitCode).toBe(0);
    expect((await cli('send', 'account', root, 'Withdraw', '{"amount": 500}')).exitCode).toBe(1);

    // When its last three commands are recorded
    const recorded = await cli('test', '--record', `account/${root}`, '--last', '3');
    expect(recorded.exitCode, recorded.stdout + recorded.stderr).toBe(0);
    const file = `specs/recorded/account-${root}.yaml`;
    expect(recorded.stdout).toMatch(
      new RegExp(`^wrote ${file}: 3 cases from the decision log \\(#\\d+, #\\d+, #\\d+\\)\\n`),
    );

    // Then the file holds each command on the events it was decided on, and what was decided
    const spec = parseDocument(readFileSync(join(dir, file), 'utf8')).toJS() as {
      businessLogic: string;
      cases: { root: string; given: unknown[]; when: unknown; then?: unknown[]; error?: unknown }[];
    };
    expect(spec.businessLogic).toBe('account');
    expect(spec.cases.map((c) => [c.root, c.given.length, c.when])).toEqual([
      [root, 1, { Deposit: { amount: 100 } }],
      [root, 2, { Withdraw: { amount: 30 } }],
      [root, 3, { Withdraw: { amount: 500 } }],
    ]);
    expect(spec.cases[0]!.given).toEqual([{ AccountOpened: { owner: 'ada' } }]);
    expect(spec.cases[1]!.then).toEqual([{ MoneyWithdrawn: { amount: 30, balance: 70 } }]);
    expect(spec.cases[2]!.error).toEqual({
      code: 'FAILED_PRECONDITION',
      message: 'insufficient funds: the balance is 70, the withdrawal is 500',
    });

    // … and it passes against the business logic that decided them
    const passed = await cli('test', 'recorded');
    expect(passed.exitCode, passed.stdout + passed.stderr).toBe(0);
    expect(passed.stdout).toMatch(/^3 passed, 0 failed /m);

    // Once it says the refused withdrawal should have been accepted, it fails, naming what differs
    const path = join(dir, file);
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace(
        /error:\n\s+code: FAILED_PRECONDITION\n\s+message: .*\n/,
        'then:\n      - MoneyWithdrawn: { amount: 500, balance: -430 }\n',
      ),
    );
    const failed = await cli('test', 'recorded');
    expect(failed.exitCode, failed.stdout + failed.stderr).toBe(1);
    expect(failed.stdout).toContain('FAILED_PRECONDITION');
    expect(failed.stdout).toMatch(/^2 passed, 1 failed /m);
  }, 120_000);

  it('never overwrites a file, and says so in one line when nothing is recorded', async () => {
    const root = rootOf((await cli('send', 'account', 'new', 'OpenAccount', '{"owner": "bob"}')).stdout);
    const out = join(dir, 'bob.yaml');
    expect((await cli('test', '--record', `account/${root}`, '--out', out)).exitCode).toBe(0);
    const before = readFileSync(out, 'utf8');
    const again = await cli('test', '--record', `account/${root}`, '--out', out);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`${out} is there already: evented test --record never overwrites a file`);
    expect(readFileSync(out, 'utf8')).toBe(before);

    const unknown = uuidFromBytes(randomUuidBytes());
    const none = await cli('test', '--record', `account/${unknown}`);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain(`no recorded command for account/${unknown} in the decision log`);
    expect(existsSync(join(dir, `specs/recorded/account-${unknown}.yaml`))).toBe(false);

    const bad = await cli('test', '--record', 'account');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--record account: expected DOMAIN/UUID');
  }, 60_000);
});
