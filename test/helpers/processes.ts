import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll } from 'vitest';

/**
 * Real child processes for tests: started with execa, ready when a line of output matches, and always killed
 * when the test file ends (so no test leaves a process behind).
 */
export interface TestProcess {
  readonly child: ResultPromise;
  readonly pid: number;
  /** Everything the process printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Waits for a line matching `pattern` (already printed or still to come). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends a signal and waits for the process to exit; returns its exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<{ exitCode?: number; signal?: string }>;
  /** Waits for the process to exit by itself; returns its exit code or signal. */
  exited(): Promise<{ exitCode?: number; signal?: string }>;
}

const running = new Set<ResultPromise>();
afterAll(async () => {
  // SIGTERM first, so that an `evented up` left running by a failed test stops the processes it started;
  // execa sends SIGKILL to whatever is still there 5 s later (forceKillAfterDelay).
  for (const child of running) child.kill('SIGTERM');
  await Promise.allSettled([...running]);
  running.clear();
});

export const startProcess = (
  file: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): TestProcess => {
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    all: true,
    reject: false,
    buffer: false,
    forceKillAfterDelay: 5000,
  });
  running.add(child);
  let text = '';
  const listeners = new Set<() => void>();
  child.all?.setEncoding('utf8');
  child.all?.on('data', (chunk: string) => {
    text += chunk;
    for (const listener of listeners) listener();
  });
  let done = false;
  const exited = child.then((result) => {
    running.delete(child);
    // Before the listeners run, so that a waitFor sees the exit at once rather than at its timeout.
    done = true;
    for (const listener of listeners) listener();
    return result;
  });

  return {
    child,
    pid: child.pid!,
    output: () => text,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = text.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          } else if (done) {
            cleanup();
            reject(new Error(`${file} exited before printing ${pattern}; it printed:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${file} did not print ${pattern} within ${timeoutMs} ms; it printed:\n${text}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async exited() {
      const result = await exited;
      return { exitCode: result.exitCode, signal: result.signal };
    },
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      const result = await exited;
      return { exitCode: result.exitCode, signal: result.signal };
    },
  };
};

/** Whether anything of the process group led by `pid` is alive (EPERM: alive, another user's). */
export const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code === 'EPERM') return true;
    throw error;
  }
};

/**
 * `root`/bin, holding links named after programs (`{ node: process.execPath }`): as a child's PATH, or first on it,
 * they decide which binary a command name runs.
 */
export const binFolder = (root: string, links: Record<string, string> = {}): string => {
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const [name, target] of Object.entries(links)) {
    if (!existsSync(join(bin, name))) symlinkSync(target, join(bin, name));
  }
  return bin;
};

/** Whether the process `pid` is alive, by /proc: it exists and is not a zombie (waiting only to be reaped). */
export const aliveInProc = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

/**
 * The live processes (not this one) whose command line, working folder or environment mentions `text` — a
 * project folder, say: everything started for that project, whoever its parent is now. From /proc.
 */
export const processesMentioning = (text: string): { pid: number; command: string }[] => {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!/^\d+$/.test(entry) || pid === process.pid || !aliveInProc(pid)) continue;
    const read = (what: string): string => {
      try {
        return what === 'cwd'
          ? readlinkSync(`/proc/${pid}/cwd`)
          : readFileSync(`/proc/${pid}/${what}`, 'latin1');
      } catch {
        return '';
      }
    };
    const command = read('cmdline').replaceAll('\0', ' ').trim();
    if ([command, read('cwd'), read('environ')].some((field) => field.includes(text))) {
      found.push({ pid, command });
    }
  }
  return found;
};
