import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The project a command works on, found the way git finds its repository: from the folder given (or the current
 * one) up, the nearest folder holding evented.yaml. A command run in bank/src works on bank. When no folder
 * above holds one, the folder given, so that the command says what is missing there.
 */
export const findProjectDir = (cwd: string, dir = '.'): string => {
  const start = resolve(cwd, dir);
  for (let folder = start; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'evented.yaml'))) return folder;
    if (dirname(folder) === folder) return start;
  }
};
