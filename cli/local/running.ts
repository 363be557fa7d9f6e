import { setTimeout as pause } from 'node:timers/promises';
import {
  groupAlive,
  isProcessAlive as isAlive,
  signalGroup,
  signalProcess,
} from '../../runtime/support/signals.js';
import { readRuntimeFile, removeRuntimeFile, type RuntimeFile } from './runtime-file.js';

/**
 * What .evented/runtime.json says is running, checked against the live processes: the `evented up` process
 * itself, and the user processes it started (each the leader of its own process group).
 */

/** The process groups of user processes that are still alive. */
const leftovers = (file: RuntimeFile): number[] =>
  file.components
    .filter((c) => c.kind === 'process' && c.pid !== undefined && c.pid > 0)
    .map((c) => c.pid!)
    .filter(groupAlive);

export interface RunningEnvironment {
  file: RuntimeFile;
  /** Whether the `evented up` process is alive. */
  upAlive: boolean;
}

export const runningEnvironment = (projectDir: string): RunningEnvironment | undefined => {
  const file = readRuntimeFile(projectDir);
  return file && { file, upAlive: isAlive(file.pid) };
};

/**
 * Ends what an `evented up` that died without stopping left behind (its user processes), and its runtime.json.
 * Returns how many process groups it ended.
 */
export const cleanUpAfter = async (projectDir: string, file: RuntimeFile): Promise<number> => {
  const groups = leftovers(file);
  for (const pid of groups) signalGroup(pid, 'SIGTERM');
  await waitUntil(() => groups.every((pid) => !groupAlive(pid)), 5000);
  for (const pid of groups.filter(groupAlive)) signalGroup(pid, 'SIGKILL');
  await waitUntil(() => groups.every((pid) => !groupAlive(pid)), 2000);
  removeRuntimeFile(projectDir);
  return groups.length;
};

/** Polls `done` until it is true or `timeoutMs` passes; returns whether it became true. */
export const waitUntil = async (done: () => boolean, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await pause(50);
  }
  return true;
};

/** What of the environment is still alive: the up process, and the user processes' groups. */
export const stillRunning = (file: RuntimeFile): { up: boolean; groups: number[] } => ({
  up: isAlive(file.pid),
  groups: leftovers(file),
});

/** Ends by force what is still alive of the environment; returns how many processes (groups) that was. */
export const killLeftovers = (file: RuntimeFile): number => {
  const { up, groups } = stillRunning(file);
  if (up) signalProcess(file.pid, 'SIGKILL');
  for (const pid of groups) signalGroup(pid, 'SIGKILL');
  return groups.length + (up ? 1 : 0);
};

export const allGone = (file: RuntimeFile): boolean => {
  const { up, groups } = stillRunning(file);
  return !up && groups.length === 0;
};
