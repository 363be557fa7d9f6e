import { execa } from 'execa';
import { closeSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { UnavailableError } from '../errors/index.js';
import type { UserProcessConfig } from '../config/schema.js';
import type { SignalRecord } from '../infra/stop-record.js';
import { acceptsConnections } from '../support/net.js';
import { identify, recordedGroupAlive, signalRecorded } from '../support/signals.js';

/**
 * The user's own services from evented.yaml `processes`: each runs its command through a shell in its own
 * process group (so that stopping it stops what the shell started — npx, tsx, node — and Ctrl-C in the
 * terminal reaches evented up alone, which then stops everything in order), with stdout and stderr appended to
 * `.evented/logs/NAME.log`. The process writes to the file itself: its output does not depend on evented up
 * reading it, and survives it.
 */

export interface UserProcess {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
  readonly address: string | undefined;
  /** How another process can stop it: its process group, known by its leader's pid and start time. */
  readonly record: SignalRecord;
  /** Resolves with a description of how it ended ("exited with code 1", "killed by SIGKILL"). */
  readonly ended: Promise<string>;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export const logsFolder = (projectDir: string): string => join(projectDir, '.evented', 'logs');

/** The line `up` writes into a process's log before starting it: what follows the last one is this run's. */
export const RUN_MARK = '--- evented up, ';

/** The lines of this run's part of a log (read from its last 64 KiB), or none while there is no log. */
export const lastRunLines = (log: string): string[] => {
  try {
    const size = statSync(log).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    const fd = openSync(log, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    const lines = buffer.toString('utf8').split('\n');
    return lines.slice(lines.map((line) => line.startsWith(RUN_MARK)).lastIndexOf(true) + 1);
  } catch {
    return [];
  }
};

const describeEnd = (result: { exitCode?: number; signal?: string }): string =>
  result.signal ? `was killed by ${result.signal}` : `exited with code ${String(result.exitCode)}`;

export const spawnUserProcess = (
  name: string,
  config: UserProcessConfig,
  projectDir: string,
  env: NodeJS.ProcessEnv,
): UserProcess => {
  const logs = logsFolder(projectDir);
  mkdirSync(logs, { recursive: true });
  const log = join(logs, `${name}.log`);
  const fd = openSync(log, 'a');
  writeSync(fd, `${RUN_MARK}${new Date().toISOString()}: ${config.command}\n`);
  const cwd = isAbsolute(config.cwd) ? config.cwd : join(projectDir, config.cwd);
  // A file descriptor of our own: execa's types take one only as a literal number.
  const output = fd as 3;
  const child = execa(config.command, [], {
    shell: true,
    cwd,
    env: { ...env, ...config.env },
    stdin: 'ignore',
    stdout: output,
    stderr: output,
    detached: true,
    reject: false,
  });
  closeSync(fd); // the child has its own copy
  const pid = child.pid ?? -1;
  // Read at once, while the shell is surely alive (it is our child and not yet reaped).
  const record: SignalRecord = { how: 'signal', pid, startTime: identify(pid)?.startTime ?? '', group: true };
  const ended = child.then(
    (result) => describeEnd(result),
    (err: unknown) => `could not be started: ${(err as Error).message}`,
  );
  if (pid === -1) {
    return { name, pid, log, address: config.readyOn, record, ended, stop: async () => undefined };
  }
  let gone = false;
  void ended.then(() => (gone = true));
  const alive = (): boolean => recordedGroupAlive(record);
  return {
    name,
    pid,
    log,
    address: config.readyOn,
    record,
    ended,
    async stop(graceMs = 5000) {
      // The shell may be gone while what it started lives on: stop the group either way.
      if (!alive()) return;
      signalRecorded(record, 'SIGTERM', true);
      const deadline = Date.now() + graceMs;
      while (alive() && Date.now() < deadline) await pause(50);
      if (alive()) signalRecorded(record, 'SIGKILL', true);
      while (alive() && Date.now() < deadline + 2000) await pause(50);
      if (!gone) await Promise.race([ended, pause(1000)]);
    },
  };
};

/**
 * Waits until the process accepts connections on its readyOn address (or, without one, that it is still
 * running a moment after its start). Throws when it ends first or the time runs out, naming its log.
 */
export const waitUntilReady = async (
  process: UserProcess,
  command: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> => {
  let ended: string | undefined;
  void process.ended.then((how) => (ended = how));
  const deadline = Date.now() + (process.address ? timeoutMs : 500);
  const failure = (what: string): UnavailableError =>
    new UnavailableError(`process "${process.name}" ${what}; its log: ${process.log}`, {
      hint: `run it by hand to see why (${command}), or fix processes.${process.name} in evented.yaml`,
    });
  for (;;) {
    if (ended !== undefined) {
      const where = process.address ? ` before accepting connections on ${process.address}` : '';
      throw failure(`${ended}${where}`);
    }
    if (signal?.aborted) throw new UnavailableError(`interrupted while "${process.name}" was starting`);
    if (process.address && (await acceptsConnections(process.address, 250))) return;
    if (Date.now() > deadline) {
      if (!process.address) return;
      throw failure(`did not accept connections on ${process.address} within ${timeoutMs} ms`);
    }
    await pause(process.address ? 50 : 100);
  }
};
