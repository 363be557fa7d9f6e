import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * How a user runs this evented from any folder. It is not published under its name on npm (`npx evented` would
 * fetch an unrelated package of that name): the way is `npm link` in its clone, which puts `evented` on PATH
 * as a link to the clone's bin/evented.js. Until then, that file's path is the command.
 */
export interface Invocation {
  /** What to type: `evented`, or the path of bin/evented.js. */
  command: string;
  /** Whether `evented` on PATH is this one. */
  onPath: boolean;
  /** The evented package (the clone): where `npm link` is run. */
  packageDir: string;
}

const real = (path: string): string | undefined => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};

const shellWord = (text: string): string =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;

export const eventedInvocation = (packageDir: string, env: NodeJS.ProcessEnv): Invocation => {
  const bin = join(packageDir, 'bin', 'evented.js');
  const self = real(bin);
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'evented');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    // The first `evented` on PATH is what the shell runs: ours, or another one.
    if (self !== undefined && real(candidate) === self)
      return { command: 'evented', onPath: true, packageDir };
    break;
  }
  return { command: shellWord(bin), onPath: false, packageDir };
};
