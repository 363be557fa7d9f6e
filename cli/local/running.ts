import { setTimeout as pause } from 'node:timers/promises';
import { isSameProcess } from '../../runtime/support/signals.js';
import { readRuntimeFile, removeRuntimeFile, type RuntimeFile } from './runtime-file.js';

/**
 * What .evented/runtime.json says is running, checked against the live processes: the `evented up` process
 * itself (by pid and start time), and what it recorded having started.
 */

export interface RunningEnvironment {
  file: RuntimeFile;
  /** Whether the `evented up` process that wrote the file is alive (the same process, not a reused pid). */
  upAlive: boolean;
}

export const upIdentity = (file: RuntimeFile): { pid: number; startTime: string } => ({
  pid: file.pid,
  startTime: file.pidStartTime ?? '',
});

export const runningEnvironment = (projectDir: string): RunningEnvironment | undefined => {
  const file = readRuntimeFile(projectDir);
  return file && { file, upAlive: isSameProcess(upIdentity(file)) };
};

/**
 * Ends what an `evented up` that died without stopping left running (everything it recorded: its processes,
 * broker node, agent, containers), then removes its runtime.json. Returns the names of what it ended.
 */
export const cleanUpAfter = async (projectDir: string, file: RuntimeFile): Promise<string[]> => {
  const { endAllRecorded } = await import('../../runtime/index.js');
  const ended = await endAllRecorded(file.components);
  removeRuntimeFile(projectDir);
  return ended;
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

/** "ended 3 processes it had left running (a, b, c)", or "" */
export const describeEnded = (ended: readonly string[]): string =>
  ended.length === 0 ? '' : `ended what it had left running: ${ended.join(', ')}`;
