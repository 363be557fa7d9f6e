import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { LoggedEvent, ReplayProgress } from '../../runtime/protocol/gen/evented/evented.js';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { rawCall } from '../helpers/clients.js';
import { startRecordingProjector, startTransfersSaga } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * Bytes that are not what a method takes are the client's mistake (INVALID_ARGUMENT), on every port; and every
 * legal value of a field decodes, uint64s above 2^53 included.
 */

const logic = await startSampleBusinessLogic();
const projector = await startRecordingProjector();
const saga = await startTransfersSaga();
const { runtime, commands } = await startTestRuntime({
  bus: { kind: 'memory' },
  domains: { account: { businessLogic: logic.address } },
  projectors: { accounts: { address: projector.address, domains: ['account'] } },
  sagas: { transfers: { address: saga.address, domains: ['account'] } },
});

/** Field 1, length-delimited, announcing 2^32 - 1 bytes that never come: no message decodes from it. */
const GARBAGE = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);

/** A varint of 2^64 - 1, the largest uint64. */
const UINT64_MAX = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];

describe('a request that does not decode gets INVALID_ARGUMENT on every server', () => {
  const methods: [server: () => string, path: string, kind: 'unary' | 'serverStream' | 'bidi'][] = [
    [() => runtime.commandHandler.address, '/evented.BusinessCoordinator/Handle', 'unary'],
    [() => runtime.commandHandler.address, '/evented.BusinessCoordinator/Record', 'unary'],
    [() => runtime.queryHandler.address, '/evented.EventQuery/GetEvents', 'serverStream'],
    [() => runtime.queryHandler.address, '/evented.EventQuery/GetAggregateRoots', 'serverStream'],
    [() => runtime.queryHandler.address, '/evented.EventQuery/Synchronize', 'bidi'],
    [() => runtime.projectorCoordinator!.address, '/evented.ProjectorCoordinator/Handle', 'unary'],
    [() => runtime.projectorCoordinator!.address, '/evented.ProjectorCoordinator/HandleSync', 'unary'],
    [() => runtime.sagaCoordinator!.address, '/evented.SagaCoordinator/Handle', 'unary'],
    [() => runtime.sagaCoordinator!.address, '/evented.SagaCoordinator/HandleSync', 'unary'],
    [() => runtime.admin.address, '/evented.Admin/Status', 'unary'],
    [() => runtime.admin.address, '/evented.Admin/Tail', 'serverStream'],
    [() => runtime.admin.address, '/evented.Admin/Replay', 'serverStream'],
    [() => runtime.admin.address, '/grpc.health.v1.Health/Check', 'unary'],
    [() => runtime.commandHandler.address, '/grpc.health.v1.Health/Watch', 'serverStream'],
  ];
  it.each(methods.map(([server, path, kind]) => ({ server, path, kind })))(
    '$path',
    async ({ server, path, kind }) => {
      const outcome = await rawCall(server(), path, GARBAGE, kind);
      expect(outcome).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringContaining(`the request to ${path.slice(1)} is not a valid protobuf message`),
      });
    },
  );
});

describe('uint64 fields take every legal value', () => {
  it('Tail and Replay with after = 2^64 - 1 answer as for "after everything"', async () => {
    const root = newRoot();
    await commands.handle(command(root, open('ada'), deposit(1)));
    await eventually(() => expect(projector.delivered.length).toBe(2));

    // TailRequest { after = 2^64 - 1 }: nothing is after that.
    const tail = await rawCall(
      runtime.admin.address,
      '/evented.Admin/Tail',
      Uint8Array.from([0x08, ...UINT64_MAX]),
      'serverStream',
    );
    expect(tail).toMatchObject({ code: status.OK, messages: [] });
    // …while after = 1 gives the second event (the same request path, a small value).
    const fromOne = await rawCall(
      runtime.admin.address,
      '/evented.Admin/Tail',
      Uint8Array.from([0x08, 0x01]),
      'serverStream',
    );
    expect(fromOne.messages.map((m) => LoggedEvent.decode(m).position)).toEqual([2]);

    // ReplayRequest { subscriber = "accounts", after = 2^64 - 1 }: nothing to replay, done at once.
    const name = [...Buffer.from('accounts')];
    const replay = await rawCall(
      runtime.admin.address,
      '/evented.Admin/Replay',
      Uint8Array.from([0x0a, name.length, ...name, 0x18, ...UINT64_MAX]),
      'serverStream',
    );
    expect(replay.code).toBe(status.OK);
    const progress = replay.messages.map((m) => ReplayProgress.decode(m));
    expect(progress[progress.length - 1]).toMatchObject({ done: true, events: 0 });
    expect(projector.delivered.length).toBe(2);
  });
});
