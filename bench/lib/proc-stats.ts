import { readFileSync, writeFileSync } from 'node:fs';

/** Memory and CPU of a process, from /proc (Linux). Every reader returns undefined where /proc is unavailable. */

const statusField = (pid: number, field: string): number | undefined => {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'),
    );
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
};

/** Peak resident set size in KiB (VmHWM): since the process started, or since resetPeakRss. */
export const peakRssKiB = (pid: number): number | undefined => statusField(pid, 'VmHWM');

export const rssKiB = (pid: number): number | undefined => statusField(pid, 'VmRSS');

/** Resets VmHWM to the current RSS (writes 5 to /proc/PID/clear_refs); false when that is not allowed. */
export const resetPeakRss = (pid: number): boolean => {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
};

const TICKS_PER_SECOND = 100;

/** CPU time (user + system) in seconds. */
export const cpuSeconds = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
};

/** CPU time the whole machine spent busy (everything but idle and iowait), in seconds of one core. */
export const machineBusySeconds = (): number | undefined => {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
};
