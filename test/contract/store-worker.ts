import { createInterface } from 'node:readline';
import { openWith, runWriter, type StoreOpener, type WriterPlan } from './writers.js';

/**
 * A writer in its own process, for the cross-process concurrency contract:
 *   node --import tsx test/contract/store-worker.ts '{"opener": …, "plan": …}'
 * It opens the store, prints "ready", waits for a line "go" on stdin (so that every writer starts at once),
 * runs the writer, prints "done {conflicts}" and exits 0; on any error it prints it and exits 1.
 */

const { opener, plan } = JSON.parse(process.argv[2] ?? '{}') as { opener: StoreOpener; plan: WriterPlan };

const main = async (): Promise<void> => {
  const store = await openWith(opener);
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.on('line', (line) => line.trim() === 'go' && resolve()));
  console.log('ready');
  await go;
  lines.close();
  const report = await runWriter(store, plan);
  await store.close();
  console.log(`done ${JSON.stringify(report)}`);
};

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
