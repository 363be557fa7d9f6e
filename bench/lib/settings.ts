import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What every benchmark reads the same way: numeric settings from the environment, and package versions. */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A non-negative number from `name` in the environment, or `fallback` when it is unset or empty. */
export const numberEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  }
  return value;
};

/** The installed version of a package, for the header of a benchmark's output ("?" when unknown). */
export const packageVersion = (name: string): string => {
  try {
    const file = join(repoRoot, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
};
