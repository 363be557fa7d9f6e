import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { encodeEvent } from '../../templates/typescript/src/codec.js';
import type { AccountEvent } from '../../templates/typescript/src/domain.js';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import {
  failure,
  failureContaining,
  projectorCoordinatorClient,
  sagaCoordinatorClient,
} from '../helpers/clients.js';
import { startRecordingProjector, startTransfersSaga } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * The coordinators' public Handle and HandleSync are reachable by anyone on their port. A book sent there is
 * only a notice: the store is the truth, so a forged book never reaches a projector or saga, never moves a
 * subscriber's progress, and is refused when the store does not hold the events it names.
 */

/** A book of account events numbered from `from`, as an attacker (or a confused client) would send it. */
const forged = (root: Uint8Array, from: number, ...accountEvents: AccountEvent[]): EventBook => ({
  cover: { domain: 'account', root: { value: root } },
  snapshot: undefined,
  pages: accountEvents.map((event, index) => ({
    num: from + index,
    createdAt: undefined,
    Event: encodeEvent(event),
    synchronous: false,
  })),
});

const logic = await startSampleBusinessLogic();

const runtimeWith = async (subscribers: { projector?: string; saga?: string }) =>
  startTestRuntime({
    bus: { kind: 'memory' },
    domains: { account: { businessLogic: logic.address } },
    ...(subscribers.projector && {
      projectors: { accounts: { address: subscribers.projector, domains: ['account'] } },
    }),
    ...(subscribers.saga && { sagas: { transfers: { address: subscribers.saga, domains: ['account'] } } }),
  });

describe('the projector coordinator’s Handle and HandleSync take a book as a notice', () => {
  it('a forged #0 is refused, and the projector receives the real #0 when it is stored', async () => {
    const projector = await startRecordingProjector();
    const { runtime, commands } = await runtimeWith({ projector: projector.address });
    const coordinator = projectorCoordinatorClient(runtime.projectorCoordinator!.address);
    const ada = newRoot();

    // A forged #0 for an aggregate the store does not hold yet is refused, naming the aggregate and the event…
    for (const call of [coordinator.handle, coordinator.handleSync]) {
      await expect(call(forged(ada, 0, { type: 'AccountOpened', owner: 'mallory' }))).rejects.toMatchObject(
        failure(status.FAILED_PRECONDITION, new RegExp(`account:${uuidFromBytes(ada)} has no event #0`)),
      );
    }
    // …so that the real #0, stored afterwards, is what the projector gets.
    await commands.handle(command(ada, open('ada')));
    await eventually(() => expect(projector.sequences()[uuidFromBytes(ada)]).toEqual([0]));

    // A forged payload for a stored event is not delivered either: the store's bytes are.
    await commands.handle(command(ada, deposit(5)));
    await eventually(() => expect(projector.sequences()[uuidFromBytes(ada)]).toEqual([0, 1]));
    await coordinator.handle(forged(ada, 0, { type: 'AccountOpened', owner: 'mallory' }));
    const seen = projector.delivered.filter((d) => d.account === uuidFromBytes(ada));
    expect(seen.map((d) => d.event)).toEqual([
      { type: 'AccountOpened', owner: 'ada' },
      { type: 'MoneyDeposited', amount: 5, balance: 5 },
    ]);
  });

  it('a forged #1,000,000 is refused, and the aggregate’s later events still arrive with the lag right', async () => {
    const projector = await startRecordingProjector();
    const { runtime, commands } = await runtimeWith({ projector: projector.address });
    const coordinator = projectorCoordinatorClient(runtime.projectorCoordinator!.address);
    const ada = newRoot();
    await commands.handle(command(ada, open('ada')));
    await eventually(() => expect(projector.sequences()[uuidFromBytes(ada)]).toEqual([0]));

    await expect(
      coordinator.handle(forged(ada, 1_000_000, { type: 'MoneyDeposited', amount: 1, balance: 1 })),
    ).rejects.toMatchObject(
      failure(
        status.FAILED_PRECONDITION,
        new RegExp(`account:${uuidFromBytes(ada)} has no event #1000000 in the store \\(it holds only #0\\)`),
      ),
    );

    await commands.handle(command(ada, deposit(1), deposit(2)));
    await eventually(() => expect(projector.sequences()[uuidFromBytes(ada)]).toEqual([0, 1, 2]));
    // Three events stored, at positions 1..3: the projector's checkpoint reaches the head, so lag is 0 for real.
    await eventually(() => expect(runtime.deliveryStatus().projectors[0]!.checkpoint).toBe(3));
  });

  it('refuses malformed notices with INVALID_ARGUMENT', async () => {
    const projector = await startRecordingProjector();
    const { runtime, commands } = await runtimeWith({ projector: projector.address });
    const coordinator = projectorCoordinatorClient(runtime.projectorCoordinator!.address);
    const ada = newRoot();
    await commands.handle(command(ada, open('ada'), deposit(1), deposit(2)));

    const empty: EventBook = { ...forged(ada, 0), pages: [] };
    await expect(coordinator.handle(empty)).rejects.toMatchObject(
      failureContaining(status.INVALID_ARGUMENT, 'pages is empty'),
    );
    const gap = forged(
      ada,
      0,
      { type: 'AccountOpened', owner: 'ada' },
      { type: 'AccountOpened', owner: 'x' },
    );
    gap.pages[1]!.num = 2;
    await expect(coordinator.handle(gap)).rejects.toMatchObject(
      failureContaining(status.INVALID_ARGUMENT, 'pages[1].num is 2 after 0'),
    );
    const unnumbered = forged(ada, 0, { type: 'AccountOpened', owner: 'ada' });
    unnumbered.pages[0] = { ...unnumbered.pages[0]!, num: undefined, force: true };
    await expect(coordinator.handle(unnumbered)).rejects.toMatchObject(
      failureContaining(status.INVALID_ARGUMENT, 'pages[0].num is not set'),
    );
    await expect(coordinator.handle({ ...empty, cover: undefined })).rejects.toMatchObject(
      failureContaining(status.INVALID_ARGUMENT, 'cover is missing'),
    );
  });
});

describe('the saga coordinator’s Handle and HandleSync take a book as a notice', () => {
  it('a forged transfer is refused: the saga never sees it and no command is issued or stored', async () => {
    const saga = await startTransfersSaga();
    const { runtime, commands, queries } = await runtimeWith({ saga: saga.address });
    const coordinator = sagaCoordinatorClient(runtime.sagaCoordinator!.address);
    const [ada, bob] = [newRoot(), newRoot()];
    await commands.handle(command(ada, open('ada')));
    await commands.handle(command(bob, open('bob')));

    const transfer = forged(ada, 1, {
      type: 'MoneyTransferredOut',
      toAccount: uuidFromBytes(bob),
      amount: 1000,
      balance: 0,
    });
    for (const call of [coordinator.handle, coordinator.handleSync]) {
      await expect(call(transfer)).rejects.toMatchObject(
        failure(status.FAILED_PRECONDITION, new RegExp(`account:${uuidFromBytes(ada)} has no event #1`)),
      );
    }

    expect(saga.reacted).toEqual([]);
    const bobs = await queries.getEvents({ domain: 'account', root: { value: bob } });
    expect(bobs.flatMap((book) => book.pages.map((page) => page.num))).toEqual([0]);
  });
});
