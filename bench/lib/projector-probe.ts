// Preloaded into the user's projector process by `bench/delivery.ts` (`node --import tsx --import THIS src/projector.ts`):
// it leaves the projector's code as it is and only watches its gRPC calls. When a Handle or HandleBatch call has
// been answered (the events are applied to the read model and saved), it notes, per event, the time on the
// machine's real-time clock (wall-clock.ts: Date.now(), the clock the store stamps commits with), the
// event's createdAt and its aggregate and sequence. On exit it writes them to $PROBE_OUT as JSON lines.
import { writeFileSync } from 'node:fs';
import grpc from '@grpc/grpc-js';
import { wallClockMs } from './wall-clock.js';

interface Page {
  num?: number;
  createdAt?: Date | { seconds?: number | string; nanos?: number };
}
interface Book {
  cover?: { root?: { value?: Uint8Array } };
  pages?: Page[];
}

const out = process.env.PROBE_OUT;
/** Flat columns, to keep the probe's own cost low: root (hex), sequence, createdAt (ms), answered at (ms). */
const roots: string[] = [];
const sequences: number[] = [];
const created: number[] = [];
const answered: number[] = [];
/** How long each call took inside the projector (ms). */
const calls: number[] = [];

const createdMs = (page: Page): number => {
  const at = page.createdAt;
  if (at === undefined) return Number.NaN;
  if (at instanceof Date) return at.getTime();
  return Number(at.seconds ?? 0) * 1000 + (at.nanos ?? 0) / 1e6;
};

const note = (books: Book[]): void => {
  const at = wallClockMs();
  for (const book of books) {
    const root = Buffer.from(book.cover?.root?.value ?? new Uint8Array()).toString('hex');
    for (const page of book.pages ?? []) {
      roots.push(root);
      sequences.push(page.num ?? -1);
      created.push(createdMs(page));
      answered.push(at);
    }
  }
};

type Handler = (call: { request: unknown }, callback: (...args: unknown[]) => void) => void;

const watch =
  (handler: Handler, booksOf: (request: unknown) => Book[]): Handler =>
  (call, callback) => {
    const at = wallClockMs();
    handler(call, (...args) => {
      calls.push(wallClockMs() - at);
      if (args[0] === null || args[0] === undefined) note(booksOf(call.request));
      callback(...args);
    });
  };

if (out !== undefined && out !== '') {
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (
    this: grpc.Server,
    definition: grpc.ServiceDefinition,
    implementation: grpc.UntypedServiceImplementation,
  ): void {
    const wrapped = { ...implementation } as Record<string, unknown>;
    if (typeof wrapped.handle === 'function' && 'handleBatch' in definition) {
      wrapped.handle = watch(wrapped.handle as Handler, (request) => [request as Book]);
    }
    if (typeof wrapped.handleBatch === 'function') {
      wrapped.handleBatch = watch(
        wrapped.handleBatch as Handler,
        (request) => (request as { books?: Book[] }).books ?? [],
      );
    }
    addService.call(this, definition, wrapped as grpc.UntypedServiceImplementation);
  };
  process.on('exit', () => {
    const lines: string[] = [];
    for (let i = 0; i < roots.length; i += 1) {
      lines.push(`${roots[i]} ${sequences[i]} ${created[i]!.toFixed(3)} ${answered[i]!.toFixed(3)}`);
    }
    writeFileSync(out, lines.join('\n'));
    writeFileSync(`${out}.calls`, calls.map((ms) => ms.toFixed(3)).join('\n'));
  });
}
