import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Signals to processes and process groups, and whether they are alive: `process.kill` and /proc, without
 * dependencies, so that the CLI can check on and stop an environment without loading the runtime.
 *
 * A pid written to a file may have been reused by another process since: a recorded process is known by its pid
 * AND its start time (ProcessIdentity), and is signalled only while both still match.
 */

const hasProc = existsSync('/proc/self/stat');

/** Sends `signal` to the process group led by `pid` (falls back to the process alone). */
export const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
};

/** Sends `signal` to the process `pid` alone; false when it is gone. */
export const signalProcess = (pid: number, signal: NodeJS.Signals): boolean => {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
};

/** Whether the process `pid` is alive (a zombie, dead and only waiting for its parent to reap it, is not). */
export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !hasProc || startTimeOf(pid) !== undefined;
};

/** Whether anything of the process group led by `pid` is still alive. */
export const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A process as it was recorded: its pid, and its start time (see startTimeOf). */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/**
 * When the process `pid` started, as an opaque string that differs between two processes that had the same pid:
 * field 22 of /proc/PID/stat (clock ticks after boot); where there is no /proc, what `ps -o lstart=` prints.
 * Undefined when there is no such process (a zombie counts as gone: it is only waiting to be reaped).
 */
export const startTimeOf = (pid: number): string | undefined => {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (hasProc) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Field 2, the command name, is in parentheses and may hold spaces: count from the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' ? undefined : fields[19];
    } catch {
      return undefined;
    }
  }
  try {
    const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return started === '' ? undefined : started;
  } catch {
    return undefined;
  }
};

/** The identity of the live process `pid`, or undefined when it is gone. */
export const identify = (pid: number): ProcessIdentity | undefined => {
  const startTime = startTimeOf(pid);
  return startTime === undefined ? undefined : { pid, startTime };
};

/** Whether the recorded process is still running: its pid exists and started when it was recorded. */
export const isSameProcess = (id: ProcessIdentity | undefined): id is ProcessIdentity =>
  id !== undefined && id.startTime !== '' && startTimeOf(id.pid) === id.startTime;

/**
 * Whether anything of the process group the recorded process leads is alive. While the leader lives, it must be
 * the recorded one; once it is gone, its group may live on (what its shell started), and the group id is
 * still the recorded one: the system does not give a pid to a new process while a group of that id exists.
 */
export const recordedGroupAlive = (leader: ProcessIdentity): boolean => {
  const now = startTimeOf(leader.pid);
  if (now !== undefined && now !== leader.startTime) return false;
  return groupAlive(leader.pid);
};

/** Signals the recorded process (and, with `group`, its group) only if it is still the recorded one. */
export const signalRecorded = (id: ProcessIdentity, signal: NodeJS.Signals, group: boolean): boolean => {
  if (group) {
    if (!recordedGroupAlive(id)) return false;
    signalGroup(id.pid, signal);
    return true;
  }
  return isSameProcess(id) && signalProcess(id.pid, signal);
};

/** The processes descending from `pid` (children, their children, …), from /proc; empty where there is none. */
export const descendantsOf = (pid: number): number[] => {
  if (!hasProc) return [];
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const child of children.get(parent) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
};
