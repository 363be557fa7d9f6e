/**
 * Signals to processes and process groups, and whether they are alive: `process.kill` alone, without
 * dependencies, so that the CLI can check on and stop an environment without loading the runtime.
 */

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

/** Whether the process `pid` exists. */
export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
