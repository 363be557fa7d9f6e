import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a thread of their own. A checkpoint copies committed pages from the WAL into the database
 * file and fsyncs it; SQLite runs one automatically inside the commit that brings the WAL to 1000 pages, which
 * on the event loop is a stall of tens of milliseconds for every call in flight. This thread runs a PASSIVE
 * checkpoint (one that never waits for, nor blocks, the writer) every few milliseconds on its own connection,
 * so that by the time the writer's automatic checkpoint comes, nearly everything is copied already: it stays
 * short, and the WAL still starts over from its beginning instead of growing.
 *
 * The thread's code is plain CommonJS evaluated by the worker, so that it runs the same from dist/, under tsx
 * and under vitest; it needs nothing but the driver, whose resolved path it gets in workerData. It is best
 * effort: if it cannot open the file or a checkpoint fails, the writer's own checkpoints still happen.
 */

const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.path);
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
  db.pragma('synchronous = ' + workerData.synchronous);
} catch {
  // The writer checkpoints by itself.
}
const timer = db && setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing: the writer's automatic checkpoint is the backstop.
  }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db?.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Stops the thread (after the checkpoint in progress, if any) and closes its connection. */
  close(): Promise<void>;
}

export const startCheckpointer = (options: {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  busyTimeoutMs: number;
  intervalMs?: number;
}): Checkpointer => {
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: {
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      path: options.path,
      synchronous: options.synchronous,
      busyTimeoutMs: options.busyTimeoutMs,
      intervalMs: options.intervalMs ?? 100,
    },
  });
  // It never keeps the process alive, and its failures only mean that the writer checkpoints by itself.
  worker.unref();
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        worker.ref();
        worker.postMessage('close');
        await exited;
      })();
      return closing;
    },
  };
};
