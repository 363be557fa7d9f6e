// A projector whose every call takes CALL_MS (an I/O-bound read model: the time is spent waiting, so calls that
// arrive together overlap). It answers HandleBatch UNIMPLEMENTED, so that evented calls Handle once per book, and
// counts the distinct events (aggregate, sequence) it was given, every event, and every call. Prints "listening on
// ADDRESS", then "progress DISTINCT EVENTS CALLS" whenever those changed, at most every 100 ms.
import { status } from '@grpc/grpc-js';
import type { ProjectorServer } from '../../runtime/protocol/gen/evented/evented.js';
import { serveProjector } from './serve-projector.js';

const callMs = Number(process.env.CALL_MS ?? '5');
const seen = new Set<string>();
let events = 0;
let calls = 0;
let printed = '';

const projector: ProjectorServer = {
  handle: (call, callback) => {
    calls += 1;
    const root = Buffer.from(call.request.cover?.root?.value ?? new Uint8Array()).toString('hex');
    setTimeout(() => {
      for (const page of call.request.pages) {
        events += 1;
        seen.add(`${root}#${page.num ?? -1}`);
      }
      callback(null, {});
    }, callMs);
  },
  handleBatch: (_call, callback) => callback({ code: status.UNIMPLEMENTED, details: 'one book per call' }),
  handleSync: (call, callback) =>
    callback(null, { cover: call.request.cover, projector: 'slow', sequence: 0, projection: undefined }),
  reset: (_call, callback) => callback(null, {}),
};

const server = serveProjector(projector);
setInterval(() => {
  const line = `progress ${seen.size} ${events} ${calls}`;
  if (line !== printed) console.log((printed = line));
}, 100);
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
