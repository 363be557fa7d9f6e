import { connect, type Socket } from 'node:net';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { commandClient, failure } from '../helpers/clients.js';
import { commandBook, coverOf, payload } from '../helpers/books.js';
import { newRoot } from '../helpers/account.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * What a server allows its clients (`connections` in evented.yaml): connections that stay idle are closed, and
 * no more than `maxPerServer` are open at once, so that idle or abusive clients cannot hold the runtime's file
 * descriptors.
 */

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** A TCP connection that sends nothing; resolves once connected. `closed` resolves when the server closes it. */
const idleConnection = async (address: string): Promise<{ closed: Promise<number> }> => {
  const colon = address.lastIndexOf(':');
  const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
  sockets.push(socket);
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  socket.on('error', () => undefined);
  socket.resume(); // reads what the server sends, so that its closing is seen
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { closed };
};

/** A command for a domain with no business logic: the quickest call that reaches the handler (NOT_FOUND). */
const probe = () => commandBook(coverOf('nowhere', newRoot()), payload());

describe('connection limits', () => {
  it('closes a connection that stays idle for connections.idleTimeoutMs', async () => {
    const { runtime } = await startTestRuntime({ connections: { idleTimeoutMs: 500 } });
    const { closed } = await idleConnection(runtime.commandHandler.address);
    const after = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
    expect(after).toBeGreaterThanOrEqual(400);
    // A client that was idle reconnects on its next call.
    const client = commandClient(runtime.commandHandler.address);
    await expect(client.handle(probe())).rejects.toMatchObject(failure(status.NOT_FOUND));
    await new Promise((r) => setTimeout(r, 1000));
    await expect(client.handle(probe())).rejects.toMatchObject(failure(status.NOT_FOUND));
  });

  it('keeps at most connections.maxPerServer open: one more is closed at once, and calls work again after', async () => {
    const { runtime } = await startTestRuntime({ connections: { maxPerServer: 5 } });
    const address = runtime.commandHandler.address;
    const held = await Promise.all(Array.from({ length: 5 }, () => idleConnection(address)));
    const { closed } = await idleConnection(address);
    const after = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
    expect(after).toBeGreaterThanOrEqual(0);
    await expect(commandClient(address).handle(probe(), 3000)).rejects.toMatchObject({
      code: expect.toBeOneOf([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]),
    });
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    // (after the client's reconnect backoff)
    await eventually(() =>
      expect(commandClient(address).handle(probe())).rejects.toMatchObject(failure(status.NOT_FOUND)),
    );
  });
});
