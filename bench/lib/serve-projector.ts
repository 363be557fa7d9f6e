import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ProjectorService, type ProjectorServer } from '../../runtime/protocol/gen/evented/evented.js';

/** Serves a benchmark's projector on a free loopback port, and prints "listening on ADDRESS" (what the bench reads). */
export const serveProjector = (projector: ProjectorServer): Server => {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(ProjectorService, projector);
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    console.log(`listening on 127.0.0.1:${port}`);
  });
  return server;
};
