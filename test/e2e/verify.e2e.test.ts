import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoggedCommand } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { decodeCommand, decodeEvent } from '../../templates/typescript/src/codec.js';
import type { AccountCommand } from '../../templates/typescript/src/domain.js';
import { command, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { adminCalls } from '../helpers/clients.js';
import { assertBuilt, configYaml, runEvented, writeConfig } from '../helpers/cli.js';
import { repoRoot, typescriptTemplate } from '../helpers/paths.js';
import { startTestRuntime, storePath, type TestRuntime } from '../helpers/runtime.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `evented verify`: with the decision log on, 1,000 commands of the sample bank (deposits, withdrawals and
 * transfers over a few dozen accounts, many refused for insufficient funds) are decided again by a copy of the
 * sample whose rule allows an overdraft of up to 500 cents. Exactly the refusals that rule changes are reported
 * (worked out here from the log itself), the exit status is 1, and nothing is written to the store; the
 * unchanged business logic finds every decision the same.
 */

const ACCOUNTS = 36;
const COMMANDS = 1000;
const OVERDRAFT = 500;

interface VerifyDocument {
  summary: { checked: number; same: number; differ: number; sample: boolean; byType: { type: string }[] };
  differences: {
    command: { id: number; type: string; payload: { amount?: number } };
    stored: { outcome: string; status?: string; message?: string };
    now: { outcome: string; events?: { type: string; payload: { balance?: number | string } }[] };
    fields: { path: string }[];
  }[];
}

/** The same pseudo-random commands on every run (mulberry32). */
const seeded = (seed: number): (() => number) => {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Opens ACCOUNTS accounts, then sends deposits, withdrawals and transfers among them up to COMMANDS in all. */
const recordCommands = async (runtime: TestRuntime): Promise<void> => {
  const random = seeded(7);
  const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  const roots = Array.from({ length: ACCOUNTS }, () => newRoot());
  const send = (root: Uint8Array, next: AccountCommand): Promise<unknown> =>
    runtime.commands.handle(command(root, next)).catch(() => undefined);
  for (const root of roots) await send(root, open('ada'));
  for (let sent = ACCOUNTS; sent < COMMANDS; sent += 1) {
    const root = roots[between(0, ACCOUNTS - 1)]!;
    const dice = random();
    if (dice < 0.4) await send(root, { type: 'Deposit', amount: between(100, 2000) });
    else if (dice < 0.75) await send(root, { type: 'Withdraw', amount: between(100, 3000) });
    else {
      const toAccount = uuidFromBytes(roots[between(0, ACCOUNTS - 1)]!);
      await send(root, { type: 'TransferMoney', toAccount, amount: between(100, 3000) });
    }
  }
};

/** The refusals an overdraft of OVERDRAFT turns into acceptances: worked out from each one's command and history. */
const changedByOverdraft = (log: LoggedCommand[]): number[] =>
  log
    .filter((logged) => {
      if (logged.accepted) return false;
      const sent = decodeCommand(logged.command!.pages[0]!.command!);
      if (sent?.type !== 'Withdraw' && sent?.type !== 'TransferMoney') return false;
      const last = logged.history.at(-1);
      const state = last?.Event && decodeEvent(last.Event);
      // An account that is not open is refused for that, whatever the amount.
      if (state === undefined) return false;
      const balance = 'balance' in state ? Number(state.balance) : 0;
      return sent.amount > balance && sent.amount - balance <= OVERDRAFT;
    })
    .map((logged) => logged.id);

/** A copy of the sample business logic whose mustCover lets an account go OVERDRAFT cents below zero. */
const overdraftCopy = (): string => {
  const dir = join(tempDir(), 'overdraft');
  cpSync(typescriptTemplate, dir, { recursive: true, filter: (path) => !path.includes('node_modules') });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  const domain = join(dir, 'src/domain.ts');
  const source = readFileSync(domain, 'utf8');
  const changed = source.replace(
    'if (amount > state.balance) {',
    `if (amount > state.balance + ${OVERDRAFT}) {`,
  );
  expect(changed).not.toBe(source);
  writeFileSync(domain, changed);
  return dir;
};

/** Rows in every table of the store: what any write would change. */
const tableCounts = (projectDir: string): Record<string, number> => {
  const db = new Database(storePath(projectDir), { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all();
    return Object.fromEntries(
      tables.map(({ name }) => [
        name,
        db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM "${name}"`).get()!.n,
      ]),
    );
  } finally {
    db.close();
  }
};

beforeAll(() => assertBuilt());

describe('evented verify', () => {
  it('reports exactly the decisions a changed rule makes differently, writes nothing, and passes unchanged logic', async () => {
    // Given: the sample bank's business logic, a runtime that logs its decisions, 1,000 commands decided.
    const live = await startSampleBusinessLogic();
    const projectDir = tempDir();
    cpSync(join(typescriptTemplate, 'proto'), join(projectDir, 'proto'), { recursive: true });
    writeConfig(projectDir, configYaml({ domains: { account: { businessLogic: live.address } } }));
    const runtime = await startTestRuntime(
      { commandLog: true, domains: { account: { businessLogic: live.address } } },
      { projectDir },
    );
    await recordCommands(runtime);
    const log = await adminCalls(runtime.runtime.admin.address).commands({ withHistory: true });
    expect(log).toHaveLength(COMMANDS);
    const expected = changedByOverdraft(log);
    const refusedForFunds = log.filter((logged) => /insufficient funds/.test(logged.errorMessage));
    // The rule change matters to some refusals and not to others, so that reporting all or none would fail.
    expect(expected.length).toBeGreaterThan(5);
    expect(refusedForFunds.length).toBeGreaterThan(expected.length + 5);
    const before = tableCounts(projectDir);
    const admin = ['--address', runtime.runtime.admin.address, '--dir', projectDir];

    // When: the candidate with an overdraft of 500 decides them again.
    const candidate = await startSampleBusinessLogic({ dir: overdraftCopy() });
    const json = await runEvented(['verify', ...admin, '--business-logic', candidate.address, '--json']);

    // Then: exactly the refusals the overdraft turns into withdrawals or transfers differ; exit 1.
    expect(json.exitCode, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as VerifyDocument;
    expect(report.summary).toMatchObject({ checked: COMMANDS, differ: expected.length, sample: false });
    expect(report.summary.same).toBe(COMMANDS - expected.length);
    expect(report.differences.map((d) => d.command.id)).toEqual(expected);
    for (const difference of report.differences) {
      expect(difference.stored).toMatchObject({ outcome: 'refused', status: 'FAILED_PRECONDITION' });
      expect(difference.stored.message).toMatch(/^insufficient funds/);
      expect(difference.now.outcome).toBe('accepted');
      expect(Number(difference.now.events![0]!.payload.balance)).toBeLessThan(0);
      expect(difference.fields).toEqual([{ path: 'outcome', expected: 'refused', actual: 'accepted' }]);
    }
    expect(report.summary.byType.map((row) => row.type)).toEqual(
      expect.arrayContaining(['account.v1.Deposit', 'account.v1.Withdraw', 'account.v1.TransferMoney']),
    );

    // The same as text: each difference with its command, then the counts.
    const text = await runEvented(['verify', ...admin, '--business-logic', candidate.address]);
    expect(text.exitCode, text.stderr).toBe(1);
    expect(text.stdout).toContain(`checked 1,000 recorded commands: ${expected.length} decisions differ`);
    expect(text.stdout.match(/^decision \d+: account\//gm)).toHaveLength(expected.length);
    expect(text.stdout).toMatch(/^ {2}stored: refused FAILED_PRECONDITION: insufficient funds/m);
    expect(text.stderr).toBe('');

    // A sample: 100 of them, at random, said to be a sample; what it reports is among the expected.
    const sample = await runEvented([
      'verify',
      ...admin,
      '--business-logic',
      candidate.address,
      '--sample',
      '100',
    ]);
    expect(sample.stdout).toMatch(/^checked a random sample of 100 of 1,000 recorded commands: /m);
    const sampled = [...sample.stdout.matchAll(/^decision (\d+): /gm)].map((match) => Number(match[1]));
    expect(sample.exitCode).toBe(sampled.length > 0 ? 1 : 0);
    expect(expected).toEqual(expect.arrayContaining(sampled));

    // Nothing was written: the same rows in every table (events, the log, positions, …).
    expect(tableCounts(projectDir)).toEqual(before);

    // The business logic now running (evented.yaml's) decides everything as it was decided.
    const same = await runEvented(['verify', ...admin, '--json']);
    expect(same.exitCode, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout) as VerifyDocument).toMatchObject({
      summary: { checked: COMMANDS, same: COMMANDS, differ: 0 },
      differences: [],
    });
  });

  it('says in one line when the log is empty, the domain unknown, or the business logic not reachable', async () => {
    const live = await startSampleBusinessLogic();
    const projectDir = tempDir();
    writeConfig(projectDir, configYaml({ domains: { account: { businessLogic: live.address } } }));
    const runtime = await startTestRuntime(
      { commandLog: true, domains: { account: { businessLogic: live.address } } },
      { projectDir },
    );
    const admin = ['--address', runtime.runtime.admin.address, '--dir', projectDir];

    const empty = await runEvented(['verify', ...admin]);
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr).toMatch(/^error: no recorded commands: set commandLog: true in evented.yaml/);

    const unknown = await runEvented(['verify', ...admin, '--domain', 'cart']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/^error: unknown domain cart: evented.yaml names account\n/);

    await runtime.commands.handle(command(newRoot(), open('ada')));
    const unreachable = await runEvented(['verify', ...admin, '--business-logic', '127.0.0.1:1']);
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stderr).toMatch(
      /^error: business logic for "account" at 127\.0\.0\.1:1 is not reachable\n {2}hint: /,
    );
    expect(unreachable.stderr).not.toMatch(/\n\s+at /);
  });
});
