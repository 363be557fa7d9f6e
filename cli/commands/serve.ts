import { resolve, join } from 'node:path';
import type { Command } from 'commander';
import { readConfigFile, startRuntime } from '../../runtime/index.js';
import type { CliContext } from '../context.js';

/** `evented serve [dir]`: runs the framework services of a project in the foreground until interrupted. */
export const registerServe = (program: Command, context: CliContext): void => {
  program
    .command('serve')
    .description('run the framework services (command handler, query handler) of a project in the foreground')
    .argument('[dir]', 'the project folder, holding evented.yaml', '.')
    .addHelpText('after', '\nExample:\n  evented serve ./bank     # Ctrl-C drains in-flight calls and stops')
    .action(async (dir: string) => {
      const projectDir = resolve(context.cwd, dir);
      const config = await readConfigFile(join(projectDir, 'evented.yaml'));
      const runtime = await startRuntime(config, { projectDir });
      context.stdout.write(
        `evented serving ${config.name}: commands on ${runtime.commandHandler.address}, queries on ${runtime.queryHandler.address}, store ${runtime.store.kind} at ${runtime.store.location}\n`,
      );
      await new Promise<void>((done) =>
        context.signal.addEventListener('abort', () => done(), { once: true }),
      );
      await runtime.close();
    });
};
