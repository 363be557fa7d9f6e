import { status, type ServiceError } from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContextualCommand, EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes } from '../../runtime/protocol/uuid.js';
import type { EventStore, LoggedCommand } from '../../runtime/store/port.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { keyOf, wholeLog } from '../contract/store-fixtures.js';
import {
  acceptWith,
  commandBook,
  coverOf,
  eventBook,
  forced,
  nextSequenceOf,
  payload,
} from '../helpers/books.js';
import { grpcError, startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, newProject, startServe } from '../helpers/cli.js';
import { adminCalls, commandClient, type AdminCalls, type CommandClient } from '../helpers/clients.js';
import type { TestProcess } from '../helpers/processes.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The decision log (`commandLog: true`) through a running runtime: what the command handler logs for each way a
 * command can end, and what Admin.ListCommands and CountCommands send of it.
 */

/**
 * Business logic by the command's type: Add<n> accepts with n events, Refuse refuses (FAILED_PRECONDITION), Guard
 * accepts with one event on an even next sequence and refuses on an odd one (so a refusal's state can be told),
 * Noop accepts with none, Crash fails (INTERNAL: its bug, not a decision).
 */
const decideByType = (context: ContextualCommand): EventBook => {
  const typeUrl = context.command?.pages[0]?.command?.typeUrl ?? '';
  if (typeUrl.startsWith('test/Add')) return acceptWith(Number(typeUrl.slice('test/Add'.length)))(context);
  if (typeUrl === 'test/Noop') return eventBook(context.command?.cover, []);
  if (typeUrl === 'test/Refuse') throw grpcError(status.FAILED_PRECONDITION, 'the account is closed');
  if (typeUrl === 'test/Guard') {
    const next = nextSequenceOf(context);
    if (next % 2 === 1) throw grpcError(status.FAILED_PRECONDITION, `odd: ${next}`);
    return acceptWith(1)(context);
  }
  throw grpcError(status.INTERNAL, 'business logic crashed');
};

const onAggregate = (root: Uint8Array, type: string) =>
  commandBook(coverOf('account', root), payload(`test/${type}`, type));

const rejection = async (promise: Promise<unknown>): Promise<ServiceError> =>
  promise.then(
    () => expect.fail('expected the call to fail'),
    (err: ServiceError) => err,
  );

describe('with commandLog: true', () => {
  let runtime: TestRuntime;
  let admin: AdminCalls;
  let logicAddress: string;
  beforeAll(async () => {
    const logic = await startScriptedBusinessLogic(decideByType);
    logicAddress = logic.address;
    runtime = await startTestRuntime({
      commandLog: true,
      domains: { account: { businessLogic: logicAddress } },
    });
    admin = adminCalls(runtime.runtime.admin.address);
  });

  it('logs each final decision with the state it was decided on, and ListCommands sends it whole', async () => {
    const root = randomUuidBytes();
    await runtime.commands.handle(onAggregate(root, 'Add2'));
    const refused = await rejection(runtime.commands.handle(onAggregate(root, 'Refuse')));
    await runtime.commands.handle(onAggregate(root, 'Noop'));
    await runtime.commands.handle(onAggregate(root, 'Add1'), undefined, undefined, {
      'evented-correlation-id': 'the-caller',
    });

    const logged = await admin.commands({ domain: 'account', root: { value: root }, withHistory: true });

    expect(
      logged.map((c) => [c.command?.pages[0]?.command?.typeUrl, c.decidedOn, c.accepted, c.errorCode]),
    ).toEqual([
      ['test/Add2', 0, true, 0],
      ['test/Refuse', 2, false, status.FAILED_PRECONDITION],
      ['test/Noop', 2, true, 0],
      ['test/Add1', 2, true, 0],
    ]);
    // A refusal as the caller got it.
    expect(logged[1]!.errorMessage).toBe(refused.details);
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    // The events each produced, as stored, and the ones it was decided on.
    expect(logged.map((c) => c.events.map((page) => page.num))).toEqual([[0, 1], [], [], [2]]);
    expect(logged.map((c) => c.history.map((page) => page.num))).toEqual([[], [0, 1], [0, 1], [0, 1]]);
    expect(logged[3]!.correlationId).toBe('the-caller');
    expect(logged[3]!.events[0]!.origin?.commandId).toBe(logged[3]!.commandId);
    expect(logged.every((c, i) => i === 0 || c.id > logged[i - 1]!.id)).toBe(true);
    expect(Buffer.from(logged[0]!.command!.cover!.root!.value).equals(root)).toBe(true);
    expect(await admin.countCommands({ domain: 'account', root: { value: root } })).toBe(4);
    const [last] = await admin.commands({ domain: 'account', root: { value: root }, last: 1 });
    expect(last!.id).toBe(logged[3]!.id);
    expect(last!.history).toEqual([]);
  });

  it('logs a refusal given on a stale cached state not at all, only the decision made again on the store’s', async () => {
    const other = await startTestRuntime(
      { commandLog: true, domains: { account: { businessLogic: logicAddress } } },
      { projectDir: runtime.projectDir },
    );
    const root = randomUuidBytes();
    // This runtime caches the aggregate at next 1; the other one moves it to 2;
    await runtime.commands.handle(onAggregate(root, 'Guard'));
    await other.commands.handle(onAggregate(root, 'Add1'));

    // Guard on the cached state (next 1) is refused, then decided again on the store's (next 2) and accepted.
    const response = await runtime.commands.handle(onAggregate(root, 'Guard'));

    expect(response.books[0]!.pages.map((page) => page.num)).toEqual([2]);
    const logged = await admin.commands({ domain: 'account', root: { value: root } });
    expect(logged.map((c) => [c.command?.pages[0]?.command?.typeUrl, c.decidedOn, c.accepted])).toEqual([
      ['test/Guard', 0, true],
      ['test/Add1', 1, true],
      ['test/Guard', 2, true],
    ]);
  });

  it('logs no business logic failure, no duplicate and no Record', async () => {
    const root = randomUuidBytes();
    await rejection(runtime.commands.handle(onAggregate(root, 'Crash')));
    await runtime.commands.handle(onAggregate(root, 'Add1'), undefined, 'once');
    await runtime.commands.handle(onAggregate(root, 'Add1'), undefined, 'once');
    await runtime.commands.record(eventBook(coverOf('account', root), [forced()]));

    const logged = await admin.commands({ domain: 'account', root: { value: root } });
    expect(logged.map((c) => [c.command?.pages[0]?.command?.typeUrl, c.decidedOn])).toEqual([
      ['test/Add1', 0],
    ]);
  });

  it('answers a root that is not a UUID, or one without its domain, with INVALID_ARGUMENT', async () => {
    const short = await rejection(admin.commands({ domain: 'account', root: { value: new Uint8Array(3) } }));
    const alone = await rejection(admin.countCommands({ root: { value: randomUuidBytes() } }));
    expect([short.code, short.details]).toEqual([
      status.INVALID_ARGUMENT,
      'root must be a UUID (16 bytes), got 3 bytes',
    ]);
    expect(alone.code).toBe(status.INVALID_ARGUMENT);
    expect(alone.details).toMatch(/give the domain too/);
  });
});

describe('with the default (commandLog off)', () => {
  it('logs nothing', async () => {
    const logic = await startScriptedBusinessLogic(decideByType);
    const runtime = await startTestRuntime({ domains: { account: { businessLogic: logic.address } } });
    const admin = adminCalls(runtime.runtime.admin.address);
    const root = randomUuidBytes();
    await runtime.commands.handle(onAggregate(root, 'Add1'));
    await rejection(runtime.commands.handle(onAggregate(root, 'Refuse')));
    await runtime.commands.handle(onAggregate(root, 'Noop'));

    expect(await admin.commands()).toEqual([]);
    expect(await admin.countCommands()).toBe(0);
  });
});

/** How a call of the load ended, as its caller saw it. */
type Answer =
  | { kind: 'accepted'; events: number }
  | { kind: 'refused'; code: number; details: string }
  | { kind: 'aborted' }
  /** Sent to the process killed: it may or may not have been decided. */
  | { kind: 'lost' };

describe('with commandLog: true, two `evented serve` on one store, one killed -9 under command load', () => {
  const stores: EventStore[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });

  it('logs every accepted command exactly with its events, every refusal as its caller got it, and nothing else', async () => {
    assertBuilt();
    const logic = await startScriptedBusinessLogic(decideByType);
    const path = join(tempDir(), 'events.db');
    const serve = async (): Promise<{ process: TestProcess; client: CommandClient; admin: string }> => {
      const { dir, ports } = await newProject({
        log: { level: 'warn' },
        commandLog: true,
        store: { kind: 'sqlite', path },
        domains: { account: { businessLogic: logic.address } },
      });
      const started = await startServe(dir);
      return {
        process: started.process,
        client: commandClient(started.commands),
        admin: `127.0.0.1:${ports.admin}`,
      };
    };
    const [victim, survivor] = [await serve(), await serve()];
    let killed = false;

    // Given writers sending commands of every kind to both processes, on a few aggregates (so they race),
    const roots = Array.from({ length: 8 }, () => randomUuidBytes());
    const types = ['Add1', 'Add2', 'Guard', 'Guard', 'Noop', 'Refuse'];
    const answers = new Map<string, Answer>();
    let sent = 0;
    const send = async (): Promise<void> => {
      const n = (sent += 1);
      const correlation = `call-${n}`;
      const toVictim = !killed && n % 2 === 0;
      const root = roots[n % roots.length]!;
      const type = types[(n * 7) % types.length]!;
      try {
        const response = await (toVictim ? victim : survivor).client.handle(
          onAggregate(root, type),
          20_000,
          undefined,
          { 'evented-correlation-id': correlation },
        );
        answers.set(correlation, { kind: 'accepted', events: response.books[0]?.pages.length ?? 0 });
      } catch (err) {
        const { code, details } = err as ServiceError;
        if (code === status.FAILED_PRECONDITION) answers.set(correlation, { kind: 'refused', code, details });
        else if (code === status.ABORTED) answers.set(correlation, { kind: 'aborted' });
        else if (toVictim && killed) answers.set(correlation, { kind: 'lost' });
        else throw err;
      }
    };
    const writer = async (until: () => boolean): Promise<void> => {
      while (!until()) await send();
    };
    const load = Promise.all(Array.from({ length: 6 }, () => writer(() => sent >= 400)));

    // when the first process is killed -9 in the middle of it,
    while (sent < 150) await new Promise((resolve) => setTimeout(resolve, 5));
    killed = true;
    await victim.process.stop('SIGKILL');
    await load;

    // then, read from the store: every event a command stored belongs to exactly one accepted command's range,
    const store = createSqliteEventStore({ path });
    stores.push(store);
    const logged = await store.readCommandLog({});
    const accepted = logged.filter((c) => c.outcome === 'accepted');
    const owners = new Map<string, LoggedCommand[]>();
    for (const entry of accepted) {
      const count = entry.outcome === 'accepted' ? entry.eventCount : 0;
      for (let sequence = entry.decidedOn; sequence < entry.decidedOn + count; sequence += 1) {
        const key = `${keyOf(entry)}#${sequence}`;
        owners.set(key, [...(owners.get(key) ?? []), entry]);
      }
    }
    const commanded = (await wholeLog(store)).filter((event) => event.origin?.commandType);
    const strays = commanded.filter((event) => owners.get(`${keyOf(event)}#${event.sequence}`)?.length !== 1);
    expect(strays.map((event) => `${keyOf(event)}#${event.sequence}`)).toEqual([]);
    expect(
      commanded.filter((e) => e.origin?.commandId !== owners.get(`${keyOf(e)}#${e.sequence}`)![0]!.commandId),
    ).toEqual([]);
    // and every accepted command's events are stored,
    expect(owners.size).toBe(commanded.length);

    // every call answered is logged once, as answered (a refusal with the caller's status and on an odd
    // sequence for Guard), and a call ABORTED is not logged at all;
    const byCorrelation = new Map<string, LoggedCommand[]>();
    for (const entry of logged) {
      byCorrelation.set(entry.correlationId, [...(byCorrelation.get(entry.correlationId) ?? []), entry]);
    }
    const mismatches: string[] = [];
    for (const [correlation, answer] of answers) {
      const rows = byCorrelation.get(correlation) ?? [];
      const [row] = rows;
      const ok =
        answer.kind === 'lost'
          ? rows.length <= 1
          : answer.kind === 'aborted'
            ? rows.length === 0
            : rows.length === 1 &&
              (answer.kind === 'accepted'
                ? row!.outcome === 'accepted' && row!.eventCount === answer.events
                : row!.outcome === 'refused' &&
                  row!.errorCode === answer.code &&
                  row!.errorMessage === answer.details &&
                  (row!.commandType !== 'test/Guard' || row!.decidedOn % 2 === 1));
      if (!ok) mismatches.push(`${correlation}: ${JSON.stringify(answer)} logged as ${JSON.stringify(rows)}`);
    }
    expect(mismatches).toEqual([]);
    expect([...byCorrelation.keys()].filter((correlation) => !answers.has(correlation))).toEqual([]);
    expect(new Set(logged.map((c) => c.id)).size).toBe(logged.length);
    expect(answers.size).toBeGreaterThanOrEqual(400);
    expect(logged.filter((c) => c.outcome === 'refused').length).toBeGreaterThan(0);

    // and the survivor's Admin.ListCommands sends the same log.
    const admin = adminCalls(survivor.admin);
    const listed = await admin.commands();
    expect(
      listed.map((c) => [c.id, c.correlationId, c.accepted, c.decidedOn, c.events.length, c.errorCode]),
    ).toEqual(
      logged.map((c) => [
        c.id,
        c.correlationId,
        c.outcome === 'accepted',
        c.decidedOn,
        c.outcome === 'accepted' ? c.eventCount : 0,
        c.outcome === 'refused' ? c.errorCode : 0,
      ]),
    );
    expect(await admin.countCommands()).toBe(logged.length);
  });
});
