import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/**
 * Subprocesses for benchmarks: started with piped output, ready when a line matches, and always stopped when
 * the benchmark ends, on success, on error and on Ctrl-C (SIGINT/SIGTERM), so no run leaves a process behind.
 */
export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  /** Everything it printed so far (stdout and stderr interleaved, the last 64 KiB). */
  output(): string;
  /** Waits for output matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
const MAX_OUTPUT = 64 * 1024;

export const startProcess = (
  name: string,
  file: string,
  args: string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    /** Also write all output to this file. */ logFile?: string;
  } = {},
): BenchProcess => {
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (text.length > MAX_OUTPUT) text = text.slice(-MAX_OUTPUT);
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  if (options.logFile !== undefined) {
    const log = createWriteStream(options.logFile);
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    child.once('close', () => log.end());
  }
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      text += `\n[${name}] ${err.message}\n`;
      done = true;
      running.delete(child);
      for (const listener of listeners) listener();
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      done = true;
      running.delete(child);
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });

  return {
    name,
    pid: child.pid ?? -1,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = text.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          } else if (done) {
            cleanup();
            reject(new Error(`${name} exited before printing ${pattern}; it printed:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms; it printed:\n${text}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(graceMs = 5000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
};

/** Kills whatever is still running, synchronously (for process exit). */
export const killAll = (): void => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
};

/**
 * Runs `main` with cleanup: `cleanup` runs once on success, error, SIGINT or SIGTERM; any subprocess still
 * running afterwards is killed. Sets the exit code (1 on error, 130/143 on a signal).
 */
export const runBenchmark = async (
  main: () => Promise<void>,
  cleanup: () => Promise<void>,
): Promise<void> => {
  let cleaned: Promise<void> | undefined;
  const clean = (): Promise<void> =>
    (cleaned ??= cleanup().catch((err: unknown) => {
      console.error(`cleanup failed: ${(err as Error).message}`);
    }));
  process.on('exit', killAll);
  // Ctrl-C may arrive twice (from the terminal and forwarded by the runner): stop once, ignore the repeats.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping the benchmark's processes…`);
    void clean().finally(() => {
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await main();
  } catch (err) {
    // Once stopping on a signal, what main() runs into is the stop itself.
    if (!stopping) {
      console.error(`\nbenchmark failed: ${(err as Error).stack ?? String(err)}`);
      process.exitCode = 1;
    }
  } finally {
    await clean();
    killAll();
  }
};
