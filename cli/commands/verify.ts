import type { Command } from 'commander';
import type { BusinessLogic } from '../../runtime/index.js';
import type { CommandLogRequest } from '../../runtime/protocol/gen/evented/evented.js';
import { timestampFromDate } from '../../runtime/protocol/timestamp.js';
import type { CliContext } from '../context.js';
import { UnavailableError } from '../../runtime/errors/index.js';
import { CliError, InterruptedError, ReportedError, UsageError } from '../errors.js';
import type { AdminConnection } from '../remote/admin-client.js';
import { projectDirOf, withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';
import type { VerifyReport } from '../verify/report.js';
import type { Targets } from '../verify/targets.js';
import { parseSince } from './tail.js';

/**
 * `evented verify`: before a new version of business logic goes live, which past decisions it would make
 * differently. Every command the decision log holds (evented.yaml `commandLog: true`), or a random sample, is
 * decided again — on exactly the events it was first decided on — by the business logic now running (or the
 * candidate --business-logic names), and its outcome compared with the stored one. Nothing is written: the
 * command handler is never called. Exit 1 when any decision differs.
 */

interface VerifyOptions extends RemoteOptions {
  domain?: string;
  since?: string;
  sample?: string;
  businessLogic?: string;
  json?: boolean;
}

const HELP = `
Each command goes to evented.BusinessLogic.Handle with the aggregate's events 0 to decidedOn - 1 (no snapshot),
as it was first decided; what comes back is compared with the log: accepted or refused, then the events (number,
types, payloads) or the refusal (status, message). The runtime must log decisions: commandLog: true in
evented.yaml. Exit status: 0 when every decision is the same, 1 when any differs.

Examples:
  evented verify
  evented verify --domain account --business-logic 127.0.0.1:2737
  evented verify --since 7d --sample 10000 --json
`;

const parseSample = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--sample ${text}: expected a number of commands, such as 1000`);
  return n;
};

/** What to read from the log: the commands of the domain verified, since --since; all of them or --sample N. */
interface Selection {
  filter: CommandLogRequest;
  sample: number | undefined;
  /** As given, to name it in messages. */
  since: string | undefined;
}

/** Checks the flags before anything is read: a mistake is a usage error, exit 2. */
const selectionOf = (options: VerifyOptions, targets: Targets): Selection => ({
  filter: {
    ...{ domain: targets.domain ?? '', root: undefined, after: 0, limit: 0, last: 0, withHistory: false },
    since: options.since === undefined ? undefined : timestampFromDate(parseSince(options.since)),
  },
  sample: parseSample(options.sample),
  since: options.since,
});

/** Says what matched nothing: an empty log (then how to fill it), or a filter that leaves nothing. */
const nothingToVerify = async (admin: AdminConnection, selection: Selection): Promise<CliError> => {
  const { filter } = selection;
  const filtered = filter.domain !== '' || filter.since !== undefined;
  const all = filtered
    ? (await admin.countCommands({ ...filter, domain: '', since: undefined })).commands
    : 0;
  if (all === 0) {
    return new CliError(
      'no recorded commands: set commandLog: true in evented.yaml and restart the runtime; it logs the commands it decides from then on',
    );
  }
  const which = [
    filter.domain && `of domain ${filter.domain}`,
    selection.since !== undefined && `since ${selection.since}`,
  ].filter(Boolean);
  return new CliError(`no recorded commands ${which.join(' ')}: the log holds ${all} others`);
};

const connectAll = async (targets: Targets): Promise<Map<string, BusinessLogic>> => {
  const { connectBusinessLogic } = await import('../../runtime/index.js');
  return new Map(
    [...targets.addresses].map(([domain, { address, tls }]) => [
      domain,
      connectBusinessLogic(domain, address, undefined, tls),
    ]),
  );
};

const verify = async (
  context: CliContext,
  admin: AdminConnection,
  targets: Targets,
  selection: Selection,
  options: { json?: boolean; projectDir: string },
): Promise<VerifyReport> => {
  const { filter, sample } = selection;
  const total = (await admin.countCommands(filter)).commands;
  if (total === 0) throw await nothingToVerify(admin, selection);
  const sampled = sample !== undefined && sample < total;

  const [
    { loadPayloadTypes },
    recorded,
    { verifyCommands },
    { verifyProgress },
    { ANY_DOMAIN, noTargetFor },
  ] = await Promise.all([
    import('../protos/payloads.js'),
    import('../verify/recorded.js'),
    import('../verify/run.js'),
    import('../verify/progress.js'),
    import('../verify/targets.js'),
  ]);
  const logic = await connectAll(targets);
  const progress = verifyProgress(context.stderr, sampled ? sample : total, !options.json);
  try {
    const verification = await verifyCommands({
      commands: sampled
        ? recorded.sampledCommands(admin, filter, total, sample, context.signal)
        : recorded.allCommands(admin, filter, context.signal),
      logicFor: (domain) => {
        const found = logic.get(domain) ?? logic.get(ANY_DOMAIN);
        if (!found) throw noTargetFor(domain, targets);
        return found;
      },
      types: loadPayloadTypes(options.projectDir),
      timeoutMs: targets.timeoutMs,
      onProgress: progress.update,
      signal: context.signal,
    });
    if (context.signal.aborted) throw new InterruptedError();
    progress.finish(verification.checked);
    return {
      ...verification,
      ...(sampled && { sampleOf: total }),
      businessLogic: Object.fromEntries([...logic].map(([domain, it]) => [domain, it.address])),
    };
  } catch (err) {
    progress.clear();
    throw unreachable(err);
  } finally {
    for (const it of logic.values()) it.close();
  }
};

/** Business logic that cannot be reached, as one line that says which and what to do. */
const unreachable = (err: unknown): unknown => {
  if (!(err instanceof UnavailableError)) return err;
  return new CliError(
    err.message.replace(/ is unavailable: .*$/s, ' is not reachable'),
    'start it, or pass --business-logic HOST:PORT of the business logic to verify',
    'UNAVAILABLE',
  );
};

export const registerVerify = (program: Command, context: CliContext): void => {
  withRemoteOptions(
    program
      .command('verify')
      .description('decide recorded commands again with the business logic now running; report what differs'),
  )
    .option('--domain <domain>', 'only commands of this domain')
    .option('--since <duration|time>', 'only commands decided since then: 30s, 10m, 2h, 1d, or an ISO time')
    .option('--sample <n>', 'n commands chosen at random among those that match, instead of all')
    .option(
      '--business-logic <host:port>',
      "decide with this business logic (a candidate version) instead of evented.yaml's domains.D.businessLogic",
    )
    .option('--json', 'one JSON document: the summary and every difference')
    .addHelpText('after', HELP)
    .action(async (options: VerifyOptions) => {
      const projectDir = projectDirOf(context, options);
      const { resolveTargets } = await import('../verify/targets.js');
      const targets = await resolveTargets(projectDir, options, context.env);
      const selection = selectionOf(options, targets);
      const report = await withAdmin(context, options, (admin) =>
        verify(context, admin, targets, selection, { json: options.json, projectDir }),
      );
      const { formatReport, reportJson } = await import('../verify/report.js');
      context.stdout.write(options.json ? `${reportJson(report)}\n` : formatReport(report));
      if (report.differ > 0) {
        throw new ReportedError(new CliError(`${report.differ} of ${report.checked} decisions differ`));
      }
    });
};
