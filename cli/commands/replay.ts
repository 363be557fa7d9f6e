import type { Command } from 'commander';
import type { ReplayProgress, ReplayRequest } from '../../runtime/protocol/gen/evented/evented.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';
import { formatDuration, progressReporter } from '../output/replay-progress.js';
import { parsePosition } from './positions.js';

/**
 * `evented replay --projector NAME` and `evented rebuild NAME`: the store's global log delivered again to a
 * projector (or, asked for by name with --saga, a saga), with progress; live delivery takes over when it is
 * done, without a gap or a duplicate. Events the projector was given before come with the metadata
 * `evented-replay: true`; the others come as live delivery sends them.
 */

interface ReplayOptions extends RemoteOptions {
  projector?: string;
  saga?: string;
  from?: string;
  domain?: string;
  dryRun?: boolean;
  json?: boolean;
}

interface RebuildOptions extends RemoteOptions {
  saga?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * A dry run's answer: what would be delivered, and how long that takes — at the rate this subscriber's last
 * replay ran at, when the runtime has measured one, or else at an assumed rate, said as such.
 */
const describeDryRun = (name: string, progress: ReplayProgress, rebuild: boolean): string => {
  const rate = `${count(Math.round(progress.eventsPerSecond))} events/s`;
  const time = progress.rateMeasured
    ? `about ${formatDuration(progress.etaMs)} at ${rate}, the rate of its last replay`
    : `about ${formatDuration(progress.etaMs)} if it takes ${rate}: an assumption, since no replay of it has been measured yet (its own speed decides; a replay shows it)`;
  return (
    `dry run: ${rebuild ? 'rebuild' : 'replay'} of ${name} would deliver ${count(progress.total)} events of ` +
    `${count(progress.aggregates)} aggregates after position ${progress.position}; ${time}\n`
  );
};

const runReplay = async (
  context: CliContext,
  options: RemoteOptions & { dryRun?: boolean; json?: boolean },
  request: ReplayRequest,
): Promise<void> => {
  const label = `${request.saga ? 'saga' : 'projector'} ${request.subscriber}`;
  const reporter = progressReporter(context.stderr as NodeJS.WriteStream);
  let last: ReplayProgress | undefined;
  await withAdmin(context, options, async (admin) => {
    try {
      for await (const progress of admin.replay(request, context.signal)) {
        last = progress;
        if (options.json) context.stdout.write(`${JSON.stringify(progress)}\n`);
        else if (!request.dryRun && !progress.done) reporter.update(progress);
      }
    } catch (err) {
      reporter.clear();
      throw err;
    }
  });
  if (options.json) return;
  if (!last) throw new CliError(`the runtime ended the replay of ${label} without a word`);
  if (request.dryRun) {
    context.stdout.write(describeDryRun(label, last, request.rebuild));
    return;
  }
  reporter.finish(last);
  if (!last.done) throw new CliError(`replay of ${label} stopped at position ${last.position}`);
  context.stdout.write(
    `${request.rebuild ? 'rebuilt' : 'replayed'} ${label}: ${count(last.events)} events up to position ${last.position}; live delivery goes on\n`,
  );
};

export const registerReplay = (program: Command, context: CliContext): void => {
  withRemoteOptions(
    program
      .command('replay')
      .description(
        "deliver the store's events again to a projector (or a saga), then hand over to live delivery",
      ),
  )
    .option('--projector <name>', 'the projector to replay into')
    .option(
      '--saga <name>',
      'a saga instead (only when you mean it: its commands are issued again, deduplicated)',
    )
    .option('--from <position>', 'start at this global position (default: 1, every event)')
    .option('--domain <domain>', 'only events of this domain')
    .option('--dry-run', 'say how many events and aggregates would be replayed, and about how long it takes')
    .option('--json', 'one JSON progress object per line')
    .addHelpText(
      'after',
      '\nEvents the projector was given before carry gRPC metadata `evented-replay: true` (hold back side effects);\nevents it never had come unmarked, as live delivery sends them.\n\nExamples:\n  evented replay --projector accounts\n  evented replay --projector accounts --from 120000 --domain account\n  evented replay --projector accounts --dry-run\n',
    )
    .action(async (options: ReplayOptions) => {
      if ((options.projector === undefined) === (options.saga === undefined)) {
        throw new UsageError('name what to replay: --projector NAME (or --saga NAME)');
      }
      const after = options.from === undefined ? 0 : Math.max(parsePosition('--from', options.from) - 1, 0);
      await runReplay(context, options, {
        subscriber: options.projector ?? options.saga!,
        saga: options.saga !== undefined,
        after,
        domain: options.domain ?? '',
        rebuild: false,
        dryRun: options.dryRun === true,
      });
    });

  withRemoteOptions(
    program
      .command('rebuild')
      .description("rebuild a projector's read model: reset it, then replay every event, then go live")
      .argument('<name>', 'the projector'),
  )
    .option('--saga', 'NAME is a saga (its output is deduplicated, so nothing it issued is applied twice)')
    .option('--dry-run', 'say how many events and aggregates would be replayed, and about how long it takes')
    .option('--json', 'one JSON progress object per line')
    .addHelpText(
      'after',
      '\nThe projector is asked to Reset first (without Reset, it must start over itself: what it was given before\ncomes again with `evented-replay: true`). When Reset fails, the rebuild stops and nothing is forgotten.\n\nExamples:\n  evented rebuild accounts\n  evented rebuild accounts --dry-run\n',
    )
    .action(async (name: string, options: RebuildOptions) => {
      await runReplay(context, options, {
        subscriber: name,
        saga: options.saga === true,
        after: 0,
        domain: '',
        rebuild: true,
        dryRun: options.dryRun === true,
      });
    });
};
