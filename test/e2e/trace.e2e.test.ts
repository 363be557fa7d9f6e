import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { assertBuilt, runEvented } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { breakProjector, scaffoldSample } from '../helpers/sample-project.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `evented trace` as a user runs it, on the sample `evented init` makes (account domain, accounts projector,
 * transfers saga), only through the CLI: a transfer sent with a correlation id is traced from the store — the
 * command, its event, the projector having applied it, the saga, the saga's command, its event and the
 * projector again — in text and in JSON; an event the projector keeps failing on shows as a dead letter.
 */

const STACK_FRAME = /^\s+at /m;

interface DeliveryJson {
  subscriber: string;
  kind: string;
  state: string;
  appliedAt?: string;
  msAfterCommit?: number;
  tookMs?: number;
  deadLetterId?: number;
  error?: string;
  commands?: CommandJson[];
}
interface EventJson {
  position: number;
  sequence: number;
  type: string;
  committedAt: string;
  deliveries: DeliveryJson[];
}
interface CommandJson {
  commandId: string;
  commandType: string;
  domain: string;
  root: string;
  causationId: string;
  saga: string;
  at: string;
  events: EventJson[];
}
interface TreeJson {
  correlationId: string;
  events: number;
  truncated: boolean;
  commands: CommandJson[];
}

let dir: string;
const cli = async (...args: string[]) => {
  const result = await runEvented(args, { cwd: dir });
  expect(result.stderr).not.toMatch(STACK_FRAME);
  return result;
};
const traceJson = async (target: string): Promise<TreeJson> => {
  const result = await cli('trace', target, '--json');
  expect(result.exitCode, result.stdout + result.stderr).toBe(0);
  return JSON.parse(result.stdout) as TreeJson;
};
const rootOf = (stdout: string): string => /aggregate (\S+):/.exec(stdout)![1]!;

beforeAll(async () => {
  assertBuilt();
  dir = await scaffoldSample();
  breakProjector(dir);
  const config = parseDocument(readFileSync(join(dir, 'evented.yaml'), 'utf8'));
  config.setIn(['delivery'], { maxAttempts: 2, retryDelayMs: 20, maxBackoffMs: 500 });
  writeFileSync(join(dir, 'evented.yaml'), config.toString());
  const up = await runEvented(['up', '--detach'], { cwd: dir });
  expect(up.exitCode, up.stdout + up.stderr).toBe(0);
}, 180_000);
afterAll(async () => {
  if (dir) await runEvented(['down'], { cwd: dir });
});

describe('evented trace', () => {
  it('prints what a transfer set off: its event, the projector, the saga, its command, its event, the projector', async () => {
    // Given two accounts, and a transfer from ada to bob sent with a correlation id
    const ada = rootOf((await cli('send', 'account', 'new', 'OpenAccount', '{"owner":"ada"}')).stdout);
    const bob = rootOf((await cli('send', 'account', 'new', 'OpenAccount', '{"owner":"bob"}')).stdout);
    expect((await cli('send', 'account', ada, 'Deposit', '{"amount": 100}')).exitCode).toBe(0);
    const sent = await cli(
      'send',
      'account',
      ada,
      'TransferMoney',
      JSON.stringify({ toAccount: bob, amount: 30 }),
      '--correlation-id',
      'transfer-1',
    );
    expect(sent.exitCode, sent.stderr).toBe(0);

    // When it is traced, once the saga's command and the projector are through
    const tree = await eventually(async () => {
      const found = await traceJson('transfer-1');
      const received = found.commands[0]?.events[0]?.deliveries.find((d) => d.kind === 'saga')?.commands?.[0];
      expect(received?.events[0]?.deliveries.map((d) => d.state)).toEqual(['applied', 'applied']);
      return found;
    }, 30_000);

    // Then the tree is the whole story
    expect(tree).toMatchObject({ correlationId: 'transfer-1', events: 2, truncated: false });
    expect(tree.commands).toHaveLength(1);
    const [transfer] = tree.commands;
    expect(transfer).toMatchObject({
      commandType: 'account.v1.TransferMoney',
      domain: 'account',
      root: ada,
    });
    expect(transfer!.events).toHaveLength(1);
    const out = transfer!.events[0]!;
    expect(out).toMatchObject({ sequence: 2, type: 'account.v1.MoneyTransferredOut' });
    expect(out.deliveries.map((d) => [d.kind, d.subscriber, d.state])).toEqual([
      ['projector', 'accounts', 'applied'],
      ['saga', 'transfers', 'applied'],
    ]);
    for (const delivery of out.deliveries) {
      expect(Date.parse(delivery.appliedAt!)).toBeGreaterThanOrEqual(Date.parse(out.committedAt));
      expect(delivery.msAfterCommit).toBeGreaterThanOrEqual(0);
    }
    const saga = out.deliveries[1]!;
    expect(saga.commands).toHaveLength(1);
    const receive = saga.commands![0]!;
    expect(receive).toMatchObject({
      commandType: 'account.v1.ReceiveTransfer',
      domain: 'account',
      root: bob,
      saga: 'transfers',
      causationId: `account/${ada}/2`,
    });
    expect(receive.events.map((e) => [e.sequence, e.type])).toEqual([[1, 'account.v1.TransferReceived']]);
    expect(receive.events[0]!.position).toBeGreaterThan(out.position);

    // … the same in text: indented, with times after the commit
    const text = await cli('trace', 'transfer-1');
    expect(text.exitCode).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^correlation transfer-1: 2 events on \d{4}-\d\d-\d\d \(UTC\)$/);
    expect(
      lines.slice(1).map((line) => line.replace(/\d\d:\d\d:\d\d\.\d{3}|\+\d+ ms|call \d+ ms|id \S+/g, '…')),
    ).toEqual([
      `command account.v1.TransferMoney → account/${ada}  …  …`,
      `  #${out.position} account.v1.MoneyTransferredOut (seq 2)  …`,
      `    ✓ projector accounts: applied … (…)`,
      `    ✓ saga transfers: applied … (…)`,
      `      command account.v1.ReceiveTransfer → account/${bob} (saga transfers)  …  …`,
      `        #${receive.events[0]!.position} account.v1.TransferReceived (seq 1)  …`,
      `          ✓ projector accounts: applied … (…)`,
      `          ✓ saga transfers: applied … (…)`,
    ]);

    // … and an event of it names the same correlation; from elsewhere, with --address, the same
    expect(await traceJson(`account/${bob}/1`)).toEqual(await traceJson('transfer-1'));
    const adminPort = parseDocument(readFileSync(join(dir, 'evented.yaml'), 'utf8')).getIn(['admin', 'port']);
    const remote = await runEvented(['trace', 'transfer-1', '--address', `127.0.0.1:${String(adminPort)}`], {
      cwd: tempDir(),
    });
    expect({ exitCode: remote.exitCode, stdout: remote.stdout }).toEqual({
      exitCode: 0,
      stdout: text.stdout,
    });
  }, 120_000);

  it('marks the event the projector keeps failing on as a dead letter, and when it was retried', async () => {
    const carol = rootOf((await cli('send', 'account', 'new', 'OpenAccount', '{"owner":"carol"}')).stdout);
    await cli('send', 'account', carol, 'Deposit', '{"amount": 13}', '--correlation-id', 'poison-1');

    const tree = await eventually(async () => {
      const found = await traceJson('poison-1');
      expect(found.commands[0]!.events[0]!.deliveries[0]!.state).toBe('dead-lettered');
      return found;
    }, 30_000);
    const [projector, saga] = tree.commands[0]!.events[0]!.deliveries;
    expect(projector).toMatchObject({
      subscriber: 'accounts',
      error: expect.stringContaining('the projector cannot take a deposit of 13') as unknown,
    });
    expect(projector!.deadLetterId).toBeGreaterThan(0);
    expect(saga).toMatchObject({ subscriber: 'transfers', state: 'applied' });

    const text = await cli('trace', 'poison-1');
    expect(text.stdout).toMatch(
      new RegExp(
        `✗ projector accounts: DEAD LETTER #${projector!.deadLetterId}: .*the projector cannot take a deposit of 13`,
      ),
    );

    // Once the projector is fixed and the letter retried, the trace says so, with the call that delivered it
    rmSync(join(dir, 'refuse-13'));
    const retry = await cli('dlq', 'retry', String(projector!.deadLetterId));
    expect(retry.exitCode, retry.stdout + retry.stderr).toBe(0);
    const retried = (await traceJson('poison-1')).commands[0]!.events[0]!.deliveries[0]!;
    expect(retried).toMatchObject({ state: 'retried', deadLetterId: projector!.deadLetterId });
    expect(retried.msAfterCommit).toBeGreaterThan(0);
    expect((await cli('trace', 'poison-1')).stdout).toMatch(
      new RegExp(`✓ projector accounts: dead letter #${projector!.deadLetterId} retried \\+\\d+ ms`),
    );
  }, 120_000);

  it('says in one line that a correlation is unknown (exit 1), and that an argument is not one (usage)', async () => {
    const unknown = await cli('trace', 'no-such-correlation');
    expect({ exitCode: unknown.exitCode, stdout: unknown.stdout }).toEqual({ exitCode: 1, stdout: '' });
    expect(unknown.stderr).toBe('error: no event of correlation "no-such-correlation" in the store\n');

    const bad = await cli('trace', 'account/not-a-uuid/1');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe(
      'error: account/not-a-uuid/1: not an event: expected DOMAIN/UUID/SEQUENCE',
    );
  });
});
