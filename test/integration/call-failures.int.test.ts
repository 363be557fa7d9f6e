import { createServer, type Server as NetServer } from 'node:net';
import { credentials, Server, ServerCredentials } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyFailure } from '../../runtime/grpc/failure.js';
import { callUnary } from '../../runtime/grpc/unary.js';
import {
  ProjectorClient,
  ProjectorService,
  type ProjectorServer,
} from '../../runtime/protocol/gen/evented/evented.js';
import { freePort } from '../helpers/ports.js';

/**
 * How a coordinator tells a projector that is down (waited for, forever) from one that cannot handle an event
 * (tried delivery.maxAttempts times, then dead-lettered), on real gRPC calls over loopback.
 */

const closers: (() => void)[] = [];
afterAll(() => closers.forEach((close) => close()));

const failureOfCallTo = async (address: string): Promise<unknown> => {
  const client = new ProjectorClient(address, credentials.createInsecure());
  closers.push(() => client.close());
  const book = { cover: undefined, snapshot: undefined, pages: [] };
  return callUnary(client.handle.bind(client), book, { timeoutMs: 300 }).then(
    () => new Error('the call succeeded'),
    (err: unknown) => err,
  );
};

describe('a failed call to a projector', () => {
  it('that reached it and ran past its deadline is a failure of the event (it counts toward maxAttempts)', async () => {
    const server = new Server();
    const never = () => undefined;
    server.addService(ProjectorService, {
      handle: never,
      handleSync: never,
      handleBatch: never,
      reset: never,
    } as unknown as ProjectorServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    closers.push(() => server.forceShutdown());
    const err = await failureOfCallTo(`127.0.0.1:${port}`);
    expect(err).toMatchObject({ code: 4 }); // DEADLINE_EXCEEDED
    expect(classifyFailure(err)).toBe('failed');
  });

  it('that found nothing listening is the projector being down (waited for)', async () => {
    const err = await failureOfCallTo(`127.0.0.1:${await freePort()}`);
    expect(err).toMatchObject({ code: 14 }); // UNAVAILABLE
    expect(classifyFailure(err)).toBe('unavailable');
  });

  it('that never got a gRPC connection before its deadline is the projector being down too', async () => {
    // A port that accepts TCP but never speaks HTTP/2: the call times out waiting for a connection.
    const silent: NetServer = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => silent.close());
    const err = await failureOfCallTo(`127.0.0.1:${(silent.address() as { port: number }).port}`);
    expect(err).toMatchObject({ code: 4 });
    expect(classifyFailure(err)).toBe('unavailable');
  });
});
