import { Command } from 'commander';
import type { CliContext } from './context.js';
import { registerInit } from './commands/init.js';
import { registerServe } from './commands/serve.js';
import { registerLoadConfig } from './commands/load-config.js';
import { registerReplay } from './commands/replay.js';
import { registerSend } from './commands/send.js';
import { registerStatus } from './commands/status.js';
import { registerTail } from './commands/tail.js';
import { registerConsole } from './commands/console.js';
import { registerTrace } from './commands/trace.js';
import { registerUp } from './commands/up.js';
import { registerDown } from './commands/down.js';
import { registerDlq } from './commands/dlq.js';
import { registerDeploy } from './commands/deploy.js';
import { registerTest } from './commands/test.js';
import { registerVerify } from './commands/verify.js';
import { version } from './version.js';

/**
 * Builds the evented program. No side effects: main.ts runs it. Every start registers every command, so
 * registering must stay cheap: a command imports its heavy modules (the runtime, gRPC, ink, .proto loading)
 * inside its action, with `await import(...)`.
 */
export const createProgram = (context: CliContext, options: { json?: boolean } = {}): Command => {
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
      // With --json, main.ts prints a usage error as a JSON object instead.
      outputError: (text, write) => (options.json ? undefined : write(text)),
    });
  registerInit(program, context);
  registerServe(program, context);
  registerLoadConfig(program, context);
  registerStatus(program, context);
  registerConsole(program, context);
  registerSend(program, context);
  registerTail(program, context);
  registerTrace(program, context);
  registerReplay(program, context);
  registerVerify(program, context);
  registerDlq(program, context);
  registerUp(program, context);
  registerDown(program, context);
  registerDeploy(program, context);
  registerTest(program, context);
  const overrideExits = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(overrideExits);
  };
  overrideExits(program);
  return program;
};
