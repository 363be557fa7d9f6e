import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';

/**
 * `evented console`: opens the running runtime's web console in a browser (the `BROWSER` command when set, else
 * the desktop's opener), or, with --print or where no browser can be opened, prints its address. The address is
 * the runtime's own (Admin.Status), so it is right whatever port evented.yaml or `up --instances` gave it.
 */

interface ConsoleOptions extends RemoteOptions {
  print?: boolean;
}

/** The program that opens a URL on this machine, or none where there is no desktop to open it on. */
const openerOf = (context: CliContext): { command: string; args: string[] } | undefined => {
  const [browser, ...args] = context.env.BROWSER?.trim().split(/\s+/) ?? [];
  if (browser) return { command: browser, args };
  if (process.platform === 'darwin') return { command: 'open', args: [] };
  if (process.platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""'] };
  return context.env.DISPLAY || context.env.WAYLAND_DISPLAY ? { command: 'xdg-open', args: [] } : undefined;
};

/** Runs the opener, detached; resolves false when it could not be started or failed at once. */
const open = (opener: { command: string; args: string[] }, url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const child = spawn(opener.command, [...opener.args, url], {
      stdio: 'ignore',
      detached: true,
      shell: false,
    });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });

export const registerConsole = (program: Command, context: CliContext): void => {
  withRemoteOptions(
    program
      .command('console')
      .description("open the running runtime's web console in a browser (its address is printed too)"),
  )
    .option('--print', 'only print the address')
    .addHelpText(
      'after',
      "\nThe browser is the command in $BROWSER when set, else the desktop's (xdg-open, open).\n\nExamples:\n  evented console\n  evented console --print\n",
    )
    .action(async (options: ConsoleOptions) => {
      const status = await withAdmin(context, options, (admin) => admin.status());
      const url = status.consoleUrl;
      if (!url) {
        throw new CliError(
          'the runtime of this project serves no console',
          'its evented.yaml says console: { enabled: false }, or it holds no role admin; `evented status` shows its roles',
        );
      }
      const opener = options.print ? undefined : openerOf(context);
      if (opener && (await open(opener, url))) {
        context.stdout.write(`opened ${url}\n`);
        return;
      }
      context.stdout.write(`${url}\n`);
      if (options.print) return;
      context.stderr.write(
        opener
          ? `could not start ${opener.command}: open the address yourself\n`
          : 'no desktop here to open a browser on (no DISPLAY): open the address yourself, or set BROWSER\n',
      );
    });
};
