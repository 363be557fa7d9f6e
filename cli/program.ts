import { Command } from 'commander';
import type { CliContext } from './context.js';
import { registerInit } from './commands/init.js';
import { registerServe } from './commands/serve.js';
import { version } from './version.js';

/** Builds the evented program. No side effects: main.ts runs it. */
export const createProgram = (context: CliContext): Command => {
  const program = new Command('evented')
    .description(
      'evented: a CQRS / event-sourcing runtime. Write your domain as gRPC services; evented does the rest.',
    )
    .version(version, '-V, --version')
    .option('--verbose', 'print stack traces of errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    });
  registerInit(program, context);
  registerServe(program, context);
  for (const command of program.commands) command.exitOverride();
  return program;
};
