// A local OTLP/HTTP trace receiver for the benchmarks' "tracing on" columns: it accepts every export
// (`POST /v1/traces`, answered 200 with an empty ExportTraceServiceResponse) and counts requests and bytes,
// without decoding them (the tests decode: test/helpers/otlp-receiver.ts). A subprocess, so that receiving
// spans costs the load generator nothing:
//   node --import tsx bench/lib/otlp-sink.ts
// Prints "otlp sink listening on http://HOST:PORT"; on SIGTERM prints "otlp sink received N requests, B bytes".
import { createServer } from 'node:http';

let requests = 0;
let bytes = 0;
const server = createServer((request, response) => {
  request.on('data', (chunk: Buffer) => (bytes += chunk.length));
  request.on('end', () => {
    requests += 1;
    // An empty protobuf message is zero bytes.
    response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`otlp sink listening on http://127.0.0.1:${port}`);
});
const stop = (): void => {
  console.log(`otlp sink received ${requests} requests, ${bytes} bytes`);
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
