import type { Readable, Writable } from 'node:stream';

/** What a command may touch of the outside world; main.ts builds it from `process`, tests build their own. */
export interface CliContext {
  /** Prompts read it, only when it is a terminal. */
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /** This CLI process, for commands that record or re-run it (`evented up` and its --detach). */
  self?: { pid: number; execPath: string; script: string | undefined };
}
