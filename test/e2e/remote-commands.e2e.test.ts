import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleServices } from '../helpers/business-logic.js';
import {
  assertBuilt,
  configYaml,
  evented,
  freeRuntimePorts,
  runEvented,
  writeConfig,
} from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { typescriptTemplate } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import type { TestProcess } from '../helpers/processes.js';
import { readAccounts } from '../helpers/read-model.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The commands that talk to a running runtime through its admin service — send, tail, status, replay, rebuild —
 * run as a user runs them (the built CLI, a real process each), against `evented serve` with the sample business
 * logic, projector and saga as their own processes, and the project's .proto files for JSON payloads.
 */

const STACK_FRAME = /^\s+at /m;

interface Project {
  dir: string;
  readModel: string;
  serve: TestProcess;
}

let project: Project;

const startProject = async (): Promise<Project> => {
  const dir = tempDir();
  cpSync(join(typescriptTemplate, 'proto/account'), join(dir, 'proto/account'), { recursive: true });
  const readModel = join(dir, 'read-model', 'accounts.json');
  const sample = await startSampleServices(readModel);
  writeConfig(dir, configYaml({ ports: await freeRuntimePorts(), ...sample.config }));
  const serve = evented(['serve', dir]);
  await serve.waitFor(/admin on \S+/);
  return { dir, readModel, serve };
};

/** Runs the CLI in the project folder; a user's mistake or a refusal is never a stack trace. */
const cli = async (...args: string[]) => {
  const result = await runEvented(args, { cwd: project.dir });
  expect(result.stderr).not.toMatch(STACK_FRAME);
  return result;
};

const rootOf = (sendOutput: string): string => /aggregate ([0-9a-f-]{36})/.exec(sendOutput)![1]!;

beforeAll(async () => {
  assertBuilt();
  project = await startProject();
});
afterAll(async () => {
  await project?.serve.stop('SIGTERM');
});

describe('evented send', () => {
  it('builds the command from JSON with the project’s .proto files and prints the events it produced', async () => {
    const opened = await cli('send', 'account', 'new', 'OpenAccount', '{"owner": "ada"}');
    expect(opened.exitCode).toBe(0);
    expect(opened.stdout).toMatch(/accepted; aggregate [0-9a-f-]{36}: 1 event\n/);
    expect(opened.stdout).toContain('account.v1.AccountOpened {"owner":"ada"}');

    const deposit = await cli(
      'send',
      'account',
      rootOf(opened.stdout),
      'account.v1.Deposit',
      '{"amount": 100}',
    );
    expect(deposit.exitCode).toBe(0);
    expect(deposit.stdout).toContain('#1  account.v1.MoneyDeposited {"amount":"100","balance":"100"}');
  });

  it('prints the business logic’s rejection as one line and exits 1', async () => {
    const opened = await cli('send', 'account', 'new', 'OpenAccount', '{"owner": "bob"}');
    const refused = await cli('send', 'account', rootOf(opened.stdout), 'Withdraw', '{"amount": 5}');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^error: FAILED_PRECONDITION: .*balance/m);
  });

  it('with --json, prints each event with its real position in the log', async () => {
    const opened = await cli('send', 'account', 'new', 'OpenAccount', '{"owner": "eve"}', '--json');
    const { root } = JSON.parse(opened.stdout) as { root: string };
    const deposited = await cli('send', 'account', root, 'Deposit', '{"amount": 5}', '--json');

    const sent = [opened, deposited].flatMap(
      (result) => (JSON.parse(result.stdout) as { events: { position: number; sequence: number }[] }).events,
    );
    const logged = (
      await cli('tail', 'events', '--domain', 'account', '--root', root, '--no-follow', '--json')
    ).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { position: number; sequence: number });
    expect(sent.map((e) => e.sequence)).toEqual([0, 1]);
    expect(sent.map((e) => e.position)).toEqual(logged.map((e) => e.position));
    expect(sent[0]!.position).toBeGreaterThan(0);
    expect(sent[1]!.position).toBeGreaterThan(sent[0]!.position);
  });

  it('with --json, a refusal or any other error is one JSON object on stderr', async () => {
    const opened = await cli('send', 'account', 'new', 'OpenAccount', '{"owner": "fay"}');
    const refused = await cli(
      'send',
      'account',
      rootOf(opened.stdout),
      'Withdraw',
      '{"amount": 5}',
      '--json',
    );
    expect(refused).toMatchObject({ exitCode: 1, stdout: '' });
    expect(JSON.parse(refused.stderr)).toEqual({
      error: {
        message: expect.stringMatching(/^FAILED_PRECONDITION: .*balance/),
        code: 'FAILED_PRECONDITION',
        exitCode: 1,
      },
    });

    const cases: [string[], number, string][] = [
      [['send', 'account', 'new', 'Deposit', '{amount: 1}', '--json'], 2, 'USAGE'],
      [['send', 'account', 'new', 'Deposit', '{}', '--json', '--bogus'], 2, 'commander.unknownOption'],
      [['replay', '--projector', 'nope', '--json'], 1, 'NOT_FOUND'],
      [['status', '--json', '--address', `127.0.0.1:${await freePort()}`], 1, 'UNAVAILABLE'],
      [['tail', 'events', '--since', 'soon', '--json'], 2, 'USAGE'],
    ];
    for (const [args, exitCode, code] of cases) {
      const result = await cli(...args);
      expect({ args, exitCode: result.exitCode, stdout: result.stdout }).toEqual({
        args,
        exitCode,
        stdout: '',
      });
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect({ args, ...(JSON.parse(result.stderr) as { error: object }) }).toMatchObject({
        args,
        error: { code, exitCode, message: expect.any(String) },
      });
    }
  });

  it('says what is wrong with a type, a JSON payload or a root, with exit 2', async () => {
    const unknownType = await cli('send', 'account', 'new', 'Depositt', '{}');
    expect(unknownType.exitCode).toBe(2);
    expect(unknownType.stderr).toContain('no message type named Depositt');
    expect(unknownType.stderr).toContain('known types: OpenAccount, Deposit');

    const badJson = await cli('send', 'account', 'new', 'Deposit', '{amount: 1}');
    expect(badJson.exitCode).toBe(2);
    expect(badJson.stderr).toContain("the command's JSON does not parse");

    const badField = await cli('send', 'account', 'new', 'Deposit', '{"amont": 1}');
    expect(badField.exitCode).toBe(2);
    expect(badField.stderr).toContain('key "amont" is unknown');

    const badRoot = await cli('send', 'account', 'not-a-uuid', 'Deposit', '{"amount": 1}');
    expect(badRoot.exitCode).toBe(2);
    expect(badRoot.stderr).toContain("expected an aggregate's UUID, or `new`");
  });
});

describe('evented tail events', () => {
  it('prints stored events with JSON payloads, then follows new ones until interrupted', async () => {
    const opened = await cli('send', 'account', 'new', 'OpenAccount', '{"owner": "cy"}');
    const root = rootOf(opened.stdout);

    const stored = await cli(
      'tail',
      'events',
      '--domain',
      'account',
      '--root',
      root,
      '--no-follow',
      '--json',
    );
    expect(stored.exitCode).toBe(0);
    const lines = stored.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        domain: 'account',
        root,
        sequence: 0,
        type: 'account.v1.AccountOpened',
        payload: { owner: 'cy' },
      }),
    ]);

    const follow = evented(['tail', 'events', '--domain', 'account', '--root', root], { cwd: project.dir });
    await follow.waitFor(/AccountOpened \{"owner":"cy"\}/);
    await cli('send', 'account', root, 'Deposit', '{"amount": 7}');
    await follow.waitFor(/#1  account\.v1\.MoneyDeposited \{"amount":"7","balance":"7"\}/);
    const { exitCode } = await follow.stop('SIGINT');
    expect(exitCode).toBe(0);
  });

  it('starts at a position, or since a time', async () => {
    const fromTwo = await cli('tail', 'events', '--from', '2', '--no-follow', '--json');
    expect(JSON.parse(fromTwo.stdout.split('\n')[0]!)).toMatchObject({ position: 2 });
    const recent = await cli('tail', 'events', '--since', '1h', '--no-follow');
    expect(recent.stdout).toMatch(
      /^\s+1 {2}\S+ {2}account\/[0-9a-f-]{36} {2}#0 {2}account\.v1\.AccountOpened/,
    );

    const wrong = await cli('tail', 'events', '--since', 'yesterday-ish');
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain('--since yesterday-ish: expected a duration such as 30s, 10m');
  });
});

describe('correlation', () => {
  it('send --correlation-id X, then tail --correlation X gives that command’s events and its saga’s, nothing else', async () => {
    const [ada, bob] = await Promise.all(
      ['ada', 'bob'].map(async (owner) =>
        rootOf((await cli('send', 'account', 'new', 'OpenAccount', `{"owner": "${owner}"}`)).stdout),
      ),
    );
    await cli('send', 'account', ada!, 'Deposit', '{"amount": 50}');
    const correlation = `transfer-${Date.now()}`;

    const sent = await cli(
      'send',
      'account',
      ada!,
      'TransferMoney',
      `{"toAccount": "${bob}", "amount": 20}`,
      '--correlation-id',
      correlation,
      '--json',
    );
    expect(sent.exitCode).toBe(0);
    const answer = JSON.parse(sent.stdout) as { correlationId: string; events: { sequence: number }[] };
    expect(answer.correlationId).toBe(correlation);

    // The saga's command lands a moment later, on bob's account.
    const tailed = await eventually(async () => {
      const result = await cli('tail', 'events', '--correlation', correlation, '--no-follow', '--json');
      const lines = result.stdout
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              root: string;
              sequence: number;
              type: string;
              origin: Record<string, string>;
            },
        );
      expect(lines).toHaveLength(2);
      return lines;
    });
    expect(tailed.map((e) => [e.root, e.type])).toEqual([
      [ada, 'account.v1.MoneyTransferredOut'],
      [bob, 'account.v1.TransferReceived'],
    ]);
    expect(tailed[0]!.origin).toMatchObject({
      correlationId: correlation,
      commandType: expect.stringMatching(/TransferMoney$/),
    });
    expect(tailed[1]!.origin).toMatchObject({
      correlationId: correlation,
      causationId: `account/${ada}/${answer.events[0]!.sequence}`,
      saga: expect.any(String),
    });
    expect(tailed[1]!.origin['saga']).not.toBe('');

    // The human line ends with the correlation id; send without the flag prints the one it was given.
    const human = await cli('tail', 'events', '--correlation', correlation, '--no-follow');
    expect(human.stdout.trim().split('\n')).toHaveLength(2);
    expect(human.stdout).toMatch(new RegExp(`MoneyTransferredOut .* corr=${correlation}\n`));
    const plain = await cli('send', 'account', ada!, 'Deposit', '{"amount": 1}');
    expect(plain.stdout).toMatch(/\ncorrelation [0-9a-f-]{36}\n$/);
  });

  it('refuses a correlation id that is not 1–128 printable ASCII characters, as a usage error', async () => {
    const refused = await cli(
      'send',
      'account',
      'new',
      'OpenAccount',
      '{"owner": "x"}',
      '--correlation-id',
      'x'.repeat(129),
    );
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(
      '--correlation-id is 129 characters long: expected 1 to 128 printable ASCII',
    );
  });
});

describe('evented status', () => {
  it('shows every component and each projector’s position and lag', async () => {
    const status = await eventually(async () => {
      const result = await cli('status', '--json');
      const parsed = JSON.parse(result.stdout) as {
        head: number;
        components: { name: string; state: string }[];
        subscribers: { name: string; lag: number; state: string }[];
      };
      expect(parsed.subscribers.find((s) => s.name === 'accounts')).toMatchObject({ lag: 0, state: 'live' });
      return { result, parsed };
    });
    expect(status.result.exitCode).toBe(0);
    expect(status.parsed.components.map((c) => c.name)).toEqual(
      expect.arrayContaining(['store', 'bus', 'relay', 'command handler', 'business logic account']),
    );
    expect(status.parsed.components.every((c) => c.state === 'ok')).toBe(true);

    const table = await cli('status');
    expect(table.stdout).toMatch(/^bank \(evented \d+\.\d+\.\d+\): store head at position \d+/);
    expect(table.stdout).toMatch(/accounts\s+projector\s+live\s+\d+\s+0\s/);
  });

  it('says where it looked when no runtime answers, with exit 1', async () => {
    const nobody = await runEvented(['status', '--address', `127.0.0.1:${await freePort()}`]);
    expect(nobody.exitCode).toBe(1);
    expect(nobody.stderr).toMatch(
      /^error: no evented runtime answers at 127\.0\.0\.1:\d+ \(from --address\)/,
    );
    expect(nobody.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('evented replay and rebuild', () => {
  it('rebuilds a projector’s lost read model from the store, then live delivery goes on', async () => {
    const opened = await cli('send', 'account', 'new', 'OpenAccount', '{"owner": "dee"}');
    const root = rootOf(opened.stdout);
    await cli('send', 'account', root, 'Deposit', '{"amount": 40}');
    const before = await eventually(() => {
      const model = readAccounts(project.readModel);
      expect(model[root]?.balance).toBe(40);
      return model;
    });

    // The read model is lost: the projector restarts with an empty one; live delivery alone would never refill it.
    writeFileSync(project.readModel, '{}');
    const dryRun = await cli('rebuild', 'accounts', '--dry-run');
    expect(dryRun.exitCode).toBe(0);
    expect(dryRun.stdout).toMatch(/rebuild of projector accounts would deliver \d+ events of \d+ aggregates/);

    const rebuilt = await cli('rebuild', 'accounts');
    expect(rebuilt.exitCode).toBe(0);
    expect(rebuilt.stdout).toMatch(
      /rebuilt projector accounts: \d+ events up to position \d+; live delivery goes on/,
    );
    expect(readAccounts(project.readModel)).toEqual(before);

    await cli('send', 'account', root, 'Deposit', '{"amount": 2}');
    await eventually(() => expect(readAccounts(project.readModel)[root]?.balance).toBe(42));
  });

  it('replays from a position into a projector without changing what it has', async () => {
    const before = readAccounts(project.readModel);
    const replayed = await cli('replay', '--projector', 'accounts', '--from', '2', '--json');
    expect(replayed.exitCode).toBe(0);
    const last = JSON.parse(replayed.stdout.trim().split('\n').pop()!) as { done: boolean; events: number };
    expect(last).toMatchObject({ done: true });
    expect(last.events).toBeGreaterThan(0);
    expect(readAccounts(project.readModel)).toEqual(before);
  });

  it('refuses an unknown projector, and a saga unless asked for by name, in one line', async () => {
    const unknown = await cli('replay', '--projector', 'nope');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/^error: no projector named "nope" \(projectors: "accounts"\)/);

    const saga = await cli('rebuild', 'transfers');
    expect(saga.exitCode).toBe(1);
    expect(saga.stderr).toContain('"transfers" is a saga');
    expect(saga.stderr).toContain('add --saga');

    const noName = await cli('replay');
    expect(noName.exitCode).toBe(2);
    expect(noName.stderr).toContain('name what to replay: --projector NAME');
  });
});
