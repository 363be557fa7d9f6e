import { randomUUID } from 'node:crypto';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserConfig } from '../../runtime/config/schema.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, evented, newProject, runEvented } from '../helpers/cli.js';
import { commandClient, type CommandClient } from '../helpers/clients.js';
import { deleteAmqpTopology, startRecordingProjector, type RecordingProjector } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { typescriptTemplate } from '../helpers/paths.js';
import type { TestProcess } from '../helpers/processes.js';
import { describeWith } from '../helpers/services.js';

/**
 * Dead letters as a user lives them, on the in-process bus and on RabbitMQ: `evented serve` (a real process,
 * killed with SIGKILL and started again), a projector that fails on one event, and `evented dlq` and `status`
 * as subprocesses. The failing event becomes a letter in the store after delivery.maxAttempts; the later events
 * of its aggregate wait behind it (parked as letters, not delivered) while other aggregates go on; all of it
 * survives the kill; once the projector is fixed, a retry delivers the letter and the parked events in order,
 * exactly once; a skip records who decided and releases what waited behind.
 */

const STACK_FRAME = /^\s+at /m;

interface LetterJson {
  id: number;
  subscriber: string;
  kind: string;
  domain: string;
  root: string;
  sequence: number;
  position: number;
  attempts: number;
  lastError: string;
  state: string;
  decidedAt?: string;
  decidedBy?: string;
}

interface Scenario {
  dir: string;
  commands: CommandClient;
  projector: RecordingProjector;
  /** The projector refuses deposits of 13 while this is true. */
  broken: { value: boolean };
  serve: TestProcess;
}

/** The CLI in the project, as a user runs it; never a stack trace. */
const cli = async (dir: string, ...args: string[]) => {
  const result = await runEvented(args, { cwd: dir });
  expect(result.stderr).not.toMatch(STACK_FRAME);
  return result;
};

/** `evented dlq … --json`, which must succeed: a failed read fails the test, it never reads as "no letters". */
const dlqJson = async <T>(dir: string, ...args: string[]): Promise<T> => {
  const result = await cli(dir, 'dlq', ...args, '--json');
  expect(result, result.stdout + result.stderr).toMatchObject({ exitCode: 0 });
  return JSON.parse(result.stdout) as T;
};

const openLetters = async (dir: string): Promise<LetterJson[]> =>
  (await dlqJson<{ letters: LetterJson[] }>(dir, 'list')).letters;

const startServe = async (dir: string): Promise<TestProcess> => {
  const serve = evented(['serve', dir]);
  // Generous: the machine may be busy, and a runtime that does not start fails the test anyway.
  await serve.waitFor(/admin on \S+/, 60_000);
  return serve;
};

const startScenario = async (bus: UserConfig['bus']): Promise<Scenario> => {
  const broken = { value: true };
  const projector = await startRecordingProjector({
    refuse: (_account, _page, event) =>
      broken.value && event?.type === 'MoneyDeposited' && event.amount === 13
        ? 'the projector cannot take a deposit of 13'
        : undefined,
  });
  const logic = await startSampleBusinessLogic();
  const { dir, ports } = await newProject({
    bus,
    domains: { account: { businessLogic: logic.address } },
    projectors: { recording: { address: projector.address, domains: ['account'] } },
    delivery: { maxAttempts: 3, retryDelayMs: 20, maxBackoffMs: 500 },
  });
  // The project's .proto files: `dlq show` decodes payloads with them, as `tail` does.
  cpSync(join(typescriptTemplate, 'proto/account'), join(dir, 'proto/account'), { recursive: true });
  const serve = await startServe(dir);
  return { dir, commands: commandClient(`127.0.0.1:${ports.commands}`), projector, broken, serve };
};

const poisonScenario = (bus: () => UserConfig['bus']): void => {
  let scenario: Scenario;
  beforeAll(async () => {
    assertBuilt();
    scenario = await startScenario(bus());
  });
  afterAll(async () => {
    await scenario?.serve.stop('SIGTERM');
  });

  it('holds an aggregate behind its dead letter across a SIGKILL, then retry delivers it all in order, once', async () => {
    const { dir, commands, projector, broken } = scenario;
    const [ada, bob] = [newRoot(), newRoot()];
    const [adaId, bobId] = [uuidFromBytes(ada), uuidFromBytes(bob)];

    // Given a deposit the projector keeps refusing (ada #2), and events of ada after it and of bob
    await commands.handle(command(ada, open('ada'), deposit(10), deposit(13), deposit(20)));
    await commands.handle(command(bob, open('bob'), deposit(5)));
    await commands.handle(command(ada, deposit(30)));

    // Then, after maxAttempts, ada #2 is a dead letter and ada's later events wait behind it as letters
    const letters = await eventually(
      async () => {
        const found = await openLetters(dir);
        expect(found.map((l) => [l.root, l.sequence])).toEqual([
          [adaId, 2],
          [adaId, 3],
          [adaId, 4],
        ]);
        return found;
      },
      60_000,
      500,
    );
    const [failed] = letters;
    expect(failed).toMatchObject({ subscriber: 'recording', kind: 'projector', domain: 'account' });
    expect(failed).toMatchObject({ attempts: 3, state: 'open', position: 3 });
    expect(failed!.lastError).toContain('the projector cannot take a deposit of 13');
    expect(letters.slice(1).map((l) => l.lastError)).toEqual([
      `waiting behind #${failed!.id}`,
      `waiting behind #${failed!.id}`,
    ]);
    // … while bob's events went on, and none of ada's after #1 was delivered
    await eventually(
      () => expect(projector.sequences()).toEqual({ [adaId]: [0, 1], [bobId]: [0, 1] }),
      60_000,
    );

    // When, once the runtime has saved the projector's progress up to the head (so that the kill repeats nothing:
    // what a crash may deliver again is the at-least-once part, tested elsewhere), the runtime is killed and
    // started again, and more events come for both
    await eventually(
      async () => {
        const status = JSON.parse((await cli(dir, 'status', '--json')).stdout) as {
          head: number;
          subscribers: { name: string; checkpoint: number }[];
        };
        expect(status.subscribers.find((s) => s.name === 'recording')?.checkpoint).toBe(status.head);
      },
      60_000,
      500,
    );
    await scenario.serve.stop('SIGKILL');
    scenario.serve = await startServe(dir);
    await commands.handle(command(ada, deposit(40)));
    await commands.handle(command(bob, deposit(7)));

    // Then bob's new event is delivered, ada's parks behind the same letter, and the CLI still shows them all
    await eventually(() => expect(projector.sequences()[bobId]).toEqual([0, 1, 2]), 60_000, 250);
    await eventually(
      async () => expect((await openLetters(dir)).map((l) => l.sequence)).toEqual([2, 3, 4, 5]),
      60_000,
      500,
    );
    const table = await cli(dir, 'dlq', 'list');
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+SUBSCRIBER\s+KIND\s+AGGREGATE\s+SEQ\s+POSITION\s+STATE\s+ATTEMPTS/);
    expect(table.stdout).toMatch(
      new RegExp(`#${failed!.id}\\s+recording\\s+projector\\s+account/${adaId}\\s+2\\s+3\\s+open\\s+3\\s`),
    );
    expect(table.stdout.match(new RegExp(`waiting behind #${failed!.id}`, 'g'))).toHaveLength(3);
    const status = await cli(dir, 'status', '--json');
    expect(status.exitCode).toBe(0);
    const subscribers = (JSON.parse(status.stdout) as { subscribers: { name: string }[] }).subscribers;
    expect(subscribers.find((s) => s.name === 'recording')).toMatchObject({ deadLettered: 4 });
    expect(projector.sequences()[adaId]).toEqual([0, 1]);

    // When the projector is fixed and the letter retried
    broken.value = false;
    const retried = await cli(dir, 'dlq', 'retry', String(failed!.id));

    // Then the letter and the events parked behind it are delivered, in order, exactly once
    expect(retried.exitCode).toBe(0);
    expect(retried.stdout.trim().split('\n')).toHaveLength(4);
    expect(retried.stdout).toMatch(
      new RegExp(`#${failed!.id}\\s+projector recording\\s+account/${adaId} #2\\s+delivered`),
    );
    expect(projector.sequences()).toEqual({ [adaId]: [0, 1, 2, 3, 4, 5], [bobId]: [0, 1, 2] });
    expect(projector.duplicates()).toEqual([]);
    expect(projector.accounts()[adaId]).toMatchObject({ balance: 113, sequence: 5 });
    const decided = await dlqJson<{ letters: LetterJson[] }>(dir, 'list', '--state', 'all');
    expect(decided.letters.map((l) => l.state)).toEqual(['retried', 'retried', 'retried', 'retried']);
    for (const letter of decided.letters) expect(letter.decidedBy).toMatch(/^\S+@\S+ pid \d+ \(/);
    expect(await openLetters(dir)).toEqual([]);
    const after = JSON.parse((await cli(dir, 'status', '--json')).stdout) as {
      subscribers: { name: string }[];
    };
    expect(after.subscribers.find((s) => s.name === 'recording')).toMatchObject({ deadLettered: 0 });

    // and ada flows again
    await commands.handle(command(ada, deposit(1)));
    await eventually(() => expect(projector.sequences()[adaId]).toEqual([0, 1, 2, 3, 4, 5, 6]), 60_000);
  });

  it('skip records who decided, never delivers the letter, and releases the events behind it in order', async () => {
    const { dir, commands, projector, broken } = scenario;
    broken.value = true;
    const carol = newRoot();
    const carolId = uuidFromBytes(carol);
    await commands.handle(command(carol, open('carol'), deposit(13), deposit(2), deposit(3)));
    const [failed] = await eventually(
      async () => {
        const found = (await openLetters(dir)).filter((l) => l.root === carolId);
        expect(found.map((l) => l.sequence)).toEqual([1, 2, 3]);
        return found;
      },
      60_000,
      500,
    );

    // `show` gives the letter in full, with its event decoded through the project's .proto files
    const shown = await cli(dir, 'dlq', 'show', String(failed!.id));
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^dead letter #${failed!.id}: open\\n`));
    expect(shown.stdout).toContain('the projector cannot take a deposit of 13');
    expect(shown.stdout).toContain(
      `account/${carolId}  #1  account.v1.MoneyDeposited {"amount":"13","balance":"13"}`,
    );

    const skipped = await cli(dir, 'dlq', 'skip', String(failed!.id));
    expect(skipped.exitCode).toBe(0);
    expect(skipped.stdout).toMatch(
      new RegExp(`#${failed!.id}\\s+projector recording\\s+account/${carolId} #1\\s+skipped`),
    );
    expect(projector.sequences()[carolId]).toEqual([0, 2, 3]);
    const detail = await dlqJson<LetterJson & { event: { payload: unknown } }>(
      dir,
      'show',
      String(failed!.id),
    );
    expect(detail).toMatchObject({ state: 'skipped', sequence: 1, event: { payload: { amount: '13' } } });
    expect(detail.decidedBy).toMatch(/^\S+@\S+ pid \d+ \(/);
    expect(Date.parse(detail.decidedAt!)).toBeGreaterThan(Date.now() - 120_000);
    expect((await openLetters(dir)).filter((l) => l.root === carolId)).toEqual([]);

    // A letter released by a skip that fails again stays open, with its new error, and the CLI exits 1
    const dave = newRoot();
    const daveId = uuidFromBytes(dave);
    await commands.handle(command(dave, open('dave'), deposit(13), deposit(13)));
    const [first, second] = await eventually(
      async () => {
        const found = (await openLetters(dir)).filter((l) => l.root === daveId);
        expect(found.map((l) => [l.sequence, l.attempts])).toEqual([
          [1, 3],
          [2, 0],
        ]);
        return found;
      },
      60_000,
      500,
    );
    const failedAgain = await cli(dir, 'dlq', 'skip', String(first!.id));
    expect(failedAgain.exitCode).toBe(1);
    expect(failedAgain.stdout).toMatch(new RegExp(`#${first!.id}\\s.* #1\\s+skipped\\n`));
    expect(failedAgain.stdout).toMatch(
      new RegExp(
        `#${second!.id}\\s.* #2\\s+failed again \\(attempt 1\\): INTERNAL: the projector cannot take`,
      ),
    );
    expect(failedAgain.stderr).toMatch(
      new RegExp(`^error: dead letter #${second!.id} failed again: INTERNAL`),
    );
    expect(await dlqJson<LetterJson>(dir, 'show', String(second!.id))).toMatchObject({
      state: 'open',
      attempts: 1,
      lastError: expect.stringContaining('cannot take a deposit of 13'),
    });
    expect(projector.sequences()[daveId]).toEqual([0]);
    expect(
      (await dlqJson<{ letters: LetterJson[] }>(dir, 'skip', String(second!.id))).letters.map((l) => l.state),
    ).toEqual(['skipped']);
  });

  it('answers a bad id, an unknown letter or subscriber and a decided letter with one line and the CLI’s exit codes', async () => {
    const { dir } = scenario;
    const decided = (await dlqJson<{ letters: LetterJson[] }>(dir, 'list', '--state', 'retried')).letters[0]!;

    const badId = await cli(dir, 'dlq', 'show', 'twelve');
    expect(badId).toMatchObject({ exitCode: 2, stdout: '' });
    expect(badId.stderr).toMatch(/^error: twelve: expected a dead letter's id, a number such as 12\n/);

    const unknown = await cli(dir, 'dlq', 'show', '999999');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe('error: there is no dead letter #999999\n');

    const nobody = await cli(dir, 'dlq', 'list', '--subscriber', 'nobody');
    expect(nobody.exitCode).toBe(1);
    expect(nobody.stderr).toBe(
      'error: no projector or saga named "nobody" (configured: projector "recording")\n',
    );

    const again = await cli(dir, 'dlq', 'retry', String(decided.id));
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(`^error: dead letter #${decided.id} was retried already \\(by \\S+@`),
    );

    const nothing = await cli(dir, 'dlq', 'retry');
    expect(nothing.exitCode).toBe(2);
    expect(nothing.stderr).toMatch(/^error: say what to retry: letter ids, or --subscriber NAME/);

    // With --json, errors are JSON objects on stderr (stdout stays data only), and the exit codes stay the same
    const jsonBadId = await cli(dir, 'dlq', 'show', 'twelve', '--json');
    expect(jsonBadId).toMatchObject({ exitCode: 2, stdout: '' });
    expect(JSON.parse(jsonBadId.stderr)).toMatchObject({
      error: {
        message: "twelve: expected a dead letter's id, a number such as 12",
        hint: '`evented dlq list` shows the ids',
        exitCode: 2,
      },
    });
    const jsonNobody = await cli(dir, 'dlq', 'list', '--subscriber', 'nobody', '--json');
    expect(jsonNobody).toMatchObject({ exitCode: 1, stdout: '' });
    expect(JSON.parse(jsonNobody.stderr)).toMatchObject({
      error: {
        message: 'no projector or saga named "nobody" (configured: projector "recording")',
        exitCode: 1,
      },
    });
  });

  it('logs every admin call that changes state, at info, with its caller: who (user@host, pid) and from where', async () => {
    const { dir } = scenario;
    scenario.broken.value = false;
    const before = scenario.serve.output().length;
    const skipped = (await dlqJson<{ letters: LetterJson[] }>(dir, 'list', '--state', 'skipped')).letters[0]!;
    expect((await cli(dir, 'replay', '--projector', 'recording')).exitCode).toBe(0);
    expect((await cli(dir, 'rebuild', 'recording', '--dry-run')).exitCode).toBe(0);
    expect((await cli(dir, 'rebuild', 'recording')).exitCode).toBe(0);
    expect((await cli(dir, 'dlq', 'retry', '--subscriber', 'recording')).exitCode).toBe(0);
    expect((await cli(dir, 'dlq', 'skip', String(skipped.id))).exitCode).toBe(1);

    const audited = await eventually(() => {
      const lines = scenario.serve
        .output()
        .slice(before)
        .split('\n')
        .filter((line) => line.includes('"audit"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toHaveLength(4);
      return lines;
    });
    // A dry run changes nothing and is not logged; a refused skip is (it was asked for).
    expect(audited.map((line) => line.audit)).toEqual([
      'replay',
      'rebuild',
      'dead-letter retry',
      'dead-letter skip',
    ]);
    for (const line of audited) {
      expect(line).toMatchObject({ level: 30, caller: expect.stringMatching(/^\S+@\S+ pid \d+$/) });
      expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(line.msg).toBe(
        `admin: ${String(line.audit)} asked by ${String(line.caller)} (${String(line.peer)})`,
      );
    }
    expect(audited[0]).toMatchObject({ subscriber: 'projector:recording', after: 0 });
    expect(audited[1]).toMatchObject({ subscriber: 'projector:recording' });
    expect(audited[2]).toMatchObject({ subscriber: 'recording' });
    expect(audited[3]).toMatchObject({ ids: [skipped.id] });
  });
};

describe('dead letters on the in-process bus', () => {
  poisonScenario(() => ({ kind: 'memory' }));
});

describeWith('rabbitmq', 'dead letters on RabbitMQ', (amqpUrl) => {
  const exchange = `evented-test-${randomUUID()}`;
  afterAll(async () => {
    await deleteAmqpTopology(amqpUrl, exchange, ['projector:recording']);
  });
  poisonScenario(() => ({ kind: 'amqp', url: amqpUrl, exchange }));
});
