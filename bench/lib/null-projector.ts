// A projector that decodes what it is sent and does nothing else: `npm run bench -- replay` measures
// evented's own replay ceiling with it, apart from any read model's cost. Prints "listening on ADDRESS".
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ProjectorService, type ProjectorServer } from '../../runtime/protocol/gen/evented/evented.js';

let events = 0;
const done = (callback: (error: null, value: object) => void): void => callback(null, {});
const projector: ProjectorServer = {
  handle: (call, callback) => {
    events += call.request.pages.length;
    done(callback);
  },
  handleBatch: (call, callback) => {
    for (const book of call.request.books) events += book.pages.length;
    done(callback);
  },
  handleSync: (call, callback) =>
    callback(null, { cover: call.request.cover, projector: 'ack', sequence: 0, projection: undefined }),
  reset: (_call, callback) => done(callback),
};

const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
server.addService(ProjectorService, projector);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`listening on 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => {
  console.log(`received ${events} events`);
  server.forceShutdown();
});
