import { readFileSync } from 'node:fs';
import type { AccountView } from '../../templates/typescript/src/read-model.js';

/**
 * The sample projector's read model, as it is on disk now ({} before its first write: no file yet). Any other
 * failure is the test's: the projector writes the file whole (a temporary file, then a rename), so a file that
 * cannot be read or parsed is a defect to see, not an empty model.
 */
export const readAccounts = (path: string): Record<string, AccountView> => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  return JSON.parse(text) as Record<string, AccountView>;
};
