import { existsSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { repoRoot, eventedBin } from './paths.js';
import { freePort } from './ports.js';
import { startProcess, type TestProcess } from './processes.js';

/** The built CLI (bin/evented.js → dist/), run as a user runs it: a separate node process. */

export const assertBuilt = (): void => {
  if (!existsSync(join(repoRoot, 'dist/cli/main.js'))) {
    throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does) before the e2e tests');
  }
};

export const evented = (
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): TestProcess =>
  startProcess(process.execPath, [eventedBin, ...args], { cwd: options.cwd ?? repoRoot, env: options.env });

/**
 * evented.yaml lines that put every server of the runtime on a free port of its own — fixed, so that a restarted
 * runtime comes back where it was — so that test files running at the same time never meet.
 */
export const runtimePortLines = async (): Promise<string[]> => {
  const lines: string[] = [];
  for (const server of [
    'commandHandler',
    'queryHandler',
    'projectorCoordinator',
    'sagaCoordinator',
    'admin',
  ]) {
    lines.push(`${server}: { port: ${await freePort()} }`);
  }
  return lines;
};

/** Writes `yaml` as the project's evented.yaml; returns its path. */
export const writeConfig = (projectDir: string, yaml: string): string => {
  const path = join(projectDir, 'evented.yaml');
  writeFileSync(path, yaml);
  return path;
};

/** Whether a process with this id still exists. */
export { isProcessAlive as isRunning } from '../../runtime/support/signals.js';

/**
 * Runs the built CLI to its end with `input` on its stdin (a pipe, not a terminal); returns its exit code and
 * its stdout and stderr apart.
 */
export const runEvented = async (
  args: string[],
  options: { cwd?: string; input?: string } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> => {
  const result = await execa(process.execPath, [eventedBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    input: options.input ?? '',
    reject: false,
    stripFinalNewline: false,
    timeout: 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
};
