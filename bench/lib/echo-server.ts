// The raw baseline server: grpc-js with one unary method on Buffers (no protobuf) that answers every call with a
// fixed response of the given size. Run as a subprocess:
//   node --import tsx bench/lib/echo-server.ts --port 0 --response-bytes 120
// Prints "echo listening on HOST:PORT"; SIGINT/SIGTERM stop it.
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { echoService } from './echo.js';

const argument = (name: string, fallback: string): string => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
};

const response = Buffer.alloc(Number(argument('--response-bytes', '128')), 0x2a);
const server = new Server();
server.addService(echoService, {
  unary: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
    callback(null, response),
});
const host = argument('--host', '127.0.0.1');
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(`${host}:${argument('--port', '0')}`, ServerCredentials.createInsecure(), (err, bound) =>
    err ? reject(err) : resolve(bound),
  ),
);
console.log(`echo listening on ${host}:${port}`);
// A benchmark's server: stop at once, whatever is in flight.
const stop = (): void => {
  server.forceShutdown();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
