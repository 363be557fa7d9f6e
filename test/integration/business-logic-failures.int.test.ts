import { status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContextualCommand, EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { formatAggregate } from '../../runtime/protocol/cover.js';
import { newRoot } from '../helpers/account.js';
import {
  commandBook,
  coverOf,
  eventBook,
  forced,
  nextSequenceOf,
  numbered,
  payload,
  storedEvents,
} from '../helpers/books.js';
import { grpcError, startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { failure, failureContaining } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * When business logic is down, silent, broken or says no, the caller gets a status that says so (never a hang),
 * and nothing is written: the aggregate keeps exactly the one event it had.
 */

const TIMEOUT_MS = 300;
/** Generous: the point is "answers, does not hang", not how fast. */
const PROMPTLY_MS = TIMEOUT_MS + 2000;

let script: (command: ContextualCommand) => EventBook | Promise<EventBook>;
let scripted: { address: string; calls: ContextualCommand[] };
let silent: { address: string; calls: ContextualCommand[] };
let downAddress: string;
let runtime: TestRuntime;
let impatient: TestRuntime;

beforeAll(async () => {
  scripted = await startScriptedBusinessLogic((command) => script(command));
  silent = await startScriptedBusinessLogic(() => new Promise<EventBook>(() => undefined));
  downAddress = `127.0.0.1:${await freePort()}`;
  runtime = await startTestRuntime({ domains: { account: { businessLogic: scripted.address } } });
  impatient = await startTestRuntime({
    commandHandler: { businessLogicTimeoutMs: TIMEOUT_MS },
    domains: { down: { businessLogic: downAddress }, silent: { businessLogic: silent.address } },
  });
});

/** An aggregate with one recorded event, so "nothing written" means "still exactly that event". */
const givenAnAggregate = async (on: TestRuntime, domain: string): Promise<Uint8Array> => {
  const root = newRoot();
  await on.commands.record(eventBook(coverOf(domain, root), [forced()]));
  return root;
};

const expectUnchanged = async (on: TestRuntime, domain: string, root: Uint8Array): Promise<void> =>
  expect(await storedEvents(on.queries, domain, root)).toEqual([[0, 'test/Opaque']]);

/** How long `work` (just started) takes to settle; each test asserts its outcome on the same promise. */
const timed = async (work: Promise<unknown>): Promise<number> => {
  const started = Date.now();
  await work.catch(() => undefined);
  return Date.now() - started;
};

describe('business logic that cannot be reached or does not answer', () => {
  it('not running at all: UNAVAILABLE naming its address, within the timeout', async () => {
    const root = await givenAnAggregate(impatient, 'down');
    const call = impatient.commands.handle(commandBook(coverOf('down', root), payload()));
    const elapsed = await timed(call);
    await expect(call).rejects.toMatchObject(
      failureContaining(status.UNAVAILABLE, `business logic for "down" at ${downAddress} is unavailable`),
    );
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    await expectUnchanged(impatient, 'down', root);
  });

  it('never answering: UNAVAILABLE once businessLogicTimeoutMs has passed', async () => {
    const root = await givenAnAggregate(impatient, 'silent');
    const call = impatient.commands.handle(commandBook(coverOf('silent', root), payload()));
    const elapsed = await timed(call);
    await expect(call).rejects.toMatchObject(
      failureContaining(
        status.UNAVAILABLE,
        `business logic for "silent" at ${silent.address} did not answer within 300 ms`,
      ),
    );
    expect(silent.calls).toHaveLength(1);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    await expectUnchanged(impatient, 'silent', root);
  });
});

describe('business logic that refuses or fails', () => {
  const expectRefused = async (code: status, details: string | RegExp): Promise<void> => {
    const root = await givenAnAggregate(runtime, 'account');
    await expect(
      runtime.commands.handle(commandBook(coverOf('account', root), payload())),
    ).rejects.toMatchObject(failure(code, details));
    await expectUnchanged(runtime, 'account', root);
  };

  it('answering INTERNAL: INTERNAL with its message', async () => {
    script = () => Promise.reject(grpcError(status.INTERNAL, 'null pointer in the ledger'));
    await expectRefused(
      status.INTERNAL,
      `business logic for "account" at ${scripted.address} failed (INTERNAL): null pointer in the ledger`,
    );
  });

  it.each([
    [status.FAILED_PRECONDITION, 'the account is frozen'],
    [status.INVALID_ARGUMENT, 'amount must be a positive number of cents, got -5'],
  ])('rejecting with code %s: the caller gets the same code and message', async (code, message) => {
    script = () => Promise.reject(grpcError(code, message));
    await expectRefused(code, message);
  });

  it('returning a page whose num is not next: INTERNAL', async () => {
    script = (context) => eventBook(context.command?.cover, [numbered(nextSequenceOf(context) + 1)]);
    await expectRefused(
      status.INTERNAL,
      /returned pages\[0\]\.num = 2, but the aggregate’s next sequence is 1/,
    );
  });

  it('returning a good page then a bad one: INTERNAL, and not even the good page is written', async () => {
    script = (context) => {
      const next = nextSequenceOf(context);
      return eventBook(context.command?.cover, [numbered(next), numbered(next + 5)]);
    };
    await expectRefused(
      status.INTERNAL,
      /returned pages\[1\]\.num = 6, but the aggregate’s next sequence is 2/,
    );
  });

  it('returning a page with neither num nor force: INTERNAL', async () => {
    script = (context) => eventBook(context.command?.cover, [{ ...forced(), force: undefined }]);
    await expectRefused(
      status.INTERNAL,
      /returned an invalid book: returned pages\[0\]\.sequence is not set/,
    );
  });

  it('returning events for another aggregate: INTERNAL, and neither aggregate gets them', async () => {
    const other = await givenAnAggregate(runtime, 'account');
    script = (context) => eventBook(coverOf('account', other), [numbered(nextSequenceOf(context))]);
    const root = await givenAnAggregate(runtime, 'account');
    await expect(
      runtime.commands.handle(commandBook(coverOf('account', root), payload())),
    ).rejects.toMatchObject(
      failureContaining(
        status.INTERNAL,
        `returned events for ${formatAggregate('account', other)}, but the command was for ${formatAggregate('account', root)}`,
      ),
    );
    await expectUnchanged(runtime, 'account', root);
    await expectUnchanged(runtime, 'account', other);
  });
});
