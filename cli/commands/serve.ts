import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONSUL_PREFIX } from '../../runtime/config/sources/consul-defaults.js';
import type { Runtime } from '../../runtime/index.js';
import type { CliContext } from '../context.js';
import { InterruptedError } from '../errors.js';
import { version } from '../version.js';
import { findProjectDir } from '../local/project.js';

/** The second line of `serve`: the admin service (what the CLI talks to), the bus, and who receives events. */
const describeDelivery = (runtime: Runtime): string => {
  const { bus, projectors, sagas } = runtime.deliveryStatus();
  const names = (list: { name: string }[]): string =>
    list.length === 0 ? 'none' : list.map((it) => it.name).join(', ');
  return `admin on ${runtime.admin.address}; bus ${bus.kind} (${bus.location}); projectors: ${names(projectors)}; sagas: ${names(sagas)}`;
};

interface ServeOptions {
  /** Read the configuration from Consul KV (written by `evented load-config`) instead of evented.yaml. */
  consul?: string;
  prefix: string;
  name?: string;
}

/** `evented serve [dir]`: runs the framework services of a project in the foreground until interrupted. */
export const registerServe = (program: Command, context: CliContext): void => {
  program
    .command('serve')
    .description('run the framework services (command handler, query handler) of a project in the foreground')
    .argument('[dir]', 'the project folder, holding evented.yaml', '.')
    .option('--consul <url>', 'read the configuration from Consul KV at this agent instead of evented.yaml')
    .option('--prefix <prefix>', 'with --consul: the KV prefix the project is under', DEFAULT_CONSUL_PREFIX)
    .option('--name <project>', 'with --consul: the project under the prefix (default: the only one there)')
    .addHelpText(
      'after',
      '\nExamples:\n  evented serve ./bank     # Ctrl-C drains in-flight calls and stops\n  evented serve ./bank --consul http://127.0.0.1:8500 --name bank   # configuration from evented load-config\n',
    )
    .action(async (dir: string, options: ServeOptions) => {
      const projectDir = findProjectDir(context.cwd, dir);
      const { readConfigFile, readConfigFromConsul, startRuntime } = await import('../../runtime/index.js');
      // SIGTERM or Ctrl-C while loading stops there, without serving (a large configuration takes seconds).
      const config = await (
        options.consul
          ? readConfigFromConsul(options.consul, options.prefix, options.name)
          : readConfigFile(join(projectDir, 'evented.yaml'), { signal: context.signal })
      ).catch((err: unknown) => {
        throw context.signal.aborted ? new InterruptedError() : err;
      });
      if (context.signal.aborted) throw new InterruptedError();
      const runtime = await startRuntime(config, { projectDir, version, env: context.env });
      if (context.signal.aborted) {
        await runtime.close();
        throw new InterruptedError();
      }
      context.stdout.write(
        `evented serving ${config.name}: commands on ${runtime.commandHandler.address}, queries on ${runtime.queryHandler.address}, store ${runtime.store.kind} at ${runtime.store.location}\n`,
      );
      context.stdout.write(`  ${describeDelivery(runtime)}\n`);
      await new Promise<void>((done) =>
        context.signal.addEventListener('abort', () => done(), { once: true }),
      );
      await runtime.close();
    });
};
