import { Option, type Command } from 'commander';
import { isSameProcess, signalRecorded } from '../../runtime/support/signals.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { cleanUpAfter, describeEnded, runningEnvironment, upIdentity, waitUntil } from '../local/running.js';
import { readRuntimeFile } from '../local/runtime-file.js';
import { findProjectDir } from '../local/project.js';

/**
 * `evented down [dir]`: stops the environment that `evented up` runs for the project (found through
 * .evented/runtime.json): signals the up process, which stops everything it started in reverse order, and waits
 * until it is gone; then ends whatever of what it recorded is still running (all of it, when `up` had died).
 * A recorded pid is signalled only while its start time still matches. Data under .evented/ stays.
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
      const projectDir = findProjectDir(context.cwd, dir);
      const timeoutMs = Number(options.timeout);
      const running = runningEnvironment(projectDir);
      if (running === undefined) {
        context.stdout.write(`nothing is running for ${projectDir} (no .evented/runtime.json)\n`);
        return;
      }
      let { file } = running;
      if (!running.upAlive) {
        const ended = await cleanUpAfter(projectDir, file);
        context.stdout.write(
          `evented up (pid ${file.pid}) was no longer running; ${describeEnded(ended) || 'nothing of it was left running'}; removed its runtime.json\n`,
        );
        return;
      }
      // The up process stops everything it started, in reverse order, then exits. While it does, it may still
      // record what it was starting: keep the latest file.
      const up = upIdentity(file);
      signalRecorded(up, 'SIGTERM', false);
      const stopped = await waitUntil(() => {
        file = readRuntimeFile(projectDir) ?? file;
        return !isSameProcess(up);
      }, timeoutMs);
      if (!stopped) {
        signalRecorded(up, 'SIGKILL', false);
        await waitUntil(() => !isSameProcess(up), 5000);
      }
      const ended = await cleanUpAfter(projectDir, file);
      const name = file.name || projectDir;
      if (!stopped) {
        throw new CliError(
          `evented up (pid ${file.pid}) did not stop within ${timeoutMs} ms; ended it by force${ended.length > 0 ? `, and ${ended.join(', ')}` : ''}`,
          `see the logs under ${projectDir}/.evented/logs/`,
        );
      }
      context.stdout.write(`stopped ${name} (evented up, pid ${file.pid}); data under .evented/ is kept\n`);
      if (ended.length > 0) context.stdout.write(`${describeEnded(ended)}\n`);
    });
};
