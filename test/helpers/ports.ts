import { createServer, type Server } from 'node:net';
import { afterAll } from 'vitest';

export { freePort } from '../../runtime/support/net.js';

const held: Server[] = [];
afterAll(async () => {
  await Promise.all(held.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** A port on 127.0.0.1 that another program holds until the test file ends. */
export const occupiedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      held.push(server);
      resolve((server.address() as { port: number }).port);
    });
  });
