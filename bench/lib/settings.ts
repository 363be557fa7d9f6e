import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What every benchmark reads the same way: numeric settings from the environment or its arguments, package
 * versions, and the machine's load.
 */

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

/** `--NAME N` among the benchmark's arguments (`npm run bench -- delivery --runs 5`), a positive integer. */
export const intFlag = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const raw = process.argv[index + 1];
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} takes a positive whole number, got "${raw ?? ''}"`);
  }
  return value;
};

/** The machine's load averages over 1, 5 and 15 minutes, as `uptime` prints them. */
export const loadAverage = (): string =>
  loadavg()
    .map((load) => load.toFixed(2))
    .join(', ');
