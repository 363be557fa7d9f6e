import { CommanderError } from 'commander';
import type { CliContext } from './context.js';
import { ExitCode, formatError, formatJsonError, ReportedError, toExitCode } from './errors.js';
import { createProgram } from './program.js';

/**
 * The only module that touches `process`: builds the context, turns SIGINT/SIGTERM into an abort, runs the
 * program and sets the exit code.
 *
 * A reader that goes away (`evented tail events | head`) closes our stdout or stderr: the next write fails with
 * EPIPE. That is how a pipeline says "enough", not a failure: the command is told to stop as on Ctrl-C, prints
 * nothing more, and exits 0.
 */
export const main = async (argv: string[] = process.argv): Promise<void> => {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    controller.abort();
  };
  let readerGone = false;
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    readerGone = true;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);
  const context: CliContext = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    self: { pid: process.pid, execPath: process.execPath, script: argv[1] },
  };
  const verbose = argv.includes('--verbose');
  // With --json, an error is a JSON object too (commander then prints none of its own).
  const json = argv.includes('--json');
  try {
    await createProgram(context, { json }).parseAsync(argv);
    process.exitCode = ExitCode.ok;
  } catch (err) {
    // commander has already printed its own usage errors (with a hint); a command that printed its JSON document
    // and has only its exit status left to give throws a ReportedError; everything else is printed once.
    const shown =
      (err instanceof CommanderError && (!json || err.exitCode === 0)) || err instanceof ReportedError;
    if (!shown && !readerGone) {
      process.stderr.write(`${json ? formatJsonError(err, { verbose }) : formatError(err, { verbose })}\n`);
    }
    process.exitCode = toExitCode(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (readerGone) process.exit(ExitCode.ok);
  // Interrupted: what was started has been stopped; work that cannot be cancelled (a library's download still
  // waiting on the network) must not keep the CLI alive after it has said so.
  if (process.exitCode === ExitCode.interrupted) process.exit(ExitCode.interrupted);
};
