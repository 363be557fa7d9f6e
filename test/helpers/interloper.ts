import { newRoot } from './account.js';
import { acceptWith, coverOf, eventBook, forced, payload } from './books.js';
import { startScriptedBusinessLogic } from './business-logic.js';
import { startTestRuntime } from './runtime.js';
import { tempDir } from './tmp.js';

/**
 * An account whose aggregate keeps changing under its commands: business logic that, every time it is asked,
 * lets another writer (another runtime on the same store, in `projectDir`) append a `test/Interloper` event
 * first, then accepts with a `test/Own` event. A runtime started on `projectDir` with this business logic loses
 * every race on `root`.
 */
export const startInterloper = async () => {
  const projectDir = tempDir();
  const other = await startTestRuntime({}, { projectDir });
  const root = newRoot();
  const cover = coverOf('account', root);
  const logic = await startScriptedBusinessLogic(async (context) => {
    await other.commands.record(eventBook(cover, [forced(payload('test/Interloper'))]));
    return acceptWith(1, payload('test/Own'))(context);
  });
  return { projectDir, root, logic };
};
