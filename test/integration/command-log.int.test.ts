import { status, type ServiceError } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContextualCommand, EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes } from '../../runtime/protocol/uuid.js';
import { acceptWith, commandBook, coverOf, eventBook, forced, payload } from '../helpers/books.js';
import { grpcError, startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { adminCalls, type AdminCalls } from '../helpers/clients.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * The decision log (`commandLog: true`) through a running runtime: what the command handler logs for each way a
 * command can end, and what Admin.ListCommands and CountCommands send of it.
 */

/**
 * Business logic by the command's type: Add<n> accepts with n events, Refuse refuses (FAILED_PRECONDITION), Noop
 * accepts with none, Crash fails (INTERNAL: its bug, not a decision).
 */
export const decideByType = (context: ContextualCommand): EventBook => {
  const typeUrl = context.command?.pages[0]?.command?.typeUrl ?? '';
  if (typeUrl.startsWith('test/Add')) return acceptWith(Number(typeUrl.slice('test/Add'.length)))(context);
  if (typeUrl === 'test/Noop') return eventBook(context.command?.cover, []);
  if (typeUrl === 'test/Refuse') throw grpcError(status.FAILED_PRECONDITION, 'the account is closed');
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
  beforeAll(async () => {
    const logic = await startScriptedBusinessLogic(decideByType);
    runtime = await startTestRuntime({
      commandLog: true,
      domains: { account: { businessLogic: logic.address } },
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
