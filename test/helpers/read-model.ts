import { readFileSync } from 'node:fs';
import type { AccountView } from '../../templates/typescript/src/read-model.js';

/** The sample projector's read model, as it is on disk now ({} before its first write). */
export const readAccounts = (path: string): Record<string, AccountView> => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, AccountView>;
  } catch {
    return {};
  }
};
