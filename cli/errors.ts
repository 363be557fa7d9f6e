import { CommanderError } from 'commander';
import { isEventedError } from '../runtime/errors/index.js';

/** The CLI's one mapping from errors to exit codes and to what the user reads. */

export const ExitCode = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** A failure the user can act on that is not a bug (a folder that cannot be written): one line with a hint, exit 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    /** What a script can match on: a gRPC status name for a runtime's refusal ("FAILED_PRECONDITION"), … */
    readonly code?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A mistake in how the CLI was called: printed as one line with a hint, exit code 2. */
export class UsageError extends CliError {}

/** The user interrupted the command (Ctrl-C at a prompt) before it did anything: exit code 130. */
export class InterruptedError extends CliError {
  constructor() {
    super('interrupted');
  }
}

/**
 * An error the command has already reported in the form the user asked for (its --json document says what
 * failed): main.ts prints nothing more, and exits as the original error says.
 */
export class ReportedError extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
    this.name = 'ReportedError';
  }
}

export const toExitCode = (err: unknown): number => {
  if (err instanceof ReportedError) return toExitCode(err.original);
  if (err instanceof UsageError) return ExitCode.usage;
  if (err instanceof InterruptedError) return ExitCode.interrupted;
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  return ExitCode.failure;
};

/** What to print for an error: one clear line (and a hint) for anything the user can fix; the stack for bugs. */
export const formatError = (err: unknown, options: { verbose: boolean }): string => {
  const stack = options.verbose && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  if (err instanceof CliError || isEventedError(err)) {
    const hint = err.hint ? `\n  hint: ${err.hint}` : '';
    return `error: ${err.message}${hint}${stack}`;
  }
  if (err instanceof Error) {
    return `error: unexpected: ${err.message}\n${err.stack ?? ''}\nThis is a bug in evented; please report it with the lines above.`;
  }
  return `error: unexpected: ${String(err)}`;
};

/**
 * The error as one JSON object, for commands run with --json, so that what a script reads stays JSON when the
 * command fails: `{"error": {"message", "hint"?, "code"?, "exitCode"}}`, printed on stderr like every error.
 */
export const formatJsonError = (err: unknown, options: { verbose: boolean }): string => {
  const exitCode = toExitCode(err);
  const stack = options.verbose && err instanceof Error ? err.stack : undefined;
  if (err instanceof CommanderError) {
    return JSON.stringify({
      error: { message: err.message.replace(/^error: /, ''), code: err.code, exitCode },
    });
  }
  if (err instanceof CliError || isEventedError(err)) {
    const code =
      err instanceof CliError ? (err.code ?? (err instanceof UsageError ? 'USAGE' : undefined)) : err.code;
    return JSON.stringify({ error: { message: err.message, hint: err.hint, code, exitCode, stack } });
  }
  const message = err instanceof Error ? err.message : String(err);
  return JSON.stringify({
    error: {
      message: `unexpected: ${message}`,
      code: 'BUG',
      exitCode,
      stack: err instanceof Error ? err.stack : undefined,
    },
  });
};
