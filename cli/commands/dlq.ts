import type { Command } from 'commander';
import type { DeadLetterList, DeadLetterRequest } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import type { CliContext } from '../context.js';
import { CliError, ReportedError, UsageError } from '../errors.js';
import { formatLetter, formatLetterTable, formatOutcome } from '../output/dead-letters.js';
import { projectDirOf, withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';
import { describeEvent } from './tail.js';
import { deadLetterView, eventView, type DeadLetterView } from '../../runtime/protocol/json-views.js';

/**
 * `evented dlq list|show|retry|skip`: the dead letters a running runtime keeps in its store (events a projector
 * or saga kept failing on, and the later events of the same aggregate parked behind them), and what a person
 * decides about them. With --json, each prints one JSON document, and an error as a JSON error object.
 */

interface DlqOptions extends RemoteOptions {
  json?: boolean;
}

interface ListOptions extends DlqOptions {
  subscriber?: string;
  state: string;
}

interface RetryOptions extends DlqOptions {
  subscriber?: string;
  aggregate?: string;
}

const STATES = ['open', 'retried', 'skipped', 'all'];

export const parseLetterId = (text: string): number => {
  const id = Number(text.replace(/^#/, ''));
  if (!/^#?\d+$/.test(text) || !Number.isSafeInteger(id) || id < 1) {
    throw new UsageError(
      `${text}: expected a dead letter's id, a number such as 12`,
      '`evented dlq list` shows the ids',
    );
  }
  return id;
};

/** "account/3f2b…" (as `tail` and `dlq list` print it) or "account:3f2b…". */
export const parseAggregate = (text: string, flag = '--aggregate'): { domain: string; root: Uint8Array } => {
  const match = /^([^/:]+)[/:]([0-9a-fA-F-]{36})$/.exec(text);
  const root = match && uuidToBytes(match[2]!);
  if (!match || !root) {
    throw new UsageError(`${flag} ${text}: expected DOMAIN/UUID, such as account/3f2b5c1e-…`);
  }
  return { domain: match[1]!, root };
};

const printDecisions = (context: CliContext, options: DlqOptions, answer: DeadLetterList, what: string) => {
  const views = answer.letters.map(deadLetterView);
  const failed = views.filter((view) => view.state === 'open');
  if (options.json) context.stdout.write(`${JSON.stringify({ letters: views })}\n`);
  else context.stdout.write(views.length === 0 ? `no open dead letters to ${what}\n` : formatOutcome(views));
  if (failed.length === 0) return;
  const first = failed[0]!;
  const error = new CliError(
    `dead letter #${first.id} failed again: ${first.lastError}`,
    'it and the letters behind it stay open; fix the subscriber, then `evented dlq retry` again (or skip it)',
  );
  // With --json the document says it all; only the exit status is left to give.
  throw options.json ? new ReportedError(error) : error;
};

const HELP_LIST = `
A dead letter is an event a projector or saga kept failing on (delivery.maxAttempts), kept in the event store
with its reason; while an aggregate has an open letter, its later events wait behind it as letters too.

Examples:
  evented dlq list
  evented dlq list --subscriber accounts --state all
  evented dlq list --json | jq '.letters[].id'
`;

const HELP_RETRY = `
Retrying a letter delivers it again, then the letters waiting behind it, in sequence order, one call each; a
success marks a letter retried, a failure records the attempt and stops that aggregate there (exit 1). Only the
first open letter of an aggregate can be retried.

Examples:
  evented dlq retry 12
  evented dlq retry --subscriber accounts --aggregate account/3f2b5c1e-0000-4000-8000-000000000001
  evented dlq retry --subscriber accounts          (every open letter of the projector)
`;

const HELP_SKIP = `
Skipping records the decision (who and when) and never delivers the letter; then the letters that waited behind
it are retried in order, unless an earlier letter of their aggregate is still open.

Examples:
  evented dlq skip 12
  evented dlq skip 12 13 --json
`;

export const registerDlq = (program: Command, context: CliContext): void => {
  const dlq = program
    .command('dlq')
    .description('dead letters: events a projector or saga kept failing on, and what waits behind them');
  const remote = (command: Command): Command =>
    withRemoteOptions(command).option('--json', 'print one JSON document (an error as a JSON error object)');

  remote(dlq.command('list').description('list dead letters (open ones unless --state says otherwise)'))
    .option(
      '--subscriber <name>',
      'only this projector or saga (projector:NAME or saga:NAME when both exist)',
    )
    .option('--state <state>', `${STATES.join(', ')}`, 'open')
    .addHelpText('after', HELP_LIST)
    .action(async (options: ListOptions) => {
      if (!STATES.includes(options.state)) {
        throw new UsageError(`--state ${options.state}: expected one of ${STATES.join(', ')}`);
      }
      const query = {
        subscriber: options.subscriber ?? '',
        state: options.state === 'all' ? '' : options.state,
      };
      const { letters } = await withAdmin(context, options, (admin) => admin.listDeadLetters(query));
      const views: DeadLetterView[] = letters.map(deadLetterView);
      if (options.json) context.stdout.write(`${JSON.stringify({ letters: views })}\n`);
      else if (views.length === 0) {
        const state = options.state === 'all' ? '' : `${options.state} `;
        const of = options.subscriber ? ` of ${options.subscriber}` : '';
        context.stdout.write(`no ${state}dead letters${of}\n`);
      } else context.stdout.write(`${formatLetterTable(views)}\n`);
    });

  remote(
    dlq
      .command('show')
      .description('one dead letter in full, with its event as stored (payload as JSON)')
      .argument('<id>', "the letter's id"),
  )
    .addHelpText('after', '\nExamples:\n  evented dlq show 12\n  evented dlq show 12 --json\n')
    .action(async (idText: string, options: DlqOptions) => {
      const id = parseLetterId(idText);
      const detail = await withAdmin(context, options, (admin) => admin.getDeadLetter(id));
      const { loadPayloadTypes } = await import('../protos/payloads.js');
      const types = loadPayloadTypes(projectDirOf(context, options));
      const view = deadLetterView(detail.letter!);
      const event = detail.event && eventView(detail.event, types);
      if (options.json) context.stdout.write(`${JSON.stringify({ ...view, event })}\n`);
      else context.stdout.write(formatLetter(view, event && describeEvent(event)));
    });

  remote(
    dlq
      .command('retry')
      .description('deliver dead letters again, in order: a letter and those behind it, or a subscriber’s')
      .argument('[ids...]', 'letters to retry (each the first open letter of its aggregate)'),
  )
    .option('--subscriber <name>', 'every open letter of this projector or saga')
    .option('--aggregate <domain/uuid>', "with --subscriber: only this aggregate's letters")
    .addHelpText('after', HELP_RETRY)
    .action(async (idTexts: string[], options: RetryOptions) => {
      const ids = idTexts.map(parseLetterId);
      if (ids.length > 0 === (options.subscriber !== undefined)) {
        throw new UsageError('say what to retry: letter ids, or --subscriber NAME (and --aggregate)');
      }
      if (options.aggregate !== undefined && options.subscriber === undefined) {
        throw new UsageError('--aggregate names the letters of one subscriber: add --subscriber NAME');
      }
      const request: DeadLetterRequest = {
        ids,
        subscriber: options.subscriber ?? '',
        aggregate: options.aggregate === undefined ? undefined : toCover(parseAggregate(options.aggregate)),
      };
      const answer = await withAdmin(context, options, (admin) =>
        admin.retryDeadLetters(request, context.signal),
      );
      printDecisions(context, options, answer, 'retry');
    });

  remote(
    dlq
      .command('skip')
      .description('give up on dead letters (recorded), then release what waited behind them')
      .argument('<ids...>', 'letters to skip'),
  )
    .addHelpText('after', HELP_SKIP)
    .action(async (idTexts: string[], options: DlqOptions) => {
      const request: DeadLetterRequest = {
        ids: idTexts.map(parseLetterId),
        subscriber: '',
        aggregate: undefined,
      };
      const answer = await withAdmin(context, options, (admin) =>
        admin.skipDeadLetters(request, context.signal),
      );
      printDecisions(context, options, answer, 'skip');
    });
};

const toCover = ({ domain, root }: { domain: string; root: Uint8Array }) => ({
  domain,
  root: { value: root },
});
