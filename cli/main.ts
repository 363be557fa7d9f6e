import { CommanderError } from 'commander';
import type { CliContext } from './context.js';
import { ExitCode, formatError, ReportedError, toExitCode } from './errors.js';
import { createProgram } from './program.js';

/**
 * The only module that touches `process`: builds the context, turns SIGINT/SIGTERM into an abort, runs the
 * program and sets the exit code.
 */
export const main = async (argv: string[] = process.argv): Promise<void> => {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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
  try {
    await createProgram(context).parseAsync(argv);
    process.exitCode = ExitCode.ok;
  } catch (err) {
    // commander has already printed its own usage errors (with a hint), a command its JSON error; print
    // everything else once.
    if (!(err instanceof CommanderError) && !(err instanceof ReportedError)) {
      process.stderr.write(`${formatError(err, { verbose })}\n`);
    }
    process.exitCode = toExitCode(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // Interrupted: what was started has been stopped; work that cannot be cancelled (a library's download still
  // waiting on the network) must not keep the CLI alive after it has said so.
  if (process.exitCode === ExitCode.interrupted) process.exit(ExitCode.interrupted);
};
