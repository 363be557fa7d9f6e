// A projector that notes, for every event it is given, its aggregate and sequence, its createdAt (the commit time
// the store stamped, on the machine's real-time clock: the business logic runs with logic-probe.ts) and when the
// call was answered (Date.now(), the same clock). Handle and HandleBatch both. Prints "listening on ADDRESS", then
// "progress DISTINCT" (events given, each (aggregate, sequence) once) whenever it changed, at most every 200 ms; on
// SIGTERM writes "ROOT SEQUENCE CREATED_MS ANSWERED_MS" lines to $OUT and exits.
import { writeFileSync } from 'node:fs';
import type { EventBook, ProjectorServer } from '../../runtime/protocol/gen/evented/evented.js';
import { serveProjector } from './serve-projector.js';
import { wallClockMs } from './wall-clock.js';

const lines: string[] = [];
const seen = new Set<string>();
const note = (books: readonly EventBook[]): void => {
  const at = wallClockMs().toFixed(3);
  for (const book of books) {
    const root = Buffer.from(book.cover?.root?.value ?? new Uint8Array()).toString('hex');
    for (const page of book.pages) {
      const stamp = page.createdAt;
      const created = stamp ? (Number(stamp.seconds) * 1000 + stamp.nanos / 1e6).toFixed(3) : 'NaN';
      lines.push(`${root} ${page.num ?? -1} ${created} ${at}`);
      seen.add(`${root}#${page.num ?? -1}`);
    }
  }
};

const projector: ProjectorServer = {
  handle: (call, callback) => {
    note([call.request]);
    callback(null, {});
  },
  handleBatch: (call, callback) => {
    note(call.request.books);
    callback(null, {});
  },
  handleSync: (call, callback) =>
    callback(null, { cover: call.request.cover, projector: 'timing', sequence: 0, projection: undefined }),
  reset: (_call, callback) => callback(null, {}),
};

const server = serveProjector(projector);
let printed = 0;
setInterval(() => {
  if (seen.size !== printed) console.log(`progress ${(printed = seen.size)}`);
}, 200);
process.on('SIGTERM', () => {
  server.forceShutdown();
  writeFileSync(process.env.OUT!, lines.join('\n'));
  process.exit(0);
});
