import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { signalProcess } from '../../runtime/support/signals.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { allGone, cleanUpAfter, killLeftovers, runningEnvironment, waitUntil } from '../local/running.js';
import { removeRuntimeFile } from '../local/runtime-file.js';

/**
 * `evented down [dir]`: stops the environment that `evented up` runs for the project (found through
 * .evented/runtime.json): signals the up process, which stops everything it started in reverse order, and waits
 * until it and every process it started are gone. Data under .evented/ stays.
 */

interface DownOptions {
  timeout: string;
}

export const registerDown = (program: Command, context: CliContext): void => {
  program
    .command('down')
    .description('stop what `evented up` started for the project (its data under .evented/ stays)')
    .argument('[dir]', 'the project folder', '.')
    .addOption(
      new Option('--timeout <ms>', 'how long to wait for a clean stop before ending what is left')
        .env('EVENTED_DOWN_TIMEOUT')
        .default('30000'),
    )
    .addHelpText('after', '\nExamples:\n  evented down\n  evented down ./bank')
    .action(async (dir: string, options: DownOptions) => {
      const projectDir = resolve(context.cwd, dir);
      const timeoutMs = Number(options.timeout);
      const running = runningEnvironment(projectDir);
      if (running === undefined) {
        context.stdout.write(`nothing is running for ${projectDir} (no .evented/runtime.json)\n`);
        return;
      }
      const { file } = running;
      if (!running.upAlive) {
        const ended = await cleanUpAfter(projectDir, file);
        context.stdout.write(
          `evented up (pid ${file.pid}) was no longer running${ended > 0 ? `; ended ${ended} process(es) it had left` : ''}; removed its runtime.json\n`,
        );
        return;
      }
      // The up process stops everything it started, in reverse order, then exits.
      signalProcess(file.pid, 'SIGTERM');
      if (!(await waitUntil(() => allGone(file), timeoutMs))) {
        const left = killLeftovers(file);
        await waitUntil(() => allGone(file), 5000);
        removeRuntimeFile(projectDir);
        throw new CliError(
          `evented up (pid ${file.pid}) did not stop within ${timeoutMs} ms; ended ${left} process(es) by force`,
          `see the logs under ${projectDir}/.evented/logs/`,
        );
      }
      removeRuntimeFile(projectDir);
      context.stdout.write(
        `stopped ${file.name} (evented up, pid ${file.pid}); data under .evented/ is kept\n`,
      );
    });
};
